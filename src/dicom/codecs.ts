/**
 * Decoders for encapsulated transfer syntaxes, each a thin adapter over a maintained npm codec
 * (the cornerstone WebAssembly builds of OpenJPEG, CharLS, libjpeg-turbo and OpenJPH, the
 * jpeg-lossless-decoder-js package, and @cornerstonejs/dicom-codec's RLE decoder). No codec is
 * written here: this module only moves bytes in and out of them (and reads a few markers of a
 * stream's header where the codec does not tell what the caller must know before decoding).
 *
 * Output is the codec's raw sample buffer (little-endian bytes, samples interleaved); the
 * caller interprets it with the DICOM pixel attributes (see pixels.ts).
 */
import { createRequire } from 'node:module';
import { CtMuscleError } from '../errors.ts';
import { TS, transferSyntaxName } from './transfer-syntax.ts';
import { loadWasmModule } from './wasm-modules.ts';
import type { PixelFormat } from './types.ts';

const require = createRequire(import.meta.url);

/** The Emscripten decoder classes share this shape. */
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean };
  delete(): void;
}
type WasmModule = Record<string, new () => WasmDecoder>;

export interface DecodedFrame {
  /** Little-endian sample bytes, interleaved when there are several samples per pixel. */
  bytes: Uint8Array;
  bytesPerSample: 1 | 2 | 4;
  /** Signedness as the codestream declares it, when it does. */
  codestreamSigned?: boolean;
}

async function decodeWithWasm(specifier: string, className: string, frame: Uint8Array, format: PixelFormat): Promise<DecodedFrame> {
  const module = await loadWasmModule<WasmModule>(specifier);
  const decoder = new module[className]();
  try {
    decoder.getEncodedBuffer(frame.length).set(frame);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (info.width !== format.columns || info.height !== format.rows) {
      throw new CtMuscleError(
        'E_DECODE_FAILED',
        `The codestream is ${info.width}×${info.height} but the dataset says ${format.columns}×${format.rows}.`,
      );
    }
    const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
    // Copy out of WebAssembly memory: the view dies with the decoder.
    return { bytes: decoder.getDecodedBuffer().slice(), bytesPerSample, codestreamSigned: info.isSigned };
  } finally {
    decoder.delete();
  }
}

function decodeJpegLossless(frame: Uint8Array, format: PixelFormat): DecodedFrame {
  const { Decoder } = require('jpeg-lossless-decoder-js') as {
    Decoder: new () => { decode(buffer: ArrayBuffer, offset: number, length: number, bytes: number): ArrayBufferView };
  };
  const bytesPerSample = format.bitsAllocated <= 8 ? 1 : 2;
  const out = new Decoder().decode(frame.buffer as ArrayBuffer, frame.byteOffset, frame.length, bytesPerSample);
  return { bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength), bytesPerSample };
}

async function decodeRle(frame: Uint8Array, format: PixelFormat): Promise<DecodedFrame> {
  // The RLE decoder handles 8-bit data with any number of samples and 16-bit greyscale (CT).
  if (format.bitsAllocated !== 8 && !(format.bitsAllocated === 16 && format.samplesPerPixel === 1)) {
    throw new CtMuscleError(
      'E_UNSUPPORTED_PIXEL_FORMAT',
      `RLE Lossless with ${format.bitsAllocated} bits allocated and ${format.samplesPerPixel} samples is not supported (8-bit, and 16-bit greyscale, are).`,
    );
  }
  const rle = require('@cornerstonejs/dicom-codec/src/codecs/rleLossless.js') as {
    decode(frame: Uint8Array, info: Record<string, unknown>): Promise<{ imageFrame: ArrayBufferView }>;
  };
  const result = await rle.decode(frame, {
    rows: format.rows,
    columns: format.columns,
    bitsAllocated: format.bitsAllocated,
    samplesPerPixel: format.samplesPerPixel,
    // RLE segments are always planar by definition; the decoder interleaves them for us.
    planarConfiguration: 0,
    signed: format.pixelRepresentation === 1,
  });
  const view = result.imageFrame;
  return { bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength), bytesPerSample: format.bitsAllocated === 16 ? 2 : 1 };
}

type FrameDecoder = (frame: Uint8Array, format: PixelFormat) => Promise<DecodedFrame> | DecodedFrame;

