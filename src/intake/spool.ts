/**
 * The spool: every instance the node accepts is on disk, fsynced, before it is acknowledged, so
 * nothing accepted is lost by a crash. One file per SOP Instance UID under its study; a second
 * arrival of the same instance replaces the first atomically (write, fsync, rename).
 */
import { access, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CtMuscleError } from '../errors.ts';
import { uidPathSegment } from '../dicom/uid.ts';

export function spooledPath(spoolDir: string, studyInstanceUid: string, sopInstanceUid: string): string {
  return join(spoolDir, uidPathSegment(studyInstanceUid, 'StudyInstanceUID'), `${uidPathSegment(sopInstanceUid, 'SOPInstanceUID')}.dcm`);
}

/**
 * Decides, once the new copy is on disk beside it, whether the copy already spooled (same SOP
 * Instance UID) stays: true keeps it and drops the new one. Not called when there is none.
 */
export type KeepExisting = (existingPath: string) => Promise<boolean>;

export async function spoolInstance(spoolDir: string, studyInstanceUid: string, sopInstanceUid: string, bytes: Uint8Array, keepExisting?: KeepExisting): Promise<string> {
  const target = spooledPath(spoolDir, studyInstanceUid, sopInstanceUid);
  const directory = join(spoolDir, studyInstanceUid);
  const temporary = join(directory, `.${sopInstanceUid}.${randomUUID()}.partial`);
  try {
    await mkdir(directory, { recursive: true });
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (keepExisting && (await exists(target)) && (await keepExisting(target))) {
      await rm(temporary, { force: true });
      return target;
    }
    await rename(temporary, target);
    // The rename is durable only once the directory entry is.
    const dir = await open(directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return target;
  } catch (error) {
    await rm(temporary, { force: true });
    if (error instanceof CtMuscleError) throw error;
    throw new CtMuscleError('E_IO', `Cannot store instance ${sopInstanceUid}: ${(error as Error).message}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
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
