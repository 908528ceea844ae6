/**
 * The spool: every instance the node accepts is on disk, fsynced, before it is acknowledged, so
 * nothing accepted is lost by a crash. One file per SOP Instance UID under its study; a second
 * arrival of the same instance replaces the first atomically (write, fsync, rename).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
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

export async function spoolInstance(spoolDir: string, studyInstanceUid: string, sopInstanceUid: string, bytes: Uint8Array, keepExisting?: KeepExisting): Promise<string> {
  const target = spooledPath(spoolDir, studyInstanceUid, sopInstanceUid);
  let temporary: string | undefined;
  try {
    temporary = await writePartial(target, bytes);
    if (keepExisting && (await pathExists(target)) && (await keepExisting(target))) {
      await rm(temporary, { force: true });
      return target;
    }
    await commitPartial(temporary, target);
    return target;
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
