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
 * A CRC-32 over the whole file catches a torn or damaged sidecar (the key, a SHA-256, already
 * binds what the slice was made from; the check only has to notice damage, and SHA-256 over every
 * sidecar was most of what filing a precomputed series cost). The folder goes with the
 * study's spool folder (retention), and the scan skips it (a hidden name).
 */
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { PADDING_HU } from '../dicom/hu.ts';
import type { SliceJob } from '../dicom/volume.ts';
import { partialPathFor } from '../io/durable-file.ts';
import type { CanonicalGrid } from '../level/canonical.ts';
import { BODY_HU } from '../level/stack.ts';
import { PACKAGE_VERSION } from '../model/index.ts';

/** Format version 3 (change it with the layout or the key): HU, then the body mask as bits, then a CRC-32. */
const MAGIC = Buffer.from('CTMNGRD3', 'latin1');
const DIGEST_BYTES = 32;
const CHECK_BYTES = 4;
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
    // Config decode.levelGrid: a slice made from a half-resolution decode is not the one a full decode makes.
    fromHalfResolution: job.fromHalfResolution === true,
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

/** A slice on the working grid with its body packed one bit a pixel (`packBodyMask`), as the stack files it. */
export interface GridSlice {
  hu: Int16Array;
  bodyBits: Uint8Array;
}

/** A sidecar's slice as read back: its body mask still packed (`packBodyMask`). */
export interface FiledGridSlice {
  hu: Int16Array;
  bodyMask: { bits: Uint8Array };
}

const packedBytes = (plane: number) => Math.ceil(plane / 8);

/** The size of a whole sidecar for this grid. */
function sidecarBytes(grid: CanonicalGrid): number {
  const plane = grid.width * grid.height;
  return HEADER_BYTES + plane * 2 + packedBytes(plane) + CHECK_BYTES;
}

/** magic, key, width, height, HU (host order; the key names it), body mask (bits), then a CRC-32 of all before it. */
export function encodeSidecar(key: Buffer, grid: CanonicalGrid, slice: GridSlice): Buffer {
  const sizes = Buffer.alloc(8);
  sizes.writeUInt32LE(grid.width, 0);
  sizes.writeUInt32LE(grid.height, 4);
  const { hu } = slice;
  const body = Buffer.concat([MAGIC, key, sizes, Buffer.from(hu.buffer, hu.byteOffset, hu.byteLength), slice.bodyBits]);
  const check = Buffer.alloc(CHECK_BYTES);
  check.writeUInt32LE(crc32(body), 0);
  return Buffer.concat([body, check]);
}

/**
 * The sidecar's slice when it is whole and made for `key` on `grid`; otherwise why not. `into`
 * (grid-sized) receives the HU when given, and only then: nothing is written for a sidecar not used.
 */
export function decodeSidecar(data: Uint8Array, key: Buffer, grid: CanonicalGrid, into?: Int16Array): FiledGridSlice | 'stale' | 'corrupt' {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const plane = grid.width * grid.height;
  if (bytes.length < HEADER_BYTES + CHECK_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return 'corrupt';
  const bodyEnd = bytes.length - CHECK_BYTES;
  if (crc32(bytes.subarray(0, bodyEnd)) !== bytes.readUInt32LE(bodyEnd)) return 'corrupt';
  if (!bytes.subarray(MAGIC.length, MAGIC.length + DIGEST_BYTES).equals(key)) return 'stale';
  const width = bytes.readUInt32LE(MAGIC.length + DIGEST_BYTES);
  const height = bytes.readUInt32LE(MAGIC.length + DIGEST_BYTES + 4);
  // The key covers the grid; a whole file with the right key and another size would be a bug.
  if (width !== grid.width || height !== grid.height || bytes.length !== sidecarBytes(grid)) return 'corrupt';
  const hu = into?.length === plane ? into : new Int16Array(plane);
  new Uint8Array(hu.buffer, hu.byteOffset, hu.byteLength).set(bytes.subarray(HEADER_BYTES, HEADER_BYTES + plane * 2));
  // Packed as kept (the stack files the bits as they are); copied, as `data` may be a reused buffer.
  return { hu, bodyMask: { bits: new Uint8Array(bytes.subarray(HEADER_BYTES + plane * 2, bodyEnd)) } };
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

/** Read buffers of one sidecar size, reused: filing a series reads hundreds of them. */
const spareBuffers: Buffer[] = [];

/**
 * Up to `buffer.length` bytes of the file: one open, one read (a sidecar is read whole in one
 * call; one byte more than a whole one is asked for, so a longer file is seen as such).
 */
async function readInto(path: string, buffer: Buffer): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/** The precomputed working-grid slice of a spooled instance (its HU put `into` when given), or why there is none. Never throws. */
export async function readSidecar(job: SliceJob, grid: CanonicalGrid, into?: Int16Array): Promise<FiledGridSlice | Exclude<LookupOutcome, 'used'>> {
  if (job.source.kind !== 'file') return 'absent';
  const path = job.source.path;
  const size = sidecarBytes(grid) + 1;
  let buffer = spareBuffers.pop();
  if (buffer?.length !== size) buffer = Buffer.allocUnsafe(size);
  try {
    let data: Uint8Array;
    let identity: FileIdentity;
    try {
      data = await readInto(sidecarPathOf(path), buffer);
      identity = identityOf(await stat(path, { bigint: true }));
    } catch {
      return 'absent';
    }
    return decodeSidecar(data, sidecarKey(identity, job, grid), grid, into);
  } finally {
    if (spareBuffers.length < 16) spareBuffers.push(buffer);
  }
}
