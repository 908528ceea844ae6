/** Stored values → Hounsfield units, one slice at a time, into an Int16 volume. */
import { huFromStoredSimd } from '../image/simd.ts';

/** Padding and out-of-reconstruction pixels become air: every stage treats them as outside the body. */
export const PADDING_HU = -1024;

export interface RescaleParameters {
  slope: number;
  intercept: number;
  /** PixelPaddingValue (and PixelPaddingRangeLimit) in stored-value units, when present. */
  padding?: { value: number; rangeLimit?: number };
}

/**
 * Write HU = stored × slope + intercept into `out` at `offset`, rounded and clamped to Int16.
 * Padding is matched on stored values (before rescale), as PS3.3 C.7.5.1.1.2 defines it.
 *
 * This runs once per voxel of every series (≈ 80 million for 300 slices), so it is split into
 * loops with no per-voxel branches on the parameters: the common CT case (slope 1, whole-number
 * intercept) needs no multiply and no rounding, and gives the same integers as the general one;
 * it runs on the SIMD kernel (padding included) where it can.
 */
export function storedToHounsfield(stored: ArrayLike<number>, params: RescaleParameters, out: Int16Array, offset: number): void {
  const { slope, intercept, padding } = params;
  const target = offset === 0 && out.length === stored.length ? out : out.subarray(offset, offset + stored.length);
  const low = padding ? Math.min(padding.value, padding.rangeLimit ?? padding.value) : 1;
  const high = padding ? Math.max(padding.value, padding.rangeLimit ?? padding.value) : 0;
  if (slope === 1 && Number.isInteger(intercept)) {
    if (stored instanceof Int32Array && huFromStoredSimd(stored, intercept, low, high, target)) return;
    shiftIntoInt16(stored, intercept, target);
  } else {
    rescaleIntoInt16(stored, slope, intercept, target);
  }
  if (padding) markPadding(stored, low, high, target);
}

function shiftIntoInt16(stored: ArrayLike<number>, intercept: number, out: Int16Array): void {
  for (let i = 0; i < out.length; i++) {
    const hu = stored[i] + intercept;
    out[i] = hu > 32767 ? 32767 : hu < -32768 ? -32768 : hu;
  }
}

function rescaleIntoInt16(stored: ArrayLike<number>, slope: number, intercept: number, out: Int16Array): void {
  for (let i = 0; i < out.length; i++) {
    const hu = Math.round(stored[i] * slope + intercept);
    out[i] = hu > 32767 ? 32767 : hu < -32768 ? -32768 : hu;
  }
}

/** A second pass over the slice: cheaper than a padding test inside the rescale loop, and most CT has none. */
function markPadding(stored: ArrayLike<number>, low: number, high: number, out: Int16Array): void {
  for (let i = 0; i < out.length; i++) {
    const value = stored[i];
    if (value >= low && value <= high) out[i] = PADDING_HU;
  }
}

/**
 * PixelPaddingValue has VR US or SS depending on PixelRepresentation; a reader that guessed US
 * for a signed image gives 63536 for −2000. Bring it into the stored-value range.
 */
export function paddingInStoredRange(value: number, pixelRepresentation: 0 | 1, bitsAllocated: number): number {
  if (pixelRepresentation === 1 && bitsAllocated === 16 && value > 32767) return value - 65536;
  return value;
}
