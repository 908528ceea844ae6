/**
 * Intake over DICOM: the storage SCP (src/dimse) as a node part, given the same `storeInstance`
 * as the STOW-RS intake (checks, spool, assembly). The calling AE of each stored instance is
 * kept per study in the queue's state table, for "results back to the sending AE".
 */
import type { Config } from '../config.ts';
import { createStorageScp, type StorageScp } from '../dimse/storage-scp.ts';
import { senderStateKey } from '../dimse/write-back-target.ts';
import type { StoreInstance } from '../intake/store-instance.ts';
import { logger } from '../logging.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import type { NodeMetrics } from './metrics.ts';

export interface DimseIntakeOptions {
  config: Config;
  storeInstance: StoreInstance;
  queue: JobQueue;
  metrics: NodeMetrics;
}

/** The calling AE title a study's instances came from over DIMSE (the latest one), if any. */
export function dimseSenderOf(queue: JobQueue): (studyInstanceUid: string) => Promise<string | undefined> {
  return (studyInstanceUid) => queue.getState(senderStateKey(studyInstanceUid));
}

/** The SCP part, or undefined when dimse.enabled is off. */
export function createDimseIntake({ config, storeInstance, queue, metrics }: DimseIntakeOptions): StorageScp | undefined {
  if (!config.dimse.enabled) return undefined;
  const rememberingSender: StoreInstance = async (instance, meta) => {
    const result = await storeInstance(instance, meta);
    if (result.status === 'stored' && meta.from) {
      const key = senderStateKey(result.studyInstanceUid);
      if ((await queue.getState(key)) !== meta.from) await queue.setState(key, meta.from);
    }
    return result;
  };
  return createStorageScp({
    config: { ...config.dimse, maxInstanceBytes: config.server.maxInstanceMb * 1024 * 1024, spoolDir: config.spoolDir },
    storeInstance: rememberingSender,
    logger,
    metrics: metrics.dimse,
  });
}
