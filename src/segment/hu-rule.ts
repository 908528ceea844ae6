/**
 * The method's HU rule after any segmenter: −29..150 HU kept as skeletal muscle, then specks
 * removed. The HU ranges themselves are defined once, in src/model/hu.ts.
 */
import { removeSmallComponents } from '../image/morphology.ts';
import { MUSCLE_HU } from '../model/index.ts';
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
