/**
 * The working stack: every slice on the patient-aligned grid, with the body mask (the largest
 * connected region denser than −500 HU, so the table, arms lying apart and air are left out) and
 * the body's left-right centre, the first guess at where the midline is.
 */
import type { CtVolume } from '../dicom/types.ts';
import { canonicalGrid, canonicalSlice, type CanonicalGrid } from './canonical.ts';
import { largestComponent } from '../image/morphology.ts';

export const BODY_HU = -500;

export interface WorkStack {
  grid: CanonicalGrid;
  width: number;
  height: number;
  depth: number;
  mm: number;
  /** HU on the working grid, slice-major, inferior → superior. */
  hu: Int16Array;
  /** 1 inside the body. */
  body: Uint8Array;
  /** Body centroid (working-grid column, row) per slice; NaN for a slice without a body. */
  centreX: Float64Array;
  centreY: Float64Array;
  zMm: Float64Array;
}

export function buildStack(volume: CtVolume): WorkStack {
  const grid = canonicalGrid(volume);
  const { width, height, mm } = grid;
  const depth = volume.slices.length;
  const plane = width * height;
  const hu = new Int16Array(plane * depth);
  const body = new Uint8Array(plane * depth);
  const centreX = new Float64Array(depth).fill(Number.NaN);
  const centreY = new Float64Array(depth).fill(Number.NaN);
  const dense = new Uint8Array(plane);
  for (let k = 0; k < depth; k++) {
    const slice = hu.subarray(k * plane, (k + 1) * plane);
    canonicalSlice(volume, grid, k, slice);
    for (let p = 0; p < plane; p++) dense[p] = slice[p] > BODY_HU ? 1 : 0;
    const mask = largestComponent(dense, height, width);
    body.set(mask, k * plane);
    let n = 0;
    let sx = 0;
    let sy = 0;
    for (let p = 0; p < plane; p++) {
      if (!mask[p]) continue;
      const x = p % width;
      n++;
      sx += x;
      sy += (p - x) / width;
    }
    // A few square centimetres is a strap or a cable, not a trunk.
    if (n * mm * mm > 2000) {
      centreX[k] = sx / n;
      centreY[k] = sy / n;
    }
  }
  return { grid, width, height, depth, mm, hu, body, centreX, centreY, zMm: Float64Array.from(volume.slices, (s) => s.zMm) };
}
