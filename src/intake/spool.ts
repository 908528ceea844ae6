/**
 * The spool: every instance the node accepts is on disk, fsynced, before it is acknowledged, so
 * nothing accepted is lost by a crash. One file per SOP Instance UID under its study; a second
 * arrival of the same instance replaces the first atomically (write, fsync, rename).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CtMuscleError } from '../errors.ts';
import { uidPathSegment } from '../dicom/uid.ts';
import { commitPartial, ioError, pathExists, writePartial } from '../io/durable-file.ts';

export function spooledPath(spoolDir: string, studyInstanceUid: string, sopInstanceUid: string): string {
  return join(spoolDir, uidPathSegment(studyInstanceUid, 'StudyInstanceUID'), `${uidPathSegment(sopInstanceUid, 'SOPInstanceUID')}.dcm`);
}

/**
 * Decides, once the new copy is on disk beside it, whether the copy already spooled (same SOP
 * Instance UID) stays: true keeps it and drops the new one. Not called when there is none.
 */
export type KeepExisting = (existingPath: string) => Promise<boolean>;

/**
 * Which file a spooled path held when it was written: inode, size and modification time (none of
 * which a rename changes; a copy that replaces it is a new file, with a new inode). Whoever keeps
 * something derived from the bytes (the header parsed at intake) keeps this with it and uses it
 * only while `stat` still gives the same.
 */
export interface SpooledFile {
  /** Decimal, as `stat(…, { bigint: true })` gives them (64-bit inodes, nanoseconds; kept as text so the record stays JSON). */
  ino: string;
  size: string;
  mtimeNs: string;
}

/** A file's `SpooledFile` from its bigint stats. */
export function spooledFileOf(stats: { ino: bigint; size: bigint; mtimeNs: bigint }): SpooledFile {
  return { ino: String(stats.ino), size: String(stats.size), mtimeNs: String(stats.mtimeNs) };
}

export function sameSpooledFile(a: SpooledFile, b: SpooledFile): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

/** The instance's path in the spool, and the file written there; null when the copy already there was kept. */
export interface Spooled {
  path: string;
  written: SpooledFile | null;
}

/** The store of each target in progress: copies of one instance are spooled one after the other. */
const spooling = new Map<string, Promise<unknown>>();

/**
 * Spool one instance (fsynced, then renamed over any copy: durable when this resolves). Stores of
 * one SOP Instance UID queue behind each other, so a copy arriving while another is being stored
 * (two requests at once, or two parts of one) is compared with it as if it came later.
 */
export async function spoolInstance(spoolDir: string, studyInstanceUid: string, sopInstanceUid: string, bytes: Uint8Array, keepExisting?: KeepExisting): Promise<string> {
  return (await spoolInstanceFile(spoolDir, studyInstanceUid, sopInstanceUid, bytes, keepExisting)).path;
}

/** `spoolInstance`, telling which file it wrote. */
export async function spoolInstanceFile(spoolDir: string, studyInstanceUid: string, sopInstanceUid: string, bytes: Uint8Array, keepExisting?: KeepExisting): Promise<Spooled> {
  const target = spooledPath(spoolDir, studyInstanceUid, sopInstanceUid);
  const before = spooling.get(target);
  const run = async () => spoolOnce(target, sopInstanceUid, bytes, keepExisting);
  const current = before ? before.then(run, run) : run();
  spooling.set(target, current);
  try {
    return await current;
  } finally {
    if (spooling.get(target) === current) spooling.delete(target);
  }
}

async function spoolOnce(target: string, sopInstanceUid: string, bytes: Uint8Array, keepExisting?: KeepExisting): Promise<Spooled> {
  let temporary: string | undefined;
  try {
    temporary = await writePartial(target, bytes);
    if (keepExisting && (await pathExists(target)) && (await keepExisting(target))) {
      await rm(temporary, { force: true });
      return { path: target, written: null };
    }
    // Taken from the temporary file (its own unique name) before the rename: what is renamed is
    // exactly this file, whatever is renamed over it later.
    const written = spooledFileOf(await stat(temporary, { bigint: true }));
    await commitPartial(temporary, target);
    return { path: target, written };
  } catch (error) {
    if (temporary) await rm(temporary, { force: true });
    throw ioError(error, `Cannot store instance ${sopInstanceUid}`);
  }
}

/** The study's folder in the spool. */
export function spooledStudyDir(spoolDir: string, studyInstanceUid: string): string {
  return join(spoolDir, uidPathSegment(studyInstanceUid, 'StudyInstanceUID'));
}

/** How many instances of a study the spool holds (0 when it holds none): the assembly's completeness count. */
export async function countSpooled(spoolDir: string, studyInstanceUid: string): Promise<number> {
  try {
    return (await readdir(spooledStudyDir(spoolDir, studyInstanceUid))).filter((name) => name.endsWith('.dcm')).length;
  } catch {
    return 0;
  }
}

/** The file in the spool's root that names it (see spoolIdentity). */
export const SPOOL_ID_FILE = '.ct-muscle-node-spool';

/**
 * The spool's identity: a random id kept in a file at its root, made by whichever process uses
 * the spool first (exclusive create, so two processes starting together read the same id).
 * Processes of one deployment compare it with the id in the queue database: a worker whose
 * shared spool is not mounted (an empty local folder instead) is refused at start-up, instead of
 * failing every job with "no instance".
 */
export async function spoolIdentity(spoolDir: string): Promise<string> {
  const path = join(spoolDir, SPOOL_ID_FILE);
  await mkdir(spoolDir, { recursive: true });
  try {
    await writeFile(path, `${randomUUID()}\n`, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(error, 'Cannot write the spool identity file');
  }
  for (let attempt = 0; ; attempt += 1) {
    const id = (await readFile(path, 'utf8')).trim();
    // Another process created the file a moment ago and has not written the id yet.
    if (id.length > 0) return id;
    if (attempt >= 20) throw new CtMuscleError('E_IO', `The spool identity file ${path} is empty; remove it and start the node again.`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
