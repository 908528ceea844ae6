/**
 * Retention: the spool and the output folder would otherwise only grow. What may go is decided
 * from the queue database alone, so a pass can be interrupted anywhere (kill -9) and simply run
 * again:
 * - a study's received instances (spool) go `retention.spoolDaysAfterWriteBack` days after its
 *   results were written back (the last write-back job done); a study that ended not measured
 *   with nothing to write back counts from its last analysis. Never while any job of the study
 *   is pending, running or dead-lettered (a person may still requeue it), never before.
 * - a study's output folder goes `retention.resultsDays` days after the same moment, under the
 *   same conditions (a write-back that has not succeeded still needs its files).
 * A folder is first renamed to `.deleting-<uid>` (atomic), then removed; a pass first finishes
 * any such leftover. If an instance arrived after the decision, the spool folder is put back.
 * The pass also watches free space and warns before intake would refuse.
 */
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { describeError } from '../errors.ts';
import { logger } from '../logging.ts';
import type { Job, JobQueue } from '../queue/job-queue.ts';
import { freeBytes } from '../io/durable-file.ts';
import { ANALYZE_STUDY, WRITE_BACK, type AnalyzeStudyResult } from './jobs.ts';
import { SIDECAR_FOLDER } from './grid-sidecar.ts';
import type { RetentionMetrics } from './metrics.ts';
import type { NodePart } from './part.ts';

const DAY_MS = 86_400_000;
const DELETING = '.deleting-';
const UID = /^[0-9]+(\.[0-9]+)*$/;

export interface RetentionSettings {
  spoolDaysAfterWriteBack: number | null;
  resultsDays: number | null;
}

/** When the node finished with each study (ms), for studies with nothing left to do. */
export function finishedStudies(jobs: readonly Job[]): Map<string, number> {
  const busy = new Set<string>();
  const finished = new Map<string, number>();
  for (const job of jobs) {
    if (job.kind !== ANALYZE_STUDY && job.kind !== WRITE_BACK) continue;
    if (job.state !== 'done') {
      busy.add(job.key);
      continue;
    }
    const result = job.result as AnalyzeStudyResult | null;
    // An analysis only finishes a study when nothing follows it: not measured and nothing written.
    const ends = job.kind === WRITE_BACK || (result?.outcome === 'not-measured' && !result.outputs?.sr);
    if (ends) finished.set(job.key, Math.max(finished.get(job.key) ?? 0, job.updatedAt));
  }
  // A later analysis that queued a write-back makes the study busy until that one is done.
  for (const job of jobs) {
    const result = job.result as AnalyzeStudyResult | null;
    if (job.kind === ANALYZE_STUDY && job.state === 'done' && job.updatedAt > (finished.get(job.key) ?? Infinity) && (result?.outcome === 'measured' || result?.outputs?.sr)) busy.add(job.key);
  }
  for (const key of busy) finished.delete(key);
  return finished;
}

/** Studies whose folder may go now: finished more than `days` ago. */
export function dueStudies(finished: Map<string, number>, days: number | null, now: number): string[] {
  if (days === null) return [];
  return [...finished].filter(([uid, at]) => UID.test(uid) && at <= now - days * DAY_MS).map(([uid]) => uid);
}

export interface RetentionReport {
  spoolDeleted: number;
  resultsDeleted: number;
  freedBytes: { spool: number; results: number };
  restored: number;
  leftoversFinished: number;
}

/**
 * The bytes under a folder and its newest file's time. The working-grid sidecars (made in the
 * background, possibly after the study's analysis) count as bytes but not as an arrival.
 */
async function folderBytes(dir: string): Promise<{ bytes: number; newest: number }> {
  let bytes = 0;
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = await folderBytes(path);
      bytes += inner.bytes;
      if (entry.name !== SIDECAR_FOLDER) newest = Math.max(newest, inner.newest);
    } else {
      const info = await stat(path);
      bytes += info.size;
      newest = Math.max(newest, info.mtimeMs);
    }
  }
  return { bytes, newest };
}

/** Remove `.deleting-*` folders a killed pass left behind. */
async function finishLeftovers(root: string): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return 0;
  }
  const leftovers = entries.filter((name) => name.startsWith(DELETING));
  for (const name of leftovers) await rm(join(root, name), { recursive: true, force: true });
  return leftovers.length;
}

/**
 * Delete one study folder (rename first, so a crash leaves either the folder or a leftover).
 * `arrivedAfter`: put it back if a file in it is newer (an instance arrived after the decision).
 */
