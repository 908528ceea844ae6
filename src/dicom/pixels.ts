/**
 * From an instance's PixelData to stored sample values: frame extraction, decoding of
 * encapsulated syntaxes, byte order, and masking to BitsStored with sign extension.
 */
import { CtMuscleError } from '../errors.ts';
import { decodeEncapsulatedFrame, decodeJpeg2000Halved } from './codecs.ts';
import { numberValue, stringValue } from './dataset-values.ts';
import type { ParsedDicom } from './read.ts';
import { NATIVE_SYNTAXES, TS } from './transfer-syntax.ts';
import type { NaturalDataset, PixelFormat } from './types.ts';

export type StoredSamples = Int32Array | Uint32Array;

export function pixelFormatOf(dataset: NaturalDataset): PixelFormat {
  const rows = numberValue(dataset, 'Rows');
  const columns = numberValue(dataset, 'Columns');
  const bitsAllocated = numberValue(dataset, 'BitsAllocated');
  if (!rows || !columns || !bitsAllocated) {
    throw new CtMuscleError('E_MISSING_ATTRIBUTE', 'Rows, Columns and BitsAllocated are required to read pixel data.');
  }
  if (![1, 8, 16, 32].includes(bitsAllocated)) {
    throw new CtMuscleError('E_UNSUPPORTED_PIXEL_FORMAT', `BitsAllocated ${bitsAllocated} is not supported (1, 8, 16 or 32).`);
  }
  const bitsStored = numberValue(dataset, 'BitsStored') ?? bitsAllocated;
  const highBit = numberValue(dataset, 'HighBit') ?? bitsStored - 1;
  if (bitsStored > bitsAllocated || bitsStored < 1 || highBit >= bitsAllocated || highBit < bitsStored - 1) {
    throw new CtMuscleError(
      'E_UNSUPPORTED_PIXEL_FORMAT',
      `Inconsistent BitsAllocated ${bitsAllocated}, BitsStored ${bitsStored}, HighBit ${highBit}.`,
    );
  }
  const samplesPerPixel = numberValue(dataset, 'SamplesPerPixel') ?? 1;
  return {
    rows,
    columns,
    bitsAllocated,
    bitsStored,
    highBit,
    pixelRepresentation: numberValue(dataset, 'PixelRepresentation') === 1 ? 1 : 0,
    samplesPerPixel,
    photometricInterpretation: stringValue(dataset, 'PhotometricInterpretation') ?? (samplesPerPixel === 1 ? 'MONOCHROME2' : 'RGB'),
    planarConfiguration: numberValue(dataset, 'PlanarConfiguration') === 1 ? 1 : 0,
    numberOfFrames: numberValue(dataset, 'NumberOfFrames') ?? 1,
  };
}

/**
 * The PixelData value(s) as bytes: ArrayBuffers as dcmjs gives them, or views into the instance's
 * bytes (`pixelsOfScanned`, which does not copy them).
 */
function pixelDataFragments(dataset: NaturalDataset): Uint8Array[] {
  const pixelData = dataset.PixelData ?? dataset.FloatPixelData ?? dataset.DoubleFloatPixelData;
  const values: unknown[] = Array.isArray(pixelData) ? pixelData : pixelData ? [pixelData] : [];
  const fragments = values
    .map((v) => (v instanceof ArrayBuffer ? new Uint8Array(v) : v instanceof Uint8Array ? v : null))
    .filter((v): v is Uint8Array => v !== null && v.byteLength > 0);
  if (fragments.length === 0) throw new CtMuscleError('E_NO_PIXEL_DATA', 'The instance has no pixel data.');
  return fragments;
}

function concat(buffers: Uint8Array[]): Uint8Array {
  const total = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    out.set(b, offset);
    offset += b.byteLength;
  }
  return out;
}

/** The compressed bytes of one frame: dcmjs splits frames by the offset table; a lone frame may span fragments. */
function encapsulatedFrame(fragments: Uint8Array[], format: PixelFormat, frameIndex: number): Uint8Array {
  if (format.numberOfFrames === 1) return fragments.length === 1 ? fragments[0] : concat(fragments);
  if (fragments.length !== format.numberOfFrames) {
    throw new CtMuscleError(
      'E_DECODE_FAILED',
      `${format.numberOfFrames} frames but ${fragments.length} fragments and no usable Basic Offset Table.`,
    );
  }
  return fragments[frameIndex];
}

function frameSampleCount(format: PixelFormat): number {
  return format.rows * format.columns * format.samplesPerPixel;
}

