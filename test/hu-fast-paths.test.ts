/**
 * The fast stored-value and HU loops (src/dicom/pixels.ts, hu.ts) give exactly what the former
 * per-voxel code gave, on random samples over every branch they split into: bytes per sample,
 * BitsStored/HighBit, signedness, unaligned bytes, slope/intercept (whole and fractional),
 * padding value and range, clamping. The former code is kept here as the reference. Whole
 * volumes in every transfer syntax are compared with the generator's HU in
 * phantom-roundtrip.test.ts.
 */
import assert from 'node:assert/strict';
import { PADDING_HU, storedToHounsfield, type RescaleParameters } from '../src/dicom/hu.ts';
import { storedValuesFromBytes } from '../src/dicom/pixels.ts';
import type { PixelFormat } from '../src/dicom/types.ts';

/** The per-voxel conversion as it was before the fast loops (reference). */
function referenceStoredValues(bytes: Uint8Array, bytesPerSample: 1 | 2 | 4, format: PixelFormat): Int32Array | Uint32Array {
  const count = Math.floor(bytes.length / bytesPerSample);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shift = format.highBit + 1 - format.bitsStored;
  const signed = format.pixelRepresentation === 1;
  if (format.bitsStored === 32) {
    const out = signed ? new Int32Array(count) : new Uint32Array(count);
    for (let i = 0; i < count; i++) out[i] = signed ? view.getInt32(i * 4, true) : view.getUint32(i * 4, true);
    return out;
  }
  const mask = (1 << format.bitsStored) - 1;
  const signBit = 1 << (format.bitsStored - 1);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const raw = bytesPerSample === 1 ? bytes[i] : bytesPerSample === 2 ? view.getUint16(i * 2, true) : view.getUint32(i * 4, true);
    const value = (raw >>> shift) & mask;
    out[i] = signed && value & signBit ? value - 2 * signBit : value;
  }
  return out;
}

function referenceHounsfield(stored: ArrayLike<number>, params: RescaleParameters, out: Int16Array, offset: number): void {
  const { slope, intercept, padding } = params;
  const low = padding ? Math.min(padding.value, padding.rangeLimit ?? padding.value) : 0;
  const high = padding ? Math.max(padding.value, padding.rangeLimit ?? padding.value) : -1;
  for (let i = 0; i < stored.length; i++) {
    const value = stored[i];
    if (padding && value >= low && value <= high) {
      out[offset + i] = PADDING_HU;
      continue;
    }
    const hu = Math.round(value * slope + intercept);
    out[offset + i] = hu > 32767 ? 32767 : hu < -32768 ? -32768 : hu;
  }
}

/** Deterministic pseudo-random bytes (mulberry32), so a failure is reproducible. */
function randomBytes(length: number, seed: number): Uint8Array {
  let a = seed >>> 0;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

function format(bitsAllocated: number, bitsStored: number, highBit: number, pixelRepresentation: 0 | 1): PixelFormat {
  return { rows: 1, columns: 64, bitsAllocated, bitsStored, highBit, pixelRepresentation, samplesPerPixel: 1, photometricInterpretation: 'MONOCHROME2', planarConfiguration: 0, numberOfFrames: 1 };
}

describe('fast stored-value and HU loops = the former per-voxel code', () => {
  const layouts: Array<[1 | 2 | 4, number, number]> = [
    [1, 8, 7], [1, 6, 6],
    [2, 16, 15], [2, 12, 11], [2, 12, 15], [2, 10, 13],
    [4, 32, 31], [4, 24, 23], [4, 20, 27],
  ];
  for (const [bytesPerSample, bitsStored, highBit] of layouts) {
    for (const pixelRepresentation of [0, 1] as const) {
      for (const byteOffset of [0, 1]) {
        it(`${bytesPerSample * 8}-bit allocated, ${bitsStored} stored, high bit ${highBit}, ${pixelRepresentation ? 'signed' : 'unsigned'}, byte offset ${byteOffset}`, () => {
          const f = format(bytesPerSample * 8, bitsStored, highBit, pixelRepresentation);
          const bytes = randomBytes(4096 + byteOffset, bitsStored * 31 + highBit).subarray(byteOffset);
          const expected = referenceStoredValues(bytes, bytesPerSample, f);
          assert.deepEqual(storedValuesFromBytes(bytes, bytesPerSample, f), expected);
          // Into a reused buffer holding stale values: every value is overwritten.
          const reuse = new Int32Array(expected.length).fill(12345);
          const again = storedValuesFromBytes(bytes, bytesPerSample, f, reuse);
          assert.deepEqual(Array.from(again), Array.from(expected));
          if (bitsStored < 32) assert.equal(again, reuse, 'the given buffer is the one filled');
        });
      }
    }
  }

  const rescales: RescaleParameters[] = [
    { slope: 1, intercept: 0 },
    { slope: 1, intercept: -1024 },
    { slope: 1, intercept: -1024.5 },
    { slope: 0.5, intercept: -3 },
    { slope: 2.5, intercept: -1000.25 },
    { slope: 1, intercept: 40000 },
    { slope: 1, intercept: 0, padding: { value: -2000 } },
    { slope: 1, intercept: -1024, padding: { value: 0, rangeLimit: 10 } },
    { slope: 0.75, intercept: 7, padding: { value: 300, rangeLimit: -300 } },
  ];
  for (const params of rescales) {
    it(`HU with slope ${params.slope}, intercept ${params.intercept}${params.padding ? `, padding ${JSON.stringify(params.padding)}` : ''}`, () => {
      const stored = storedValuesFromBytes(randomBytes(8192, 7), 2, format(16, 16, 15, 1));
      // Around the padding values too, and the extremes that clamp.
      stored.set([-2000, -1999, 0, 5, 10, 11, 300, -300, 32767, -32768], 0);
      const expected = new Int16Array(stored.length + 5).fill(99);
      const actual = new Int16Array(stored.length + 5).fill(99);
      referenceHounsfield(stored, params, expected, 3);
      storedToHounsfield(stored, params, actual, 3);
      assert.deepEqual(actual, expected);
    });
  }
});
