/**
 * The HU conventions of the method (one place): display window −200..200 HU for the models, and
 * −29..150 HU kept as skeletal muscle after any segmenter. Fat for IMAT is −190..−30 HU.
 */
import { removeSmallComponents } from '../image/morphology.ts';

export const MUSCLE_HU: readonly [number, number] = [-29, 150];
export const FAT_HU: readonly [number, number] = [-190, -30];
export const LOW_ATTENUATION_HU: readonly [number, number] = [-29, 29];
export const MODEL_WINDOW_HU: readonly [number, number] = [-200, 200];
/** Islands smaller than this are noise specks, not muscle (≈ a 4 mm disc). */
export const MIN_ISLAND_MM2 = 12;

/** mask ∩ (lo ≤ HU ≤ hi). */
export function keepHuRange(mask: Uint8Array, hu: Int16Array, range: readonly [number, number] = MUSCLE_HU): Uint8Array {
  const [lo, hi] = range;
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] && hu[i] >= lo && hu[i] <= hi ? 1 : 0;
  return out;
}

/** The paper's post-processing: HU rule, then islands below MIN_ISLAND_MM2 dropped. */
export function finishMuscleMask(candidate: Uint8Array, hu: Int16Array, rows: number, columns: number, spacing: [number, number]): Uint8Array {
  const kept = keepHuRange(candidate, hu, MUSCLE_HU);
  const minPixels = Math.max(1, Math.round(MIN_ISLAND_MM2 / (spacing[0] * spacing[1])));
  return removeSmallComponents(kept, rows, columns, minPixels);
}
