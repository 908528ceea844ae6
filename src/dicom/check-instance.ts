/**
 * One check of an incoming instance, for whoever must decide whether to accept it (the STOW-RS
 * receiver, the poller, the spool): size limit, bounded structure walk, bounded inflation, valid
 * UIDs, and pixel data complete for the image size it declares. Never throws for bad input: the
 * answer is a typed refusal ({ok: false, code, message}) the caller can put in a STOW response.
 * Also ranks two copies of the same instance, so a re-send never replaces a good copy with a
 * worse one.
 */
import { describeError, type ErrorCode } from '../errors.ts';
import { declaredImage, declaredPixelBytes } from './declared-size.ts';
import { DEFAULT_DICOM_LIMITS, type DicomLimits } from './limits.ts';
import { headerFromParsed, parseHeaderOnly, type ParsedDicom } from './read.ts';
import { readRegularFile } from './read-file.ts';
import type { InstanceHeader } from './types.ts';

export interface PixelCompleteness {
  /** The pixel data holds everything the declared image needs (or the instance declares no image). */
  complete: boolean;
  /** Bytes the declared image needs natively (Rows × Columns × Samples × Frames × BitsAllocated / 8); 0 without an image. */
  declaredBytes: number;
  /** Bytes of pixel data present (native value, or the encapsulated items up to where they stop). */
  presentBytes: number;
  encapsulated: boolean;
  /** Encapsulated: whole fragments after the Basic Offset Table. */
  fragments: number;
  /** Why it is incomplete, in words; null when complete. */
  problem: string | null;
}

export type InstanceCheck =
  | { ok: true; header: InstanceHeader; transferSyntaxUid: string; completeness: PixelCompleteness; sizeBytes: number }
  | { ok: false; code: ErrorCode | 'E_INTERNAL'; message: string };

function judge(problem: string | null, base: Omit<PixelCompleteness, 'complete' | 'problem'>): PixelCompleteness {
  return { ...base, complete: problem === null, problem };
}

/** Whether the pixel data of a parsed instance is complete for its declared image size. */
export function pixelCompleteness(parsed: ParsedDicom): PixelCompleteness {
  const structure = parsed.structure;
  const pixels = structure?.pixelData ?? null;
  const image = structure ? declaredImage(structure, parsed.littleEndian ?? true) : null;
  const declaredBytes = image ? declaredPixelBytes(image) : 0;
  const base = { declaredBytes, presentBytes: pixels?.presentLength ?? 0, encapsulated: pixels?.encapsulated ?? false, fragments: pixels?.fragments ?? 0 };
  if (!pixels) return judge(image ? `Rows and Columns declare a ${image.rows}×${image.columns} image but there is no PixelData.` : null, base);
  if (!pixels.encapsulated) {
    if (!pixels.complete) return judge(`PixelData declares ${pixels.declaredLength} bytes; the input ends after ${pixels.presentLength}.`, base);
    if (pixels.presentLength < declaredBytes) return judge(`PixelData holds ${pixels.presentLength} bytes; the declared image needs ${declaredBytes}.`, base);
    return judge(null, base);
  }
  if (!pixels.complete) return judge(`Encapsulated PixelData is cut after ${pixels.fragments} whole fragment(s): its items or the sequence delimiter are missing.`, base);
  const frames = image?.numberOfFrames ?? 1;
  if (pixels.fragments < frames) return judge(`Encapsulated PixelData holds ${pixels.fragments} fragment(s) for ${frames} frame(s).`, base);
  return judge(null, base);
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

/** The header-only parse of bytes in memory or of a path (read only if it is a regular file within the limit). */
async function parseInput(input: Uint8Array | string, limits: DicomLimits): Promise<{ bytes: Uint8Array; parsed: ParsedDicom }> {
  const bytes = typeof input === 'string' ? await readRegularFile(input, limits.maxInstanceBytes) : input;
  return { bytes, parsed: await parseHeaderOnly(bytes, limits) };
}

/** Check one instance (bytes in memory, or a path read only if it is a regular file within the limit). */
export async function checkInstance(input: Uint8Array | string, limits: DicomLimits = DEFAULT_DICOM_LIMITS, label = 'instance'): Promise<InstanceCheck> {
  try {
    const { bytes, parsed } = await parseInput(input, limits);
    const source = typeof input === 'string' ? { kind: 'file' as const, path: input } : { kind: 'memory' as const, bytes, label };
    const header = headerFromParsed(parsed, source);
    const completeness = pixelCompleteness(parsed);
    if (!completeness.complete) {
      const code = parsed.structure?.pixelData ? 'E_INCOMPLETE_PIXEL_DATA' : 'E_NO_PIXEL_DATA';
      return { ok: false, code, message: completeness.problem! };
    }
    return { ok: true, header, transferSyntaxUid: parsed.transferSyntaxUid, completeness, sizeBytes: bytes.length };
  } catch (error) {
    const { code, message } = describeError(error);
    return { ok: false, code: code as ErrorCode | 'E_INTERNAL', message };
  }
}

/**
 * Whether an incoming copy may replace the one already kept (same SOP Instance UID): only when
 * it is at least as good. A kept copy that can no longer be read at all is always replaceable.
 */
export async function mayReplaceCopy(kept: Uint8Array | string, incoming: PixelCompleteness, limits: DicomLimits = DEFAULT_DICOM_LIMITS): Promise<boolean> {
  const existing = await checkInstanceCompleteness(kept, limits);
  return existing === null || compareCopies(incoming, existing) >= 0;
}

/** The completeness of an instance whatever its other faults; null when it cannot be parsed at all. */
export async function checkInstanceCompleteness(input: Uint8Array | string, limits: DicomLimits = DEFAULT_DICOM_LIMITS): Promise<PixelCompleteness | null> {
  try {
    return pixelCompleteness((await parseInput(input, limits)).parsed);
  } catch {
    return null;
  }
}
