/**
 * Slices re-sampled onto one patient-aligned working grid: columns run toward the patient's Left,
 * rows toward Posterior, at about 1.5 mm. Every later step can then say "posterior" or "lateral"
 * without caring whether the patient lay prone, entered feet first or the image was stored
 * flipped, and thin 512² images cost no more than 256² ones.
 */
import { CtMuscleError } from '../errors.ts';
import type { VolumeGeometry } from '../dicom/types.ts';

/** Coarser than this is kept as is; finer is box-averaged down to about this. */
const TARGET_GRID_MM = 1.5;

export interface CanonicalGrid {
  width: number;
  height: number;
  /** mm per working pixel, the same along both axes. */
  mm: number;
  /** Source-pixel offset (within a slice) of the top-left pixel of each working pixel's block; −1 outside the image. */
  sourceIndex: Int32Array;
  /** Block size (source pixels per working pixel along each axis). */
  factor: number;
  sourceColumns: number;
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
  for (let j = 0; j < height; j++) {
    const y = minY + j * mm;
    for (let i = 0; i < width; i++) {
      const x = minX + i * mm;
      // Solve x = c·ax + r·bx, y = c·ay + r·by for the reduced (c, r).
      const c = Math.round((x * by - y * bx) / det);
      const r = Math.round((ax * y - ay * x) / det);
      if (c < 0 || r < 0 || c >= reducedColumns || r >= reducedRows) continue;
      sourceIndex[j * width + i] = r * factor * columns + c * factor;
    }
  }
  return { width, height, mm, sourceIndex, factor, sourceColumns: columns };
}

/**
 * One slice on the working grid (HU; outside the image reads as air). `hu` holds the slice's
 * full-resolution HU from offset `base` (a whole volume, or one slice as it is decoded).
 *
 * This runs for every slice of every series, so the usual block sizes (1: thick-pixel or 256²
 * images; 2: 512² at 0.6–0.9 mm) have loops of their own with the block unrolled; the general
 * loop gives the same values for them (the tests compare all three).
 */
export function canonicalSlice(hu: Int16Array, base: number, paddingHu: number, grid: CanonicalGrid, out?: Int16Array): Int16Array {
  const image = out ?? new Int16Array(grid.width * grid.height);
  if (grid.factor === 1) copySlice(hu, base, paddingHu, grid.sourceIndex, image);
  else if (grid.factor === 2) averageBlocksOfTwo(hu, base, paddingHu, grid, image);
  else averageBlocks(hu, base, paddingHu, grid, image);
  return image;
}

function copySlice(hu: Int16Array, base: number, padding: number, sourceIndex: Int32Array, image: Int16Array): void {
  for (let p = 0; p < image.length; p++) {
    const s = sourceIndex[p];
    if (s < 0) {
      image[p] = -1000;
      continue;
    }
    const v = hu[base + s];
    image[p] = v === padding ? -1000 : v;
  }
}

/** 2 × 2 blocks: Math.round(sum / 4) of an integer sum is floor((sum + 2) / 4), i.e. (sum + 2) >> 2. */
function averageBlocksOfTwo(hu: Int16Array, base: number, padding: number, grid: CanonicalGrid, image: Int16Array): void {
  const { sourceIndex, sourceColumns: columns } = grid;
  for (let p = 0; p < image.length; p++) {
    const s = sourceIndex[p];
    if (s < 0) {
      image[p] = -1000;
      continue;
    }
    const i = base + s;
    const a = hu[i];
    const b = hu[i + 1];
    const c = hu[i + columns];
    const d = hu[i + columns + 1];
    const sum = (a === padding ? -1000 : a) + (b === padding ? -1000 : b) + (c === padding ? -1000 : c) + (d === padding ? -1000 : d);
    image[p] = (sum + 2) >> 2;
  }
}

/** Any block size: the mean of factor² source pixels (padding as air), rounded half up. */
export function averageBlocks(hu: Int16Array, base: number, padding: number, grid: CanonicalGrid, image: Int16Array): void {
  const { factor, sourceIndex, sourceColumns: columns } = grid;
  const n = factor * factor;
  for (let p = 0; p < image.length; p++) {
    const s = sourceIndex[p];
    if (s < 0) {
      image[p] = -1000;
      continue;
    }
    let sum = 0;
    for (let dr = 0; dr < factor; dr++) {
      const row = base + s + dr * columns;
      for (let dc = 0; dc < factor; dc++) {
        const v = hu[row + dc];
        sum += v === padding ? -1000 : v;
      }
    }
    image[p] = Math.round(sum / n);
  }
}
