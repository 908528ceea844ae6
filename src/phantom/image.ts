/**
 * From tissue labels to a CT slice: mean HU per tissue, plus noise with the fine-grained,
 * spatially correlated texture of filtered back-projection, plus the scanner's limits (clip to
 * −1024…3071 HU; optional padding outside the reconstruction circle). Also the muscle truth.
 */
import { canonicalIndex, type SliceLayout } from './geometry.ts';
import { fillNormalFast, hashInts } from './random.ts';
import { TRUNK_MUSCLE_LUT } from './tissues.ts';

export const MIN_HU = -1024;
export const MAX_HU = 3071;

/** A [1 2 1]/4 blur in each direction multiplies white-noise SD by 0.375: scale up to keep noiseSd. */
const BLUR_SD_FACTOR = 0.375;

/**
 * Correlated Gaussian noise (SD `sd`) in the head-first-supine layout, seeded by the phantom seed
 * and the slice height, so a slice's noise depends on nothing else (not order, not layout).
 */
export function sliceNoise(seed: number, zMm: number, nx: number, ny: number, sd: number): Float32Array | null {
  if (sd <= 0) return null;
  const white = new Float32Array(nx * ny);
  fillNormalFast(hashInts(seed, Math.round(zMm * 1000), 0x0e15e), white);
  const tmp = new Float32Array(nx * ny);
  const scale = sd / BLUR_SD_FACTOR;
  for (let r = 0; r < ny; r++) {
    const base = r * nx;
    for (let c = 0; c < nx; c++) {
      const left = white[base + (c > 0 ? c - 1 : c)];
      const right = white[base + (c < nx - 1 ? c + 1 : c)];
      tmp[base + c] = 0.25 * left + 0.5 * white[base + c] + 0.25 * right;
    }
  }
  for (let r = 0; r < ny; r++) {
    const up = (r > 0 ? r - 1 : r) * nx;
    const down = (r < ny - 1 ? r + 1 : r) * nx;
    const base = r * nx;
    for (let c = 0; c < nx; c++) {
      white[base + c] = scale * (0.25 * tmp[up + c] + 0.5 * tmp[base + c] + 0.25 * tmp[down + c]);
    }
  }
  return white;
}

export interface ComposeOptions {
  huTable: Float32Array;
  noise: Float32Array | null;
  /** HU written outside the reconstruction circle, or null for none. */
  paddingHu: number | null;
  /** Radius of the reconstruction circle (mm) about the isocentre. */
  circleRadiusMm: number;
}

/** HU image and trunk-muscle mask in the layout's own pixel order. */
export function composeSlice(labels: Uint8Array, layout: SliceLayout, options: ComposeOptions): { hu: Int16Array; mask: Uint8Array; maskCount: number } {
  const { grid } = layout;
  const { huTable, noise, paddingHu } = options;
  const n = grid.nx * grid.ny;
  const hu = new Int16Array(n);
  const mask = new Uint8Array(n);
  const r2 = options.circleRadiusMm * options.circleRadiusMm;
  let maskCount = 0;
  for (let r = 0; r < grid.ny; r++) {
    const y = grid.y0 + r * grid.dy;
    const base = r * grid.nx;
    const canonicalRow = canonicalIndex(layout, r, 0);
    const step = grid.dx > 0 ? 1 : -1;
    for (let c = 0; c < grid.nx; c++) {
      const i = base + c;
      if (paddingHu !== null) {
        const x = grid.x0 + c * grid.dx;
        if (x * x + y * y > r2) {
          hu[i] = paddingHu;
          continue;
        }
      }
      const label = labels[i];
      let value = huTable[label];
      if (noise) value += noise[canonicalRow + step * c];
      value = Math.round(value);
      hu[i] = value < MIN_HU ? MIN_HU : value > MAX_HU ? MAX_HU : value;
      if (TRUNK_MUSCLE_LUT[label]) {
        mask[i] = 1;
        maskCount++;
      }
    }
  }
  return { hu, mask, maskCount };
}