/** What OpenJPEG's decoder adds for reading a codestream at a lower resolution. */
interface J2KResolutionDecoder extends WasmDecoder {
  getImageOffset(): { x: number; y: number };
  getNumDecompositions(): number;
  getIsReversible(): boolean;
  calculateSizeAtDecompositionLevel(level: number): { width: number; height: number };
  decodeSubResolution(level: number, layer: number): void;
}

/** A frame decoded at half its size along both axes: ⌈rows/2⌉ × ⌈columns/2⌉ samples. */
export interface HalvedFrame extends DecodedFrame {
  rows: number;
  columns: number;
}

const readU16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];
const readU32 = (b: Uint8Array, at: number) => readU16(b, at) * 65536 + readU16(b, at + 2);

/**
 * Whether a JPEG 2000 codestream's main header leaves a half-resolution decode possible, read
 * before decoding so that a lossy (9/7, irreversible) frame is decoded once, not first at half
 * resolution in vain and then in full. False only where a marker rules it out (ITU-T T.800
 * A.5.1 SIZ: an image offset; A.6.1 COD, or A.6.2 COC of component 0: no decomposition level, or
 * the irreversible transform); true otherwise, a header it cannot read included: the decoder
 * judges after decoding (a tile-part header may still override COD). The markers are read here
 * because OpenJPEG's readHeader leaves the frame information empty in this WebAssembly build.
 */
export function jpeg2000MayHalve(stream: Uint8Array): boolean {
  if (stream.length < 4 || stream[0] !== 0xff || stream[1] !== 0x4f) return true;
  let components = 1;
  for (let at = 2; at + 4 <= stream.length; ) {
    const marker = stream[at + 1];
    // SOT (a tile-part begins) or anything not a marker segment: the main header is over.
    if (stream[at] !== 0xff || marker === 0x90) return true;
    const body = at + 4;
    const end = at + 2 + readU16(stream, at + 2);
    if (end < body || end > stream.length) return true;
    if (marker === 0x51 && body + 36 <= end) {
      if (readU32(stream, body + 10) !== 0 || readU32(stream, body + 14) !== 0) return false;
      components = readU16(stream, body + 34);
    } else if (marker === 0x52 && body + 10 <= end) {
      if (stream[body + 5] === 0 || stream[body + 9] === 0) return false;
    } else if (marker === 0x53) {
      const indexBytes = components < 257 ? 1 : 2;
      const parameters = body + indexBytes + 1;
      const component = indexBytes === 1 ? stream[body] : readU16(stream, body);
      if (component === 0 && parameters + 5 <= end && (stream[parameters] === 0 || stream[parameters + 4] === 0)) return false;
    }
    at = end;
  }
  return true;
}

/**
 * A reversible (lossless) JPEG 2000 codestream decoded at half resolution: its first wavelet
 * level's low-pass band, which OpenJPEG reconstructs without that level's three detail bands,
 * about a third of the work of a full decode (docs/decisions.md). Values are on the stored-value
 * scale (the 5/3 low-pass filter has unit gain). Null where the codestream has no wavelet level to
 * drop or is not reversible: its main header says so (`jpeg2000MayHalve`), or else the decoder,
 * after decoding.
 */
export async function decodeJpeg2000Halved(frame: Uint8Array, format: PixelFormat): Promise<HalvedFrame | null> {
  if (!jpeg2000MayHalve(frame)) return null;
  const module = await loadWasmModule<Record<string, new () => J2KResolutionDecoder>>('@cornerstonejs/codec-openjpeg/decodewasmjs');
  const decoder = new module.J2KDecoder();
  try {
    decoder.getEncodedBuffer(frame.length).set(frame);
    try {
      decoder.decodeSubResolution(1, 0);
    } catch {
      // No level to drop (or a codestream the full decode should judge): decoded whole instead.
      return null;
    }
    const info = decoder.getFrameInfo();
    if (info.width !== format.columns || info.height !== format.rows) {
      throw new CtMuscleError('E_DECODE_FAILED', `The codestream is ${info.width}×${info.height} but the dataset says ${format.columns}×${format.rows}.`);
    }
    // An image offset on the reference grid would shift which samples the low-pass band sits on.
    const offset = decoder.getImageOffset();
    if (decoder.getNumDecompositions() < 1 || !decoder.getIsReversible() || offset.x !== 0 || offset.y !== 0) return null;
    const size = decoder.calculateSizeAtDecompositionLevel(1);
    const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
    return { bytes: decoder.getDecodedBuffer().slice(), bytesPerSample, codestreamSigned: info.isSigned, rows: size.height, columns: size.width };
  } finally {
    decoder.delete();
  }
}

