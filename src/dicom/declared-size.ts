/**
 * The image size an instance declares (Rows × Columns × SamplesPerPixel × NumberOfFrames ×
 * BitsAllocated / 8), read from the raw top-level values the structural walk kept, so it is
 * known before dcmjs parses anything: it bounds inflation and judges pixel data completeness.
 */
import { rawText, type DatasetStructure } from './well-formed.ts';

export const IMAGE_SIZE_TAGS = ['00280002', '00280008', '00280010', '00280011', '00280100'] as const;

export interface DeclaredImage {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  numberOfFrames: number;
}

function us(value: Uint8Array | undefined, littleEndian: boolean): number | undefined {
  if (value === undefined || value.length < 2) return undefined;
  return new DataView(value.buffer, value.byteOffset, 2).getUint16(0, littleEndian);
}

/** The declared image, or null when Rows, Columns or BitsAllocated is missing. */
export function declaredImage(structure: DatasetStructure, littleEndian: boolean): DeclaredImage | null {
  const raw = structure.rawValues;
  const rows = us(raw.get('00280010'), littleEndian);
  const columns = us(raw.get('00280011'), littleEndian);
  const bitsAllocated = us(raw.get('00280100'), littleEndian);
  if (!rows || !columns || !bitsAllocated) return null;
  const frames = Number(rawText(raw.get('00280008')) ?? '1');
  return {
    rows,
    columns,
    bitsAllocated,
    samplesPerPixel: us(raw.get('00280002'), littleEndian) || 1,
    numberOfFrames: Number.isInteger(frames) && frames > 0 ? frames : 1,
  };
}

/** Bytes the native pixel data of the declared image needs (1-bit data packed, PS3.5 8.1.1). */
export function declaredPixelBytes(image: DeclaredImage): number {
  return Math.ceil((image.rows * image.columns * image.samplesPerPixel * image.numberOfFrames * image.bitsAllocated) / 8);
}