/** Native (uncompressed) frame bytes, little-endian, with 1-bit data unpacked to one byte per pixel. */
function nativeFrame(fragments: Uint8Array[], format: PixelFormat, frameIndex: number, bigEndian: boolean): { bytes: Uint8Array; bytesPerSample: 1 | 2 | 4 } {
  const all = fragments.length === 1 ? fragments[0] : concat(fragments);
  const samples = frameSampleCount(format);
  if (format.bitsAllocated === 1) {
    const firstBit = frameIndex * samples;
    if (Math.ceil((firstBit + samples) / 8) > all.length) throw truncated(frameIndex);
    const out = new Uint8Array(samples);
    for (let i = 0; i < samples; i++) {
      const bit = firstBit + i;
      out[i] = (all[bit >> 3] >> (bit & 7)) & 1;
    }
    return { bytes: out, bytesPerSample: 1 };
  }
  const bytesPerSample = (format.bitsAllocated / 8) as 1 | 2 | 4;
  const frameBytes = samples * bytesPerSample;
  const start = frameIndex * frameBytes;
  if (start + frameBytes > all.length) throw truncated(frameIndex);
  // A view, not a copy; only big-endian data is copied, because swapping changes it in place.
  const bytes = bigEndian && bytesPerSample !== 1 ? all.slice(start, start + frameBytes) : all.subarray(start, start + frameBytes);
  if (bigEndian && bytesPerSample !== 1) swapBytes(bytes, bytesPerSample);
  return { bytes, bytesPerSample };
}

function truncated(frameIndex: number): CtMuscleError {
  return new CtMuscleError('E_NO_PIXEL_DATA', `PixelData is shorter than frame ${frameIndex + 1} needs.`);
}

function swapBytes(bytes: Uint8Array, width: 2 | 4): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    if (width === 2) {
      const t = bytes[i];
      bytes[i] = bytes[i + 1];
      bytes[i + 1] = t;
    } else {
      let t = bytes[i];
      bytes[i] = bytes[i + 3];
      bytes[i + 3] = t;
      t = bytes[i + 1];
      bytes[i + 1] = bytes[i + 2];
      bytes[i + 2] = t;
    }
  }
}

/** Planar (RRR…GGG…BBB) to interleaved (RGBRGB…) so every frame comes out the same way. */
function interleave<T extends Int32Array | Uint32Array>(planar: T, samplesPerPixel: number): T {
  const pixels = planar.length / samplesPerPixel;
  const out = new (planar.constructor as new (n: number) => T)(planar.length);
  for (let s = 0; s < samplesPerPixel; s++) {
    for (let p = 0; p < pixels; p++) out[p * samplesPerPixel + s] = planar[s * pixels + p];
  }
  return out;
}

/**
 * Interpret little-endian sample bytes as DICOM stored values: keep BitsStored bits below
 * HighBit and sign-extend when PixelRepresentation is 1. Bits above HighBit (old overlay
 * planes) are dropped, and a codec's own idea of signedness cannot disagree with the dataset's.
 * `reuse`, when it is an Int32Array of the right length, receives the values (a volume decodes
 * every slice into one buffer instead of allocating one per slice).
 */
export function storedValuesFromBytes(bytes: Uint8Array, bytesPerSample: 1 | 2 | 4, format: PixelFormat, reuse?: StoredSamples): StoredSamples {
  const count = Math.floor(bytes.length / bytesPerSample);
  const signed = format.pixelRepresentation === 1;
  if (format.bitsStored === 32) return thirtyTwoBitValues(bytes, count, signed);
  const out = reuse instanceof Int32Array && reuse.length === count ? reuse : new Int32Array(count);
  const shift = format.highBit + 1 - format.bitsStored;
  // Typed-array views read samples several times faster than DataView; 16-bit views need alignment.
  if (bytesPerSample === 2 && bytes.byteOffset % 2 === 0) {
    if (shift === 0 && format.bitsStored === 16) {
      // Whole 16-bit words: the view's own conversion is the masking and the sign extension.
      out.set(signed ? new Int16Array(bytes.buffer, bytes.byteOffset, count) : new Uint16Array(bytes.buffer, bytes.byteOffset, count));
    } else {
      maskSamples(new Uint16Array(bytes.buffer, bytes.byteOffset, count), shift, format.bitsStored, signed, out);
    }
  } else if (bytesPerSample === 1) {
    maskSamples(bytes.subarray(0, count), shift, format.bitsStored, signed, out);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const raw = new Uint32Array(count);
    for (let i = 0; i < count; i++) raw[i] = bytesPerSample === 2 ? view.getUint16(i * 2, true) : view.getUint32(i * 4, true);
    maskSamples(raw, shift, format.bitsStored, signed, out);
  }
  return out;
}