async function deleteFolder(root: string, uid: string, arrivedAfter?: number): Promise<number | 'restored' | null> {
  const folder = join(root, uid);
  const doomed = join(root, `${DELETING}${uid}`);
  try {
    await rename(folder, doomed);
  } catch {
    return null; // already gone
  }
  const { bytes, newest } = await folderBytes(doomed);
  if (arrivedAfter !== undefined && newest > arrivedAfter) {
    await rename(doomed, folder);
    return 'restored';
  }
  await rm(doomed, { recursive: true, force: true });
  return bytes;
}

async function sweep(root: string, uids: string[], finished: Map<string, number>, checkArrivals: boolean): Promise<{ deleted: number; bytes: number; restored: number }> {
  const out = { deleted: 0, bytes: 0, restored: 0 };
  for (const uid of uids) {
    const outcome = await deleteFolder(root, uid, checkArrivals ? finished.get(uid) : undefined);
    if (outcome === 'restored') out.restored++;
    else if (outcome !== null) {
      out.deleted++;
      out.bytes += outcome;
    }
  }
  return out;
}

export async function applyRetention(options: { queue: JobQueue; spoolDir: string; outputDir: string; settings: RetentionSettings; now?: number }): Promise<RetentionReport> {
  const { queue, spoolDir, outputDir, settings } = options;
  const now = options.now ?? Date.now();
  const leftoversFinished = (await finishLeftovers(spoolDir)) + (await finishLeftovers(outputDir));
  const finished = finishedStudies(await queue.list());
  const spool = await sweep(spoolDir, dueStudies(finished, settings.spoolDaysAfterWriteBack, now), finished, true);
  const results = await sweep(outputDir, dueStudies(finished, settings.resultsDays, now), finished, false);
  return { spoolDeleted: spool.deleted, resultsDeleted: results.deleted, freedBytes: { spool: spool.bytes, results: results.bytes }, restored: spool.restored, leftoversFinished };
}

export interface RetentionPart extends NodePart {
  /** One pass now (also what the timer runs); one pass at a time. */
  runNow(): Promise<RetentionReport | null>;
}

function record(metrics: RetentionMetrics, report: RetentionReport): void {
  metrics.retentionRuns.inc({ result: 'ok' });
  metrics.retentionDeleted.inc({ what: 'spool' }, report.spoolDeleted);
  metrics.retentionDeleted.inc({ what: 'results' }, report.resultsDeleted);
  metrics.retentionBytes.inc({ what: 'spool' }, report.freedBytes.spool);
  metrics.retentionBytes.inc({ what: 'results' }, report.freedBytes.results);
}

/** Warn (once per crossing) when the spool's free space falls below health.warnFreeSpoolMb. */
function diskWatch(config: Config, metrics: RetentionMetrics): () => Promise<void> {
  let low = false;
  return async () => {
    const free = await freeBytes(config.spoolDir);
    metrics.spoolFreeBytes.set(free);
    const isLow = free < config.health.warnFreeSpoolMb * 1024 * 1024;
    if (isLow && !low) logger.warn('spool disk getting full', { freeMb: Math.floor(free / 1048576), warnFreeSpoolMb: config.health.warnFreeSpoolMb, notReadyBelowMb: config.health.minFreeSpoolMb });
    if (!isLow && low) logger.info('spool disk has room again', { freeMb: Math.floor(free / 1048576) });
    low = isLow;
  };
}

/** Retention as a node part: a pass every `retention.intervalMinutes` (and at start), one at a time. */
export function createRetention(options: { config: Config; queue: JobQueue; metrics: RetentionMetrics }): RetentionPart {
  const { config, queue, metrics } = options;
  const watchDisk = diskWatch(config, metrics);
  let running: Promise<RetentionReport | null> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const runNow = (): Promise<RetentionReport | null> => {
    running ??= (async () => {
      try {
        const report = await applyRetention({ queue, spoolDir: config.spoolDir, outputDir: config.output.dir, settings: config.retention });
        record(metrics, report);
        if (report.spoolDeleted + report.resultsDeleted + report.restored + report.leftoversFinished > 0) logger.info('retention pass', { ...report });
        await watchDisk();
        return report;
      } catch (error) {
        metrics.retentionRuns.inc({ result: 'failed' });
        logger.error('retention pass failed', describeError(error));
        return null;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  return {
    name: 'retention',
    runNow,
    async start() {
      void runNow();
      timer = setInterval(() => void runNow(), config.retention.intervalMinutes * 60_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
