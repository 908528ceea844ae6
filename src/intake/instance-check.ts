/**
 * The receiver's acceptance check of one incoming instance: it is acknowledged only when its
 * header reads and its pixel data is complete for the image size it declares. Also ranks two
 * copies of the same instance, so a re-send never replaces a good spooled copy with a worse one.
 *
 * Same shape as `checkInstance`/`compareCopies` of src/dicom/check-instance.ts on branch
 * hostile-dicom (bounded structure walk, bounded inflation, UID validation); this small version
 * is what the node uses until that lands, and is replaced by it then (one import here).
 */
import { headerFromParsed, parseDicom } from '../dicom/read.ts';
import { NATIVE_SYNTAXES } from '../dicom/transfer-syntax.ts';
import type { InstanceHeader, NaturalDataset } from '../dicom/types.ts';
import { describeError } from '../errors.ts';

export interface PixelCompleteness {
  /** The pixel data holds everything the declared image needs (or the instance declares no image). */
  complete: boolean;
  /** Bytes the declared image needs natively (Rows × Columns × Samples × Frames × BitsAllocated / 8); 0 without an image. */
  declaredBytes: number;
  /** Bytes of pixel data present (native value, or the encapsulated fragments). */
  presentBytes: number;
  encapsulated: boolean;
  /** Why it is incomplete, in words; null when complete. */
  problem: string | null;
}

export type InstanceCheck =
  | { ok: true; header: InstanceHeader; completeness: PixelCompleteness; sizeBytes: number }
  | { ok: false; code: string; message: string };

const num = (dataset: NaturalDataset, key: string) => Number(dataset[key] ?? 0) || 0;

function declaredBytesOf(dataset: NaturalDataset): number {
  const rows = num(dataset, 'Rows');
  const columns = num(dataset, 'Columns');
  if (!rows || !columns) return 0;
  const samples = num(dataset, 'SamplesPerPixel') || 1;
  const frames = num(dataset, 'NumberOfFrames') || 1;
  return Math.ceil((rows * columns * samples * frames * (num(dataset, 'BitsAllocated') || 16)) / 8);
}

function fragmentsOf(pixelData: unknown): ArrayBuffer[] {
  if (Array.isArray(pixelData)) return pixelData.filter((f): f is ArrayBuffer => f instanceof ArrayBuffer);
  return pixelData instanceof ArrayBuffer ? [pixelData] : [];
}

/** Whether the pixel data of a fully parsed dataset is complete for its declared image size. */
export function pixelCompleteness(dataset: NaturalDataset, truncated: boolean, encapsulated: boolean): PixelCompleteness {
  const declaredBytes = declaredBytesOf(dataset);
  const fragments = fragmentsOf(dataset.PixelData);
  const presentBytes = fragments.reduce((sum, f) => sum + f.byteLength, 0);
  const base = { declaredBytes, presentBytes, encapsulated };
  const judge = (problem: string | null): PixelCompleteness => ({ ...base, complete: problem === null, problem });
  if (dataset.PixelData === undefined) return judge(declaredBytes ? 'Rows and Columns declare an image but there is no PixelData.' : null);
  if (encapsulated) {
    const frames = num(dataset, 'NumberOfFrames') || 1;
    const nonEmpty = fragments.filter((f) => f.byteLength > 0).length;
    return judge(nonEmpty < frames ? `Encapsulated PixelData holds ${nonEmpty} non-empty fragment(s) for ${frames} frame(s).` : null);
  }
  if (truncated) return judge(`PixelData runs past the end of the input (${presentBytes} of ${declaredBytes} bytes present).`);
  return judge(presentBytes < declaredBytes ? `PixelData holds ${presentBytes} bytes; the declared image needs ${declaredBytes}.` : null);
}

/** Check one instance's bytes: header readable, pixel data complete. Never throws. */
export async function checkInstance(bytes: Uint8Array, label = 'instance'): Promise<InstanceCheck> {
  try {
    const full = parseDicom(bytes);
    const completeness = pixelCompleteness(full.dataset, full.pixelDataTruncated, !NATIVE_SYNTAXES.has(full.transferSyntaxUid));
    const header = headerFromParsed(parseDicom(bytes, { headerOnly: true }), { kind: 'memory', bytes, label });
    if (!completeness.complete) {
      return { ok: false, code: full.dataset.PixelData === undefined ? 'E_NO_PIXEL_DATA' : 'E_INCOMPLETE_PIXEL_DATA', message: completeness.problem! };
    }
    return { ok: true, header, completeness, sizeBytes: bytes.length };
  } catch (error) {
    return { ok: false, ...describeError(error) };
  }
}

/**
 * Orders two copies of the same instance: > 0 when `a` is the better one, < 0 when `b` is, 0
 * when neither is (then the newer may replace the older). Complete beats incomplete; between
 * incomplete copies, the one holding more pixel data.
 */
export function compareCopies(a: PixelCompleteness, b: PixelCompleteness): number {
  if (a.complete !== b.complete) return a.complete ? 1 : -1;
  if (a.complete) return 0;
  return Math.sign(a.presentBytes - b.presentBytes);
}

/** The completeness of a kept copy whatever its other faults; null when it cannot be parsed at all. */
export function completenessOf(bytes: Uint8Array): PixelCompleteness | null {
  try {
    const full = parseDicom(bytes);
    return pixelCompleteness(full.dataset, full.pixelDataTruncated, !NATIVE_SYNTAXES.has(full.transferSyntaxUid));
  } catch {
    return null;
  }
}
