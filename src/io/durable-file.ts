/**
 * Durable file writes for everything the node keeps (spooled instances, seg.dcm, sr.dcm,
 * result.json): written to a temp file beside the target, fsynced, renamed over it, and the
 * directory fsynced, so a crash or a full disk never leaves a truncated file under the real name.
 * Temp files end in `.partial`; whatever a killed process left is removed at start-up.
 */
import { randomUUID } from 'node:crypto';
import { access, mkdir, open, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CtMuscleError } from '../errors.ts';

/**
 * errno codes that say "not now" rather than "never": a full disk or quota, an I/O hiccup, too
 * many open files. A job failing with one is retried; it is not dead-lettered.
 */
const TRANSIENT_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ETIMEDOUT']);

export const PARTIAL_SUFFIX = '.partial';

/** A file-system failure as E_IO, retryable when its errno is transient (ENOSPC, EDQUOT, EIO…). */
export function ioError(error: unknown, what: string): CtMuscleError {
  if (error instanceof CtMuscleError) return error;
  const errno = (error as NodeJS.ErrnoException)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new CtMuscleError('E_IO', `${what}: ${message}`, { errno, retryable: errno !== undefined && TRANSIENT_ERRNOS.has(errno) });
}

/** Whether an error is a full disk or quota (the sender should come back later). */
export function isOutOfSpace(error: unknown): boolean {
  const errno = (error as { details?: { errno?: string }; code?: string })?.details?.errno ?? (error as NodeJS.ErrnoException)?.code;
  return errno === 'ENOSPC' || errno === 'EDQUOT';
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The temp file a durable write of `target` uses (same directory, so the rename is atomic). */
export function partialPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomUUID()}${PARTIAL_SUFFIX}`);
}

/** Write `data` to a fresh temp file beside `target` and fsync it; the caller renames (or drops) it. */
export async function writePartial(target: string, data: Uint8Array | string): Promise<string> {
  const temporary = partialPathFor(target);
  await mkdir(dirname(target), { recursive: true });
  try {
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return temporary;
}

/** Move a written temp file over its target, durably (the directory entry is fsynced too). */
export async function commitPartial(temporary: string, target: string): Promise<void> {
  try {
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dirname(target));
}

/** Write a whole file durably: temp file, fsync, rename. Errors are E_IO (retryable when transient). */
export async function writeFileDurably(target: string, data: Uint8Array | string): Promise<void> {
  try {
    await commitPartial(await writePartial(target, data), target);
  } catch (error) {
    throw ioError(error, `Cannot write ${basename(target)}`);
  }
}

/** Whether the file at `path` was last modified more than `ms` ago (false when it is gone). */
async function untouchedFor(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > ms;
  } catch {
    return false;
  }
}

/**
 * Remove every `.partial` file under `root` (left by a killed process); returns how many.
 * `olderThanMs`: only those not written to for that long, where other live processes share the
 * folder (serve --role) and may be writing theirs right now.
 */
export async function removePartials(root: string, options: { olderThanMs?: number } = {}): Promise<number> {
  let removed = 0;
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true, recursive: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(PARTIAL_SUFFIX)) continue;
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    if (options.olderThanMs !== undefined && !(await untouchedFor(path, options.olderThanMs))) continue;
    await rm(path, { force: true });
    removed += 1;
  }
  return removed;
}

/** Bytes free to an unprivileged writer on the file system holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const stats = await statfs(path);
  return Number(stats.bavail) * Number(stats.bsize);
}

/** Whether something exists at `path` (any error, not only ENOENT, reads as absent). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
