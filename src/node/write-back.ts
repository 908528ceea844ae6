/**
 * The write-back job: the study's SEG/SR (and overlay) go to the AE that sent the study over
 * DIMSE (writeBack.toSendingAe, when known with returnTo), else to the configured destination (a
 * DICOMweb URL by STOW-RS or a DICOM AE by C-STORE), else back to the PACS the node polls, else
 * they stay in the local output folder. A PACS that is down is retried (retryable error) until
 * the write-back deadline; both clients judge every instance.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { stowInstances } from '../dicomweb/client/stow-client.ts';
import { cStoreInstances } from '../dimse/store-scu.ts';
import { describeTarget, resolveWriteBackTarget, type DicomWebDestination, type WriteBackRouting, type WriteBackTarget } from '../dimse/write-back-target.ts';
import { isCtMuscleError } from '../errors.ts';
import type { Job, JobQueue } from '../queue/job-queue.ts';
import { ANALYZE_STUDY, WRITE_BACK, type JobKind, type WriteBackPayload } from './jobs.ts';
import type { NodeMetrics } from './metrics.ts';

export function writeBackRouting(config: Config): WriteBackRouting {
  return {
    destination: config.writeBack.destination,
    pollSource: config.poll.source,
    toSendingAe: config.writeBack.toSendingAe === true,
    ownAeTitle: config.dimse.aeTitle,
    knownAes: config.dimse.callingAes,
  };
}

/** Where results go when the study's sender does not decide it (the default route). */
export function writeBackDestination(config: Config): WriteBackTarget {
  return resolveWriteBackTarget(writeBackRouting(config), undefined);
}

export { describeTarget };

async function stowFiles(destination: DicomWebDestination, payload: WriteBackPayload): Promise<string[]> {
  const instances = await Promise.all(payload.files.map(async (f) => ({ sopInstanceUid: f.sopInstanceUid, bytes: new Uint8Array(await readFile(f.path)) })));
  const credentials = { bearerToken: destination.bearerToken, basic: destination.basic };
  return (await stowInstances({ url: destination.url, credentials }, instances, payload.studyInstanceUid)).stored;
}

/** How long a write-back waits past a newer analysis's due time before it looks again. */
const SUPERSEDE_GRACE_MS = 1000;

/** `senderOf`: the calling AE title a study came from over DIMSE, if it did. */
export function createWriteBack(config: Config, metrics: NodeMetrics, queue: JobQueue, senderOf: (studyInstanceUid: string) => Promise<string | undefined> = async () => undefined): JobKind {
  const routing = writeBackRouting(config);

  /**
   * A newer analysis of the study is waiting or running (more instances arrived): this result
   * may be superseded, so it waits for that analysis instead of going to the PACS. If the newer
   * one measures, its write-back replaces this waiting one (same key); if it changes nothing
   * ("unchanged"), this one goes out as it is.
   */
  async function postponeIfSuperseded(job: Job, payload: WriteBackPayload): Promise<{ outcome: 'waiting-for-newer-analysis' } | null> {
    const newer = await queue.active(ANALYZE_STUDY, payload.studyInstanceUid);
    if (!newer) return null;
    // A write-back already waiting holds a newer result than this one: it goes instead.
    const waiting = (await queue.list('pending')).some((j) => j.kind === WRITE_BACK && j.key === job.key);
    if (!waiting) await queue.enqueue<WriteBackPayload>(WRITE_BACK, job.key, payload, { runAt: Math.max(newer.nextRunAt, Date.now()) + SUPERSEDE_GRACE_MS });
    return { outcome: 'waiting-for-newer-analysis' };
  }

  async function handle(job: Job): Promise<unknown> {
    const payload = job.payload as WriteBackPayload;
    const waiting = await postponeIfSuperseded(job, payload);
    if (waiting) return waiting;
    const target = resolveWriteBackTarget(routing, await senderOf(payload.studyInstanceUid));
    if (!target) {
      metrics.writeBacks.inc({ destination: 'local', outcome: 'local' });
      return { destination: 'local', directory: join(config.output.dir, payload.studyInstanceUid) };
    }
    try {
      const stored = target.kind === 'dimse' ? (await cStoreInstances(target.target, payload.files)).stored : await stowFiles(target.target, payload);
      metrics.writeBacks.inc({ destination: describeTarget(target), outcome: 'stored' });
      return { destination: describeTarget(target), stored };
    } catch (error) {
      metrics.writeBacks.inc({ destination: describeTarget(target), outcome: isCtMuscleError(error) && error.details?.retryable ? 'retry' : 'rejected' });
      throw error;
    }
  }

  return {
    kind: WRITE_BACK,
    handle,
    deadlineOf: (job) => job.createdAt + config.writeBack.deadlineHours * 3_600_000,
  };
}
