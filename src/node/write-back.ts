/**
 * The write-back job: the study's SEG/SR (and overlay) go by STOW-RS to the configured
 * destination, else back to the PACS the node polls, else they stay in the local output folder.
 * A PACS that is down is retried (retryable error) until the write-back deadline.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { stowInstances } from '../dicomweb/client/stow-client.ts';
import { isCtMuscleError } from '../errors.ts';
import type { Job, JobQueue } from '../queue/job-queue.ts';
import { ANALYZE_STUDY, WRITE_BACK, type JobKind, type WriteBackPayload } from './jobs.ts';
import type { NodeMetrics } from './metrics.ts';

/** Results go where configured, else back to the PACS the node polls, else to the local folder. */
export function writeBackDestination(config: Config): Config['writeBack']['destination'] {
  return config.writeBack.destination ?? config.poll.source;
}

/** How long a write-back waits past a newer analysis's due time before it looks again. */
const SUPERSEDE_GRACE_MS = 1000;

export function createWriteBack(config: Config, metrics: NodeMetrics, queue: JobQueue): JobKind {
  const destination = writeBackDestination(config);

  /**
   * A newer analysis of the study is waiting or running (more instances arrived): this result
   * may be superseded, so it waits for that analysis instead of going to the PACS. If the newer
   * one measures, its write-back replaces this waiting one (same key); if it changes nothing
   * ("unchanged"), this one goes out as it is.
   */
  function postponeIfSuperseded(job: Job, payload: WriteBackPayload): { outcome: 'waiting-for-newer-analysis' } | null {
    const newer = queue.active(ANALYZE_STUDY, payload.studyInstanceUid);
    if (!newer) return null;
    // A write-back already waiting holds a newer result than this one: it goes instead.
    const waiting = queue.list('pending').some((j) => j.kind === WRITE_BACK && j.key === job.key);
    if (!waiting) queue.enqueue<WriteBackPayload>(WRITE_BACK, job.key, payload, { runAt: Math.max(newer.nextRunAt, Date.now()) + SUPERSEDE_GRACE_MS });
    return { outcome: 'waiting-for-newer-analysis' };
  }

  async function handle(job: Job): Promise<unknown> {
    const payload = job.payload as WriteBackPayload;
    const waiting = postponeIfSuperseded(job, payload);
    if (waiting) return waiting;
    if (!destination) {
      metrics.writeBacks.inc({ destination: 'local', outcome: 'local' });
      return { destination: 'local', directory: join(config.output.dir, payload.studyInstanceUid) };
    }
    const instances = await Promise.all(payload.files.map(async (f) => ({ sopInstanceUid: f.sopInstanceUid, bytes: new Uint8Array(await readFile(f.path)) })));
    try {
      const outcome = await stowInstances({ url: destination.url, credentials: { bearerToken: destination.bearerToken, basic: destination.basic } }, instances, payload.studyInstanceUid);
      metrics.writeBacks.inc({ destination: destination.url, outcome: 'stored' });
      return { destination: destination.url, stored: outcome.stored };
    } catch (error) {
      metrics.writeBacks.inc({ destination: destination.url, outcome: isCtMuscleError(error) && error.details?.retryable ? 'retry' : 'rejected' });
      throw error;
    }
  }

  return {
    kind: WRITE_BACK,
    handle,
    deadlineOf: (job) => job.createdAt + config.writeBack.deadlineHours * 3_600_000,
  };
}
