/** Stored values → Hounsfield units, one slice at a time, into an Int16 volume. */

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
 */
export function storedToHounsfield(stored: ArrayLike<number>, params: RescaleParameters, out: Int16Array, offset: number): void {
  const { slope, intercept, padding } = params;
  const low = padding ? Math.min(padding.value, padding.rangeLimit ?? padding.value) : 0;
  const high = padding ? Math.max(padding.value, padding.rangeLimit ?? padding.value) : -1;
  const hasPadding = padding !== undefined;
  for (let i = 0; i < stored.length; i++) {
    const value = stored[i];
    if (hasPadding && value >= low && value <= high) {
      out[offset + i] = PADDING_HU;
      continue;
    }
    const hu = Math.round(value * slope + intercept);
    out[offset + i] = hu > 32767 ? 32767 : hu < -32768 ? -32768 : hu;
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
