/** Is a mask volume on the CT's grid? Same size, spacing and slice positions (within a tolerance). */
import type { Vec3 } from '../dicom/geometry.ts';
import type { VolumeGeometry } from '../dicom/types.ts';
import { CtMuscleError } from '../errors.ts';

export interface GridDescription {
  geometry: VolumeGeometry;
  /** Position of each slice's first pixel (LPS mm), in volume order. */
  positions: Vec3[];
}

/** Converters write positions in float32: a tenth of a pixel is the most two copies of one grid differ. */
function toleranceMm(geometry: VolumeGeometry): number {
  return 0.1 * Math.min(...geometry.pixelSpacingMm);
}

/** The first way `mask` differs from `ct`, or null when they share the grid. */
export function gridDifference(ct: GridDescription, mask: GridDescription): string | null {
  const a = ct.geometry;
  const b = mask.geometry;
  if (a.rows !== b.rows || a.columns !== b.columns) return `the mask is ${b.rows}×${b.columns} pixels, the CT ${a.rows}×${a.columns}`;
  if (ct.positions.length !== mask.positions.length) return `the mask has ${mask.positions.length} slices, the CT ${ct.positions.length}`;
  const spacingOff = a.pixelSpacingMm.some((s, i) => Math.abs(s - b.pixelSpacingMm[i]) > 1e-3 * s + 1e-4);
  if (spacingOff) return `the mask's pixel spacing ${b.pixelSpacingMm.join('×')} mm differs from the CT's ${a.pixelSpacingMm.join('×')} mm`;
  const tolerance = toleranceMm(a);
  for (let k = 0; k < ct.positions.length; k++) {
    const p = ct.positions[k];
    const q = mask.positions[k];
    const distance = Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
    if (distance > tolerance) return `slice ${k} of the mask lies ${distance.toFixed(2)} mm from the CT's (orientation or origin differ)`;
  }
  return null;
}

export function requireSameGrid(ct: GridDescription, mask: GridDescription, caseId: string): void {
  const difference = gridDifference(ct, mask);
  if (difference) throw new CtMuscleError('E_REFERENCE_GRID_MISMATCH', `${caseId}: ${difference}.`);
}
