/**
 * The reader's mask of a reference case, as 0/1 masks per CT slice: from a DICOM-SEG (frames
 * placed by ReferencedSOPInstanceUID, else by position) or from mask.nii/mask.nii.gz on the CT grid.
 */
import { readFile } from 'node:fs/promises';
import { readNiftiVolume } from '../dicom/nifti.ts';
import { CtMuscleError } from '../errors.ts';
import { readSegMask, type SegFrame, type SegReadout } from '../report/index.ts';
import type { CaseCt } from './case-ct.ts';
import { requireSameGrid } from './grid.ts';
import { binaryMask } from './slice-choice.ts';

export interface CaseMask {
  /** Mask pixels per CT slice (volume order). */
  pixelCounts: number[];
  maskAt(k: number): Uint8Array;
  /** SEG only: its SOP Instance UID. */
  sopInstanceUid?: string;
}

/** Slice index of a SEG frame: by the referenced CT instance, else by position. */
function frameSlice(frame: SegFrame, ct: CaseCt, caseId: string): number {
  if (frame.referencedSopInstanceUid) {
    const k = ct.ordered.findIndex((h) => h.sopInstanceUid === frame.referencedSopInstanceUid);
    if (k < 0) {
      throw new CtMuscleError('E_REFERENCE_SEG_SERIES', `${caseId}: SEG frame ${frame.frameNumber} was drawn on instance ${frame.referencedSopInstanceUid}, which is not in the case's CT series ${ct.seriesInstanceUid}.`);
    }
    return k;
  }
  const p = frame.imagePositionPatient;
  if (!p) throw new CtMuscleError('E_REFERENCE_INVALID', `${caseId}: SEG frame ${frame.frameNumber} names neither its source instance nor its position.`);
  const tolerance = Math.max(0.1, 0.25 * (ct.geometry.sliceSpacingMm ?? 1));
  let best = -1;
  let bestDistance = Infinity;
  ct.positions.forEach((q, k) => {
    const d = Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  });
  if (bestDistance > tolerance) {
    throw new CtMuscleError('E_REFERENCE_SEG_SERIES', `${caseId}: SEG frame ${frame.frameNumber} lies at no slice of the case's CT (nearest ${bestDistance.toFixed(1)} mm away).`);
  }
  return best;
}

function checkSegAgainstCt(readout: SegReadout, ct: CaseCt, caseId: string): void {
  if (readout.frameOfReferenceUid && ct.frameOfReferenceUid && readout.frameOfReferenceUid !== ct.frameOfReferenceUid) {
    throw new CtMuscleError('E_REFERENCE_SEG_SERIES', `${caseId}: the SEG's frame of reference ${readout.frameOfReferenceUid} is not the CT's ${ct.frameOfReferenceUid}.`);
  }
  if (readout.rows !== ct.geometry.rows || readout.columns !== ct.geometry.columns) {
    throw new CtMuscleError('E_REFERENCE_GRID_MISMATCH', `${caseId}: the SEG is ${readout.rows}×${readout.columns} pixels, the CT ${ct.geometry.rows}×${ct.geometry.columns}.`);
  }
}

/** `segmentNumber` undefined: every segment (the union); else that segment only. */
export async function readCaseSeg(path: string): Promise<SegReadout> {
  try {
    return await readSegMask(new Uint8Array(await readFile(path)));
  } catch (error) {
    if (error instanceof CtMuscleError) throw error;
    throw new CtMuscleError('E_IO', `Cannot read ${path}: ${(error as Error).message}`);
  }
}

export function segCaseMask(readout: SegReadout, ct: CaseCt, caseId: string, segmentNumber: number | undefined): CaseMask {
  if (ct.source.kind !== 'dicom') throw new CtMuscleError('E_REFERENCE_INVALID', `${caseId}: a DICOM-SEG needs the DICOM CT it was drawn on, not ct.nii.`);
  checkSegAgainstCt(readout, ct, caseId);
  if (segmentNumber !== undefined && !readout.segments.some((s) => s.number === segmentNumber)) {
    throw new CtMuscleError('E_REFERENCE_INVALID', `${caseId}: case.json names segment ${segmentNumber}; the SEG has ${readout.segments.map((s) => s.number).join(', ') || 'none'}.`);
  }
  const pixels = ct.geometry.rows * ct.geometry.columns;
  const masks = new Map<number, Uint8Array>();
  for (const frame of readout.frames) {
    if (frame.pixelCount === 0 || (segmentNumber !== undefined && frame.segmentNumber !== segmentNumber)) continue;
    const k = frameSlice(frame, ct, caseId);
    const mask = masks.get(k) ?? new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) mask[i] |= frame.mask[i];
    masks.set(k, mask);
  }
  const pixelCounts = ct.positions.map((_, k) => masks.get(k)?.reduce((s, v) => s + v, 0) ?? 0);
  return { pixelCounts, maskAt: (k) => masks.get(k) ?? new Uint8Array(pixels), sopInstanceUid: readout.sopInstanceUid };
}

/** mask.nii on the CT grid: > 0 is muscle, or only `label` in a multi-label map. */
export async function niftiCaseMask(path: string, ct: CaseCt, caseId: string, label: number | undefined): Promise<CaseMask> {
  const labels = await readNiftiVolume(path);
  requireSameGrid(ct, { geometry: labels.geometry, positions: labels.slices.map((s) => s.imagePositionPatient) }, caseId);
  const pixels = labels.geometry.rows * labels.geometry.columns;
  const sliceLabels = (k: number) => labels.hu.subarray(k * pixels, (k + 1) * pixels);
  const pixelCounts = labels.slices.map((_, k) => binaryMask(sliceLabels(k), label).count);
  return { pixelCounts, maskAt: (k) => binaryMask(sliceLabels(k), label).mask };
}
