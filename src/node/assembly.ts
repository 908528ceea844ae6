/**
 * Study assembly: instances arrive one by one (STOW-RS, C-STORE) or a series at a time (the
 * poller); a study's analyze job is (re)scheduled to run once the study has been quiet for the
 * quiet period, with the instance count at that time, which the job re-checks before it runs.
 *
 * Time the node was down is not quiet time: a sender cannot deliver while the node is down, so
 * a study that was still arriving when the node died gets the rest of its quiet period after the
 * restart. The study's last arrival is in its job's payload and the node's last sign of life in
 * the queue database (a heartbeat), both durable.
 */
import type { InstanceHeader } from '../dicom/types.ts';
import { countSpooled } from '../intake/spool.ts';
import type { StoredInstance } from '../intake/store-instance.ts';
import { errorLogFields, logger } from '../logging.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { ANALYZE_STUDY, type AnalyzeStudyPayload } from './jobs.ts';
import { queueUnqueuedStudies } from './unqueued.ts';
import type { NodePart } from './part.ts';

export interface AssemblyOptions {
  queue: JobQueue;
  spoolDir: string;
  quietMs: number;
  /** Manufacturer of the node's own outputs: SEG/SR pushed back must not start a job (no loop). */
  ownManufacturer: string;
  /** How often the node records that it is alive (ms); 1 s by default. */
  heartbeatMs?: number;
  /** Told when a study's job is queued to run at `runAt` (ms): this process's workers wake then. */
  onScheduled?: (studyInstanceUid: string, runAt: number) => void;
}

export interface Assembly extends NodePart {
  /** An instance is in the spool: push its study's job back by the quiet period. */
  stored(instance: StoredInstance): Promise<void>;
  /** A study's chosen series is complete now (the poller fetched it): its job is due at once. */
  ready(studyInstanceUid: string, instanceCount: number): Promise<void>;
  /** Schedule the study again after the quiet period, with the count it has now. */
  reschedule(payload: AnalyzeStudyPayload): Promise<void>;
}

/** Key of the heartbeat in the queue's state table. */
export const ALIVE_AT = 'assembly.aliveAt';

/** Only CT images that the node did not write itself start a job: SEG/SR pushed back must not loop. */
export function startsWork(header: InstanceHeader, ownManufacturer: string): boolean {
  const own = (header.manufacturer ?? '').toLowerCase().startsWith(ownManufacturer.toLowerCase());
  return header.modality === 'CT' && header.hasPixelData && !own;
}

/**
 * At start-up: each waiting study whose quiet period had not run out while the node was last
 * alive gets what was left of it, counted from now. Returns how many were pushed back.
 */
export async function restoreQuietPeriods(queue: JobQueue, quietMs: number, now = Date.now()): Promise<number> {
  const aliveAt = Number((await queue.getState(ALIVE_AT)) ?? 0);
  let restored = 0;
  for (const job of await queue.list('pending')) {
    const payload = job.payload as AnalyzeStudyPayload;
    if (job.kind !== ANALYZE_STUDY || payload.lastArrivalAt === undefined) continue;
    const quietLeft = quietMs - Math.max(0, aliveAt - payload.lastArrivalAt);
    if (quietLeft <= 0 || now + quietLeft <= job.nextRunAt) continue;
    await queue.enqueue<AnalyzeStudyPayload>(ANALYZE_STUDY, job.key, payload, { runAt: now + quietLeft });
    restored += 1;
  }
  return restored;
}

/**
 * The study's job for an instance already acknowledged: when the queue database is away (a
 * PostgreSQL restart) the enqueue is tried again in the background, the newest payload per study,
 * until it is in or the assembly stops; the sender's answer does not wait for it.
 */