const openJpeg: FrameDecoder = (f, p) => decodeWithWasm('@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder', f, p);
const charls: FrameDecoder = (f, p) => decodeWithWasm('@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder', f, p);
const openJph: FrameDecoder = (f, p) => decodeWithWasm('@cornerstonejs/codec-openjph/wasmjs', 'HTJ2KDecoder', f, p);
/**
 * libjpeg-turbo decides the colour space from the stream alone: without an Adobe APP14 marker or
 * component IDs 'R','G','B' it assumes YCbCr and converts. When the dataset says the components
 * are RGB and the stream does not, the two disagree, and a wrong guess would pass silently.
 */
function jpegStreamDeclaresRgb(stream: Uint8Array): boolean {
  for (let i = 2; i + 4 < stream.length; ) {
    if (stream[i] !== 0xff) return false;
    const marker = stream[i + 1];
    const length = readU16(stream, i + 2);
    if (marker === 0xee) return true;
    if (marker >= 0xc0 && marker <= 0xc3) {
      const ids = [stream[i + 10], stream[i + 13], stream[i + 16]];
      return ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42;
    }
    if (marker === 0xda) return false;
    i += 2 + length;
  }
  return false;
}

const libjpegTurbo: FrameDecoder = (f, p) => {
  if (p.bitsAllocated !== 8) {
    throw new CtMuscleError('E_UNSUPPORTED_PIXEL_FORMAT', `JPEG Baseline must be 8-bit; this dataset allocates ${p.bitsAllocated} bits.`);
  }
  if (p.samplesPerPixel === 3 && p.photometricInterpretation === 'RGB' && !jpegStreamDeclaresRgb(f)) {
    throw new CtMuscleError(
      'E_UNSUPPORTED_PIXEL_FORMAT',
      'JPEG Baseline colour image: the dataset says RGB but the stream does not (no Adobe marker, no R/G/B component IDs); its colour space is ambiguous.',
    );
  }
  return decodeWithWasm('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder', f, p);
};

const DECODERS: Readonly<Record<string, FrameDecoder>> = {
  [TS.jpegBaseline]: libjpegTurbo,
  [TS.jpegLossless]: decodeJpegLossless,
  [TS.jpegLosslessSv1]: decodeJpegLossless,
  [TS.jpegLsLossless]: charls,
  [TS.jpegLsNearLossless]: charls,
  [TS.jpeg2000Lossless]: openJpeg,
  [TS.jpeg2000]: openJpeg,
  [TS.htj2kLossless]: openJph,
  [TS.htj2kLosslessRpcl]: openJph,
  [TS.htj2k]: openJph,
  [TS.rleLossless]: decodeRle,
};

export function isEncapsulatedSyntaxSupported(transferSyntaxUid: string): boolean {
  return transferSyntaxUid in DECODERS;
}

export async function decodeEncapsulatedFrame(frame: Uint8Array, format: PixelFormat, transferSyntaxUid: string): Promise<DecodedFrame> {
  const decoder = DECODERS[transferSyntaxUid];
  if (!decoder) {
    throw new CtMuscleError(
      'E_UNSUPPORTED_TRANSFER_SYNTAX',
      `Cannot decode ${transferSyntaxName(transferSyntaxUid)} (${transferSyntaxUid}); supported: ${supportedSyntaxList()}.`,
      { transferSyntaxUid },
    );
  }
  try {
    return await decoder(frame, format);
  } catch (error) {
    if (error instanceof CtMuscleError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new CtMuscleError('E_DECODE_FAILED', `${transferSyntaxName(transferSyntaxUid)} decoding failed: ${message}`, { transferSyntaxUid });
  }
}

export function supportedSyntaxList(): string {
  return Object.keys(DECODERS).map((uid) => transferSyntaxName(uid)).join(', ');
}
