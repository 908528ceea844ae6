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
import type { Job } from '../queue/job-queue.ts';
import { WRITE_BACK, type JobKind, type WriteBackPayload } from './jobs.ts';
import type { NodeMetrics } from './metrics.ts';

/** Results go where configured, else back to the PACS the node polls, else to the local folder. */
export function writeBackDestination(config: Config): Config['writeBack']['destination'] {
  return config.writeBack.destination ?? config.poll.source;
}

export function createWriteBack(config: Config, metrics: NodeMetrics): JobKind {
  const destination = writeBackDestination(config);

  async function handle(job: Job): Promise<unknown> {
    const payload = job.payload as WriteBackPayload;
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
