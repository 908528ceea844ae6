/**
 * A spooled instance's slice on the level finder's working grid, kept in a small file beside it
 * (`<study>/.grid/<SOPInstanceUID>.grid`, ~128 KB for 512² at 0.7 mm) so that the analysis of a
 * study, in this process or another one sharing the spool, files it instead of decoding it again.
 *
 * A sidecar is only a cache: it is used when its key matches exactly, else the slice is decoded
 * as if there were none. The key digests everything the slice's working-grid HU depend on:
 * - the spooled file as it was read (inode, size and modification/change times: the spool
 *   replaces an instance by writing a new file and renaming it over the old one, so a duplicate
 *   with other bytes is another file);
 * - the decode's inputs (SOP Instance UID, the series' rows and columns, rescale, the pixel
 *   attributes: `SliceJob`), and the padding value;
 * - the grid itself (its size, block factor and every source index), not how it was derived, so
 *   a slice made for another grid is never used;
 * - this build's version and the body threshold: the body mask kept with the HU (the level
 *   finder's largest region denser than −500 HU) and the resampling are this build's.
 * A checksum over the whole file catches a torn or damaged sidecar. The folder goes with the
 * study's spool folder (retention), and the scan skips it (a hidden name).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { PADDING_HU } from '../dicom/hu.ts';
import type { SliceJob } from '../dicom/volume.ts';
import { partialPathFor } from '../io/durable-file.ts';
import type { CanonicalGrid } from '../level/canonical.ts';
import { BODY_HU } from '../level/stack.ts';
import { PACKAGE_VERSION } from '../model/index.ts';

/** Format version 2 (change it with the layout or the key): HU, then the body mask as bits. */
const MAGIC = Buffer.from('CTMNGRD2', 'latin1');
const DIGEST_BYTES = 32;
const HEADER_BYTES = MAGIC.length + DIGEST_BYTES + 8;

