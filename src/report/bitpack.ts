/**
 * 1-bit pixel packing for BINARY SEG (PS3.5 §8.1.1, PS3.3 C.8.20.2): pixels are packed
 * little-endian within each byte (first pixel in bit 0), frame after frame with NO padding at
 * frame boundaries — frame k starts at bit k × rows × columns, which is mid-byte when rows ×
 * columns is not a multiple of 8. Only the whole value is padded to an even length.
 */

/** Pack concatenated 0/1 frames into one PixelData value (even length). */
export function packBits(frames: Uint8Array[], pixelsPerFrame: number): Uint8Array {
  const totalBits = frames.length * pixelsPerFrame;
  const byteLength = Math.ceil(totalBits / 8);
  const out = new Uint8Array(byteLength + (byteLength % 2));
  let bit = 0;
  for (const frame of frames) {
    if (frame.length !== pixelsPerFrame) throw new RangeError(`frame has ${frame.length} pixels; expected ${pixelsPerFrame}`);
    for (let i = 0; i < pixelsPerFrame; i++, bit++) {
      if (frame[i] !== 0) out[bit >> 3] |= 1 << (bit & 7);
    }
  }
  return out;
}

/** Unpack frame `frameIndex` (0-based) from 1-bit PixelData; the inverse of packBits. */
export function unpackBitsFrame(packed: Uint8Array, pixelsPerFrame: number, frameIndex: number): Uint8Array {
  const first = frameIndex * pixelsPerFrame;
  if (Math.ceil((first + pixelsPerFrame) / 8) > packed.length) throw new RangeError(`PixelData too short for frame ${frameIndex + 1}`);
  const out = new Uint8Array(pixelsPerFrame);
  for (let i = 0; i < pixelsPerFrame; i++) {
    const bit = first + i;
    out[i] = (packed[bit >> 3] >> (bit & 7)) & 1;
  }
  return out;
}
