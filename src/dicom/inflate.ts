/**
 * Bounded inflation of Deflated Explicit VR Little Endian datasets (1.2.840.10008.1.2.1.99).
 * A few MB of deflate can expand to gigabytes, so output is counted as it is produced and the
 * inflation stops at the smaller of two bounds: the configured maximum, and the declared image
 * size plus a header allowance (found by walking the inflated prefix as soon as it reaches the
 * PixelData element). The async form runs zlib on the libuv thread pool, off the event loop.
 */
import { createInflateRaw, inflateRawSync } from 'node:zlib';
import { CtMuscleError } from '../errors.ts';
import { declaredImage, declaredPixelBytes, IMAGE_SIZE_TAGS } from './declared-size.ts';
import type { DicomLimits } from './limits.ts';
import { walkDataset } from './well-formed.ts';

const EXPLICIT_LE = { explicitVr: true, littleEndian: true };
const FIRST_PROBE_BYTES = 64 * 1024;

/** The bound an inflated dataset must stay within, judged from its (possibly partial) bytes. */
export function inflatedBound(prefix: Uint8Array, limits: DicomLimits): number | null {
  let structure;
  try {
    structure = walkDataset(prefix, EXPLICIT_LE, { keep: IMAGE_SIZE_TAGS, stopAtPixelData: true });
  } catch {
    return null; // the prefix ends inside an element: not known yet
  }
  if (!structure.pixelData) return null;
  const image = declaredImage(structure, true);
  const pixelBytes = image ? declaredPixelBytes(image) : 0;
  return Math.min(limits.maxInflatedBytes, pixelBytes + limits.headerAllowanceBytes);
}

function tooLarge(produced: number, bound: number, limits: DicomLimits, imageKnown: boolean): CtMuscleError {
  let why: string;
  if (bound >= limits.maxInflatedBytes) why = `the configured maximum of ${limits.maxInflatedBytes} bytes (limits.maxInflatedMb)`;
  else if (imageKnown) why = `${bound} bytes, its declared image size plus ${limits.headerAllowanceBytes} bytes of header allowance (limits.headerAllowanceMb)`;
  else why = `the header allowance of ${limits.headerAllowanceBytes} bytes before any PixelData (limits.headerAllowanceMb)`;
  return new CtMuscleError('E_INSTANCE_TOO_LARGE', `The deflated dataset inflates past ${why}: refused as a decompression bomb.`, { produced, bound });
}

function corrupt(error: unknown): CtMuscleError {
  return new CtMuscleError('E_MALFORMED_DICOM', `The deflated dataset cannot be inflated: ${(error as Error).message}.`);
}

/** Inflate off the event loop, stopping as soon as a bound is passed. */
export async function inflateDataset(deflated: Uint8Array, limits: DicomLimits): Promise<Uint8Array> {
  const inflater = createInflateRaw({ chunkSize: 256 * 1024 });
  inflater.end(deflated);
  const chunks: Buffer[] = [];
  let produced = 0;
  let bound = Math.min(limits.maxInflatedBytes, limits.headerAllowanceBytes);
  let boundKnown = false;
  let nextProbe = FIRST_PROBE_BYTES;
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      produced += chunk.length;
      if (!boundKnown && (produced >= nextProbe || produced > bound)) {
        const known = inflatedBound(Buffer.concat(chunks, produced), limits);
        if (known !== null) [bound, boundKnown] = [known, true];
        nextProbe = produced * 2;
      }
      if (produced > bound) throw tooLarge(produced, bound, limits, boundKnown);
    }
  } catch (error) {
    inflater.destroy();
    throw error instanceof CtMuscleError ? error : corrupt(error);
  }
  return Buffer.concat(chunks, produced);
}

/**
 * The same bounds on the calling thread, for the synchronous parse (tests, in-memory phantoms).
 * zlib stops at maxOutputLength, so even here nothing larger is ever allocated.
 */
export function inflateDatasetSync(deflated: Uint8Array, limits: DicomLimits): Uint8Array {
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(deflated, { maxOutputLength: limits.maxInflatedBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limits.maxInflatedBytes + 1, limits.maxInflatedBytes, limits, false);
    throw corrupt(error);
  }
  const known = inflatedBound(inflated, limits);
  const bound = known ?? Math.min(limits.maxInflatedBytes, limits.headerAllowanceBytes);
  if (inflated.length > bound) throw tooLarge(inflated.length, bound, limits, known !== null);
  return inflated;
}
