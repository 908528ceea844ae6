/**
 * The body-bone profile along z: mean HU in a core box inside the vertebral body, just in front of
 * the canal. Cancellous bone reads 150–300 HU, a disc 70–110 HU, so disc spaces are dips. The box
 * stays off the cortex and the posterior elements, which are dense at every level and would hide
 * the dips.
 */
import type { ColumnTrack } from './column.ts';
import type { WorkStack } from './stack.ts';

/**
 * Core box: 13–30 mm in front of the canal centre, 4–13 mm either side of the midline. The
 * midline strip just in front of the canal is left out: the basivertebral veins enter the body
 * there and make a low-density notch at mid-height that would pass for a disc.
 */
const CORE_FRONT_MM = 13;
const CORE_BACK_MM = 30;
const CORE_HALF_WIDTH_MM = 13;
const CORE_MIDLINE_GAP_MM = 4;

export interface BoxMm {
  frontMm: number;
  backMm: number;
  halfWidthMm: number;
  midlineGapMm: number;
}

/** Posterior core (the main profile): next to the canal, where disc dips are sharpest. */
export const POSTERIOR_CORE: BoxMm = { frontMm: CORE_FRONT_MM, backMm: CORE_BACK_MM, halfWidthMm: CORE_HALF_WIDTH_MM, midlineGapMm: CORE_MIDLINE_GAP_MM };
/**
 * Anterior core: the front half of the body. Lordosis and kyphosis tilt the discs against the
 * axial plane, so a disc is higher in front than behind (or lower); averaging both places the
 * disc, and so the mid-body plane, where the whole body's middle is.
 */
export const ANTERIOR_CORE: BoxMm = { frontMm: 24, backMm: 36, halfWidthMm: 12, midlineGapMm: 0 };

export function bodyCoreProfile(stack: WorkStack, track: ColumnTrack, box: BoxMm = POSTERIOR_CORE): Float64Array {
  const { width, height, depth, mm } = stack;
  const plane = width * height;
  const out = new Float64Array(depth).fill(Number.NaN);
  const values = new Float64Array(Math.ceil((2 * box.halfWidthMm) / mm + 3) * Math.ceil((box.backMm - box.frontMm) / mm + 3));
  for (let k = 0; k < depth; k++) {
    const cx = track.canalX[k];
    const cy = track.canalY[k];
    if (Number.isNaN(cx)) continue;
    const x0 = Math.max(0, Math.round(cx - box.halfWidthMm / mm));
    const x1 = Math.min(width - 1, Math.round(cx + box.halfWidthMm / mm));
    const y0 = Math.max(0, Math.round(cy - box.backMm / mm));
    const y1 = Math.min(height - 1, Math.round(cy - box.frontMm / mm));
    let n = 0;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) if (Math.abs(x - cx) * mm >= box.midlineGapMm) values[n++] = stack.hu[k * plane + y * width + x];
    }
    // The median, so a dense endplate line crossing the box (discs are tilted in the lordotic
    // lumbar spine) cannot fill in a disc's dip.
    if (n > 0) out[k] = medianInPlace(values.subarray(0, n));
  }
  return out;
}

/**
 * The median of `values` (HU: no NaN, no −0), which it reorders (the caller's scratch): the middle one (or two) found
 * by selection (Wirth's), not by sorting, since only they are needed; the same value as sorting gives.
 */
export function medianInPlace(values: Float64Array): number {
  const n = values.length;
  const m = n >> 1;
  const upper = selectInPlace(values, m);
  if (n % 2) return upper;
  // After selection everything before index m is ≤ the m-th smallest: the largest of them is the (m−1)-th.
  let lower = values[0];
  for (let i = 1; i < m; i++) if (values[i] > lower) lower = values[i];
  return (lower + upper) / 2;
}

/** The k-th smallest of `values` (0-based), left at index k with nothing larger before it and nothing smaller after. */
function selectInPlace(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[k];
    let i = lo;
    let j = hi;
    do {
      while (values[i] < pivot) i++;
      while (pivot < values[j]) j--;
      if (i <= j) {
        const t = values[i];
        values[i] = values[j];
        values[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) lo = i;
    if (k < i) hi = j;
  }
  return values[k];
}
