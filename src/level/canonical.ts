/**
 * Slices re-sampled onto one patient-aligned working grid: columns run toward the patient's Left,
 * rows toward Posterior, at about 1.5 mm. Every later step can then say "posterior" or "lateral"
 * without caring whether the patient lay prone, entered feet first or the image was stored
 * flipped, and thin 512² images cost no more than 256² ones.
 */
import { CtMuscleError } from '../errors.ts';
import type { VolumeGeometry } from '../dicom/types.ts';
import { averageOntoBlockGrid, type BlockGrid } from '../image/blocks.ts';

/** Coarser than this is kept as is; finer is box-averaged down to about this. */
const TARGET_GRID_MM = 1.5;

export interface CanonicalGrid extends BlockGrid {
  /** mm per working pixel, the same along both axes. */
  mm: number;
}

export function canonicalGrid(geometry: VolumeGeometry): CanonicalGrid {
  const { rows, columns, rowCosine, columnCosine, pixelSpacingMm, normal } = geometry;
  if (Math.abs(normal[2]) < 0.9) {
    throw new CtMuscleError('E_INSUFFICIENT_COVERAGE', 'The series is not an axial stack; the level finder needs axial slices along the spine.', {
      normal,
    });
  }
  const [rowSpacing, columnSpacing] = pixelSpacingMm;
  const finest = Math.min(rowSpacing, columnSpacing);
  const factor = Math.max(1, Math.round(TARGET_GRID_MM / finest));
  const reducedRows = Math.floor(rows / factor);
  const reducedColumns = Math.floor(columns / factor);
  const mm = factor * Math.max(rowSpacing, columnSpacing);
  // In-plane vectors (patient x = Left, y = Posterior) of one reduced pixel step.
  const ax = rowCosine[0] * factor * columnSpacing;
  const ay = rowCosine[1] * factor * columnSpacing;
  const bx = columnCosine[0] * factor * rowSpacing;
  const by = columnCosine[1] * factor * rowSpacing;
  const det = ax * by - bx * ay;
  if (Math.abs(det) < 1e-9) throw new CtMuscleError('E_INSUFFICIENT_COVERAGE', 'The slice orientation is degenerate in the axial plane.');
  const corners = [
    [0, 0],
    [reducedColumns - 1, 0],
    [0, reducedRows - 1],
    [reducedColumns - 1, reducedRows - 1],
  ].map(([c, r]) => [c * ax + r * bx, c * ay + r * by]);
  const minX = Math.min(...corners.map((p) => p[0]));
  const maxX = Math.max(...corners.map((p) => p[0]));
  const minY = Math.min(...corners.map((p) => p[1]));
  const maxY = Math.max(...corners.map((p) => p[1]));
  const width = Math.floor((maxX - minX) / mm) + 1;
  const height = Math.floor((maxY - minY) / mm) + 1;
  const sourceIndex = new Int32Array(width * height).fill(-1);
  const halvedIndex = factor === 2 ? new Int32Array(width * height).fill(-1) : null;
  let lastRow = -1;
  for (let j = 0; j < height; j++) {
    const y = minY + j * mm;
    for (let i = 0; i < width; i++) {
      const x = minX + i * mm;
      // Solve x = c·ax + r·bx, y = c·ay + r·by for the reduced (c, r).
      const c = Math.round((x * by - y * bx) / det);
      const r = Math.round((ax * y - ay * x) / det);
      if (c < 0 || r < 0 || c >= reducedColumns || r >= reducedRows) continue;
      sourceIndex[j * width + i] = r * factor * columns + c * factor;
      if (halvedIndex) halvedIndex[j * width + i] = r * (columns >> 1) + c;
      lastRow = Math.max(lastRow, r);
    }
  }
  const halved = halvedIndex ? { index: halvedIndex, rows: 2 * (lastRow + 1) } : undefined;
  return { width, height, mm, sourceIndex, factor, sourceColumns: columns, ...(halved && { halved }) };
}

/**
 * One slice on the working grid (HU; outside the image reads as air). `hu` holds the slice's
 * full-resolution HU from offset `base` (a whole volume, or one slice as it is decoded). The block
 * averaging itself lives in src/image/blocks.ts, where a decoding worker thread can reach it.
 */
export function canonicalSlice(hu: Int16Array, base: number, paddingHu: number, grid: CanonicalGrid, out?: Int16Array): Int16Array {
  return averageOntoBlockGrid(hu, base, paddingHu, grid, out ?? new Int16Array(grid.width * grid.height));
}
