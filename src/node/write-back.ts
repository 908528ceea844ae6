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
import type { Job } from '../queue/job-queue.ts';
import { WRITE_BACK, type JobKind, type WriteBackPayload } from './jobs.ts';
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

/** `senderOf`: the calling AE title a study came from over DIMSE, if it did. */
export function createWriteBack(config: Config, metrics: NodeMetrics, senderOf: (studyInstanceUid: string) => string | undefined = () => undefined): JobKind {
  const routing = writeBackRouting(config);

  async function handle(job: Job): Promise<unknown> {
    const payload = job.payload as WriteBackPayload;
    const target = resolveWriteBackTarget(routing, senderOf(payload.studyInstanceUid));
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
