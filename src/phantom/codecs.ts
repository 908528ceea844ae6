/**
 * Lossless encoders for the compressed syntaxes the phantom writes: the cornerstone WebAssembly
 * builds of OpenJPEG (JPEG 2000) and CharLS (JPEG-LS).
 */
import { loadWasmModule } from '../dicom/wasm-modules.ts';

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
  isUsingColorTransform?: boolean;
}

interface WasmEncoder {
  getDecodedBuffer(info: FrameInfo): Uint8Array;
  getEncodedBuffer(): Uint8Array;
  encode(): void;
  delete(): void;
  setNearLossless?(value: number): void;
  setDecompositions?(value: number): void;
  setQuality?(lossless: boolean, quality: number): void;
}

type WasmModule = Record<string, new () => WasmEncoder>;

export type CompressedCodec = 'jpeg2000' | 'jpegls';

/**
 * Encode one 16-bit single-sample frame losslessly. `samples` holds little-endian 16-bit values;
 * `signed` says whether they are two's complement (PixelRepresentation 1).
 */
export async function encodeFrame(codec: CompressedCodec, samples: Uint8Array, rows: number, columns: number, signed: boolean): Promise<Uint8Array> {
  const module = await loadWasmModule<WasmModule>(codec === 'jpeg2000' ? '@cornerstonejs/codec-openjpeg/wasmjs' : '@cornerstonejs/codec-charls/wasmjs');
  const encoder = new module[codec === 'jpeg2000' ? 'J2KEncoder' : 'JpegLSEncoder']();
  try {
    const input = encoder.getDecodedBuffer({ width: columns, height: rows, bitsPerSample: 16, componentCount: 1, isSigned: signed, isUsingColorTransform: false });
    input.set(samples);
    if (codec === 'jpegls') encoder.setNearLossless?.(0);
    encoder.encode();
    // Copy out of WebAssembly memory before the encoder is freed.
    return encoder.getEncodedBuffer().slice();
  } finally {
    encoder.delete();
  }
}