function durableEnqueue(enqueue: (payload: AnalyzeStudyPayload, runAt?: number) => Promise<void>) {
  const waiting = new Map<string, { payload: AnalyzeStudyPayload; runAt?: number }>();
  let stopped = false;
  const retry = (uid: string, delayMs: number) => {
    const timer = setTimeout(() => {
      const entry = waiting.get(uid);
      if (!entry || stopped) return;
      enqueue(entry.payload, entry.runAt).then(
        // A newer payload came in while this one was on its way: it goes next.
        () => (waiting.get(uid) === entry ? waiting.delete(uid) : retry(uid, 10)),
        () => retry(uid, Math.min(30_000, delayMs * 2)),
      );
    }, delayMs);
    timer.unref();
  };
  return {
    async add(payload: AnalyzeStudyPayload, runAt?: number): Promise<void> {
      const uid = payload.studyInstanceUid;
      // A retry is pending: it takes this newer payload with it.
      if (waiting.has(uid)) return void waiting.set(uid, { payload, runAt });
      try {
        await enqueue(payload, runAt);
      } catch (error) {
        waiting.set(uid, { payload, runAt });
        retry(uid, 1000);
        logger.warn('study not queued yet; trying again', { studyInstanceUid: uid, ...errorLogFields(error) });
      }
    },
    stop(): void {
      stopped = true;
      if (waiting.size > 0) logger.error('studies received but not queued (the queue database was unreachable); send them again or requeue', { count: waiting.size });
    },
  };
}

/**
 * A study's arrivals recorded one after the other, in the order they were stored: instances are
 * stored several at a time (one STOW request's parts), and two counts of the spool folder that
 * finished out of order would leave the job with the lower one (the worker would then find more
 * instances than it was told and wait a whole quiet period again). An arrival with another of its
 * study queued behind it records nothing: that one counts the folder later, this instance
 * included (it was spooled before it was handed on), so a burst costs one queue write, not one
 * each. Its instance is on disk either way, and start-up queues a study whose job is missing.
 */
function oneStudyAtATime(): (studyInstanceUid: string, record: () => Promise<void>) => Promise<void> {
  const studies = new Map<string, { tail: Promise<void>; queued: number }>();
  return async (studyInstanceUid, record) => {
    const study = studies.get(studyInstanceUid) ?? { tail: Promise.resolve(), queued: 0 };
    studies.set(studyInstanceUid, study);
    study.queued += 1;
    const turn = study.tail.then(async () => {
      study.queued -= 1;
      if (study.queued === 0) await record();
    });
    study.tail = turn.catch(() => undefined);
    try {
      await turn;
    } finally {
      if (study.queued === 0 && studies.get(studyInstanceUid) === study) studies.delete(studyInstanceUid);
    }
  };
}

export function createAssembly(options: AssemblyOptions): Assembly {
  const { queue, spoolDir, quietMs } = options;
  const enqueue = async (payload: AnalyzeStudyPayload, runAt?: number) => {
    await queue.enqueue<AnalyzeStudyPayload>(ANALYZE_STUDY, payload.studyInstanceUid, payload, runAt === undefined ? {} : { runAt });
    options.onScheduled?.(payload.studyInstanceUid, runAt ?? Date.now());
  };
  const arrivals = durableEnqueue(enqueue);
  const arrivalsInOrder = oneStudyAtATime();
  // A missed beat (the database restarting) only makes the next start-up's quiet periods longer.
  const beat = () => queue.setState(ALIVE_AT, String(Date.now())).catch((error: unknown) => logger.warn('cannot record the assembly heartbeat', errorLogFields(error)));
  let heartbeat: NodeJS.Timeout | undefined;
  return {
    name: 'assembly',
    async start() {
      const aliveAt = Number((await queue.getState(ALIVE_AT)) ?? 0);
      await restoreQuietPeriods(queue, quietMs);
      const unqueued = await queueUnqueuedStudies(queue, spoolDir, quietMs, aliveAt, (header) => startsWork(header, options.ownManufacturer));
      if (unqueued > 0) logger.warn('queued studies received while the queue database was away (their process had stopped before it returned)', { count: unqueued });
      await beat();
      heartbeat = setInterval(() => void beat(), options.heartbeatMs ?? 1000);
      heartbeat.unref();
    },
    async stop() {
      clearInterval(heartbeat);
      arrivals.stop();
      await beat();
    },
    async stored({ header }) {
      if (!startsWork(header, options.ownManufacturer)) return;
      const { studyInstanceUid } = header;
      await arrivalsInOrder(studyInstanceUid, async () => {
        const now = Date.now();
        await arrivals.add({ studyInstanceUid, instanceCount: await countSpooled(spoolDir, studyInstanceUid), lastArrivalAt: now }, now + quietMs);
      });
    },
    ready: (studyInstanceUid, instanceCount) => enqueue({ studyInstanceUid, instanceCount }),
    reschedule: (payload) => enqueue(payload, Date.now() + quietMs),
  };
}
