/**
 * The start-up sweep that closes the assembly's one gap: an instance acknowledged while the queue
 * database was away is queued by a background retry held in memory (assembly.ts); a process
 * killed before the database came back loses that retry. At the next start, study folders in the
 * spool written since the node's last heartbeat (which stops while the database is away) that
 * have no waiting or running analysis, no dead letter, and were not measured with that many
 * instances, are queued now (after the quiet period).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { scanPaths } from '../dicom/scan.ts';
import type { InstanceHeader } from '../dicom/types.ts';
import { countSpooled } from '../intake/spool.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { ANALYZE_STUDY, type AnalyzeStudyPayload } from './jobs.ts';

/** Folders changed this long before the last heartbeat are looked at too (clocks of a file server and the node differ). */
const CLOCK_MARGIN_MS = 10 * 60_000;

/** Study folders (not dot-files: temp and identity files) modified at or after `since`, with their mtime. */
async function recentStudyFolders(spoolDir: string, since: number): Promise<Array<{ uid: string; modifiedAt: number }>> {
  const entries = await readdir(spoolDir, { withFileTypes: true }).catch(() => []);
  const recent: Array<{ uid: string; modifiedAt: number }> = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const modifiedAt = (await stat(join(spoolDir, entry.name)).catch(() => null))?.mtimeMs ?? 0;
    if (modifiedAt >= since) recent.push({ uid: entry.name, modifiedAt });
  }
  return recent;
}

/** Whether any instance in the folder starts work (a CT image the node did not write: assembly's rule). */
async function holdsWork(folder: string, startsWork: (header: InstanceHeader) => boolean): Promise<boolean> {
  return (await scanPaths([folder])).headers.some((header) => startsWork(header));
}

/**
 * Queue the studies received but never queued; returns how many. `aliveAt`: the last heartbeat
 * (0: the node never ran); `startsWork`: the assembly's rule (own SEG/SR and non-CT start nothing).
 */
export async function queueUnqueuedStudies(queue: JobQueue, spoolDir: string, quietMs: number, aliveAt: number, startsWork: (header: InstanceHeader) => boolean): Promise<number> {
  if (aliveAt === 0) return 0;
  const dead = new Set((await queue.list('dead')).filter((j) => j.kind === ANALYZE_STUDY).map((j) => j.key));
  let queued = 0;
  for (const { uid, modifiedAt } of await recentStudyFolders(spoolDir, aliveAt - CLOCK_MARGIN_MS)) {
    if (dead.has(uid) || (await queue.active(ANALYZE_STUDY, uid))) continue;
    const instanceCount = await countSpooled(spoolDir, uid);
    const last = await queue.lastDone<AnalyzeStudyPayload>(ANALYZE_STUDY, uid);
    if (instanceCount === 0 || last?.payload.instanceCount === instanceCount) continue;
    if (!(await holdsWork(join(spoolDir, uid), startsWork))) continue;
    await queue.enqueue<AnalyzeStudyPayload>(ANALYZE_STUDY, uid, { studyInstanceUid: uid, instanceCount, lastArrivalAt: modifiedAt }, { runAt: Date.now() + quietMs });
    queued += 1;
  }
  return queued;
}