function thirtyTwoBitValues(bytes: Uint8Array, count: number, signed: boolean): StoredSamples {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = signed ? new Int32Array(count) : new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = signed ? view.getInt32(i * 4, true) : view.getUint32(i * 4, true);
  return out;
}

/** Keep BitsStored bits starting `shift` bits up, sign-extending when signed. */
function maskSamples(raw: Uint8Array | Uint16Array | Uint32Array, shift: number, bitsStored: number, signed: boolean, out: Int32Array): void {
  const mask = (1 << bitsStored) - 1;
  const signBit = 1 << (bitsStored - 1);
  for (let i = 0; i < out.length; i++) {
    const value = (raw[i] >>> shift) & mask;
    out[i] = signed && value & signBit ? value - 2 * signBit : value;
  }
}

/** Stored values of one frame, decoded whatever the transfer syntax; samples interleaved. */
export async function decodeFrame(parsed: ParsedDicom, frameIndex = 0, reuse?: StoredSamples): Promise<StoredSamples> {
  // A cut PixelData is never handed to dcmjs, so this is known before the value is looked for.
  if (parsed.pixelDataTruncated) throw new CtMuscleError('E_NO_PIXEL_DATA', 'PixelData is truncated: the input ends before the value does.');
  const fragments = pixelDataFragments(parsed.dataset);
  const format = pixelFormatOf(parsed.dataset);
  if (frameIndex < 0 || frameIndex >= format.numberOfFrames) {
    throw new CtMuscleError('E_NO_PIXEL_DATA', `Frame ${frameIndex + 1} requested; the instance has ${format.numberOfFrames}.`);
  }
  const syntax = parsed.transferSyntaxUid;
  let decoded: { bytes: Uint8Array; bytesPerSample: 1 | 2 | 4 };
  let planar = format.planarConfiguration === 1 && format.samplesPerPixel > 1;
  if (NATIVE_SYNTAXES.has(syntax)) {
    decoded = nativeFrame(fragments, format, frameIndex, syntax === TS.explicitVrBigEndian);
  } else {
    decoded = await decodeEncapsulatedFrame(encapsulatedFrame(fragments, format, frameIndex), format, syntax);
    // Codecs return interleaved samples whatever PlanarConfiguration says.
    planar = false;
  }
  const expected = frameSampleCount(format);
  const values = storedValuesFromBytes(decoded.bytes, decoded.bytesPerSample, format, reuse);
  if (values.length < expected) {
    throw new CtMuscleError('E_DECODE_FAILED', `Decoded ${values.length} samples; the frame needs ${expected}.`);
  }
  const frame = (values.length === expected ? values : values.subarray(0, expected)) as StoredSamples;
  return planar ? interleave(frame, format.samplesPerPixel) : frame;
}

/** Stored values of a frame at half resolution (`decodeFrameHalved`): ⌈rows/2⌉ × ⌈columns/2⌉. */
export interface HalvedSamples {
  values: StoredSamples;
  rows: number;
  columns: number;
}

/**
 * The stored values of a single-frame greyscale instance at half resolution, where its encoding
 * holds them apart from the full image (reversible JPEG 2000: the first wavelet level's low-pass
 * band), so that they cost less than a full decode; null for every other instance (decode it
 * whole). `reuse` as for `storedValuesFromBytes`.
 */
export async function decodeFrameHalved(parsed: ParsedDicom, reuse?: StoredSamples): Promise<HalvedSamples | null> {
  const syntax = parsed.transferSyntaxUid;
  if ((syntax !== TS.jpeg2000Lossless && syntax !== TS.jpeg2000) || parsed.pixelDataTruncated) return null;
  const format = pixelFormatOf(parsed.dataset);
  if (format.numberOfFrames !== 1 || format.samplesPerPixel !== 1) return null;
  const halved = await decodeJpeg2000Halved(encapsulatedFrame(pixelDataFragments(parsed.dataset), format, 0), format);
  if (!halved) return null;
  const { rows, columns } = halved;
  const values = storedValuesFromBytes(halved.bytes, halved.bytesPerSample, format, reuse);
  if (values.length < rows * columns) throw new CtMuscleError('E_DECODE_FAILED', `Decoded ${values.length} samples at half resolution; ${rows}×${columns} are needed.`);
  return { values: (values.length === rows * columns ? values : values.subarray(0, rows * columns)) as StoredSamples, rows, columns };
}
