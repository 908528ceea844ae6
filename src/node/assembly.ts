/**
 * Study assembly: instances arrive one by one (STOW-RS, C-STORE) or a series at a time (the
 * poller); a study's analyze job is (re)scheduled to run once the study has been quiet for the
 * quiet period, with the instance count at that time, which the job re-checks before it runs.
 */
import type { InstanceHeader } from '../dicom/types.ts';
import { countSpooled } from '../intake/spool.ts';
import type { StoredInstance } from '../intake/store-instance.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { ANALYZE_STUDY, type AnalyzeStudyPayload } from './jobs.ts';
import type { NodePart } from './part.ts';

export interface AssemblyOptions {
  queue: JobQueue;
  spoolDir: string;
  quietMs: number;
  /** Manufacturer of the node's own outputs: SEG/SR pushed back must not start a job (no loop). */
  ownManufacturer: string;
}

export interface Assembly extends NodePart {
  /** An instance is in the spool: push its study's job back by the quiet period. */
  stored(instance: StoredInstance): Promise<void>;
  /** A study's chosen series is complete now (the poller fetched it): its job is due at once. */
  ready(studyInstanceUid: string, instanceCount: number): void;
  /** Schedule the study again after the quiet period, with the count it has now. */
  reschedule(payload: AnalyzeStudyPayload): void;
}

/** Only CT images that the node did not write itself start a job: SEG/SR pushed back must not loop. */
export function startsWork(header: InstanceHeader, ownManufacturer: string): boolean {
  const own = (header.manufacturer ?? '').toLowerCase().startsWith(ownManufacturer.toLowerCase());
  return header.modality === 'CT' && header.hasPixelData && !own;
}

export function createAssembly(options: AssemblyOptions): Assembly {
  const { queue, spoolDir, quietMs } = options;
  const enqueue = (payload: AnalyzeStudyPayload, runAt?: number) => void queue.enqueue<AnalyzeStudyPayload>(ANALYZE_STUDY, payload.studyInstanceUid, payload, runAt === undefined ? {} : { runAt });
  return {
    name: 'assembly',
    start: async () => {},
    stop: async () => {},
    async stored({ header }) {
      if (!startsWork(header, options.ownManufacturer)) return;
      const { studyInstanceUid } = header;
      enqueue({ studyInstanceUid, instanceCount: await countSpooled(spoolDir, studyInstanceUid) }, Date.now() + quietMs);
    },
    ready: (studyInstanceUid, instanceCount) => enqueue({ studyInstanceUid, instanceCount }),
    reschedule: (payload) => enqueue(payload, Date.now() + quietMs),
  };
}