/** The identity of one spooled file, as read: the sidecar is valid for these bytes only. */
export interface FileIdentity {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** What a lookup found: `used` (a valid sidecar), `absent`, `stale` (made for other bytes or another grid), `corrupt`. */
export type LookupOutcome = 'used' | 'absent' | 'stale' | 'corrupt';

/** The folder in a study's spool folder that holds its sidecars (hidden: the scan skips it). */
export const SIDECAR_FOLDER = '.grid';

export function sidecarPathOf(spooledPath: string): string {
  return join(dirname(spooledPath), SIDECAR_FOLDER, `${basename(spooledPath, '.dcm')}.grid`);
}

const gridDigests = new WeakMap<CanonicalGrid, string>();

/** The grid's content (what `canonicalSlice` reads of it), digested once per grid object. */
function gridDigest(grid: CanonicalGrid): string {
  let digest = gridDigests.get(grid);
  if (digest === undefined) {
    const hash = createHash('sha256').update(JSON.stringify([grid.width, grid.height, grid.factor, grid.sourceColumns, grid.mm]));
    hash.update(new Uint8Array(grid.sourceIndex.buffer, grid.sourceIndex.byteOffset, grid.sourceIndex.byteLength));
    digest = hash.digest('hex');
    gridDigests.set(grid, digest);
  }
  return digest;
}

/** The key of one slice: these bytes, decoded with these inputs, put on this grid. */
export function sidecarKey(identity: FileIdentity, job: SliceJob, grid: CanonicalGrid): Buffer {
  const material = JSON.stringify({
    identity: [identity.ino, identity.size, identity.mtimeNs, identity.ctimeNs].map(String),
    sopInstanceUid: job.sopInstanceUid,
    size: [job.rows, job.columns],
    rescale: [job.slope, job.intercept],
    pixelAttributes: job.pixelAttributes,
    paddingHu: PADDING_HU,
    bodyHu: BODY_HU,
    version: PACKAGE_VERSION,
    endianness: endianness(),
    grid: gridDigest(grid),
  });
  return createHash('sha256').update(material).digest();
}

export function identityOf(stats: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): FileIdentity {
  return { ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

/** A spooled file's bytes and the identity of exactly those bytes (read through one descriptor). */
export async function readSpooled(path: string): Promise<{ bytes: Uint8Array; identity: FileIdentity }> {
  const handle = await open(path, 'r');
  try {
    const identity = identityOf(await handle.stat({ bigint: true }));
    const bytes = new Uint8Array(await handle.readFile());
    return { bytes, identity };
  } finally {
    await handle.close();
  }
}

/** A slice on the working grid with its body mask (1 inside, one byte a pixel), as the stack files it. */
export interface GridSlice {
  hu: Int16Array;
  bodyMask: Uint8Array;
}

const packedBytes = (plane: number) => Math.ceil(plane / 8);

/** magic, key, width, height, HU (host order; the key names it), body mask (bits), then a digest of all before it. */
export function encodeSidecar(key: Buffer, grid: CanonicalGrid, slice: GridSlice): Buffer {
  const sizes = Buffer.alloc(8);
  sizes.writeUInt32LE(grid.width, 0);
  sizes.writeUInt32LE(grid.height, 4);
  const bits = Buffer.alloc(packedBytes(slice.bodyMask.length));
  slice.bodyMask.forEach((inside, p) => {
    if (inside) bits[p >> 3] |= 1 << (p & 7);
  });
  const { hu } = slice;
  const body = Buffer.concat([MAGIC, key, sizes, Buffer.from(hu.buffer, hu.byteOffset, hu.byteLength), bits]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** The sidecar's slice when it is whole and made for `key` on `grid`; otherwise why not. */
export function decodeSidecar(data: Buffer, key: Buffer, grid: CanonicalGrid): GridSlice | 'stale' | 'corrupt' {
  const plane = grid.width * grid.height;
  const expected = HEADER_BYTES + plane * 2 + packedBytes(plane) + DIGEST_BYTES;
  if (data.length < HEADER_BYTES + DIGEST_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) return 'corrupt';
  const bodyEnd = data.length - DIGEST_BYTES;
  if (!createHash('sha256').update(data.subarray(0, bodyEnd)).digest().equals(data.subarray(bodyEnd))) return 'corrupt';
  if (!data.subarray(MAGIC.length, MAGIC.length + DIGEST_BYTES).equals(key)) return 'stale';
  const width = data.readUInt32LE(MAGIC.length + DIGEST_BYTES);
  const height = data.readUInt32LE(MAGIC.length + DIGEST_BYTES + 4);
  // The key covers the grid; a whole file with the right key and another size would be a bug.
  if (width !== grid.width || height !== grid.height || data.length !== expected) return 'corrupt';
  const hu = new Int16Array(plane);
  new Uint8Array(hu.buffer).set(data.subarray(HEADER_BYTES, HEADER_BYTES + plane * 2));
  const bits = data.subarray(HEADER_BYTES + plane * 2, bodyEnd);
  const bodyMask = new Uint8Array(plane);
  for (let p = 0; p < plane; p++) bodyMask[p] = (bits[p >> 3] >> (p & 7)) & 1;
  return { hu, bodyMask };
}

/**
 * Write a sidecar: temp file, rename (a reader sees the old one or the new one whole). Not
 * fsynced: it is a cache, and one a crash damaged fails its checksum and is decoded again.
 */
export async function writeSidecar(spooledPath: string, data: Buffer): Promise<void> {
  const target = sidecarPathOf(spooledPath);
  // Not recursive: a study folder retention has just taken away is not made again for a cache.
  await mkdir(dirname(target)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const temporary = partialPathFor(target);
  try {
    await writeFile(temporary, data);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The precomputed working-grid slice of a spooled instance, or why there is none. Never throws. */
export async function readSidecar(job: SliceJob, grid: CanonicalGrid): Promise<GridSlice | Exclude<LookupOutcome, 'used'>> {
  if (job.source.kind !== 'file') return 'absent';
  const path = job.source.path;
  let data: Buffer;
  let identity: FileIdentity;
  try {
    data = await readFile(sidecarPathOf(path));
    identity = identityOf(await stat(path, { bigint: true }));
  } catch {
    return 'absent';
  }
  return decodeSidecar(data, sidecarKey(identity, job, grid), grid);
}
