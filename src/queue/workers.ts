/**
 * Workers: take due jobs from the queue, at most `concurrency` at a time, run the handler for the
 * job's kind, and record the outcome. A handler that throws a retryable error (the PACS is down,
 * a disk is full) is retried with backoff; anything else is dead-lettered with its reason.
 * While a job runs its lease is renewed (every third of the lease), so only a worker that died
 * loses its jobs to another; a queue that cannot be reached (PostgreSQL restarting) is logged and
 * tried again at the next tick, never taken for a failure of the job.
 */
import { describeError } from '../errors.ts';
import { errorLogFields, logger } from '../logging.ts';
import { DEFAULT_LEASE_MS, type Job, type JobId, type JobQueue } from './job-queue.ts';

export type JobHandler = (job: Job) => Promise<unknown>;

export interface WorkerOptions {
  concurrency: number;
  pollIntervalMs: number;
  leaseMs?: number;
  /**
   * Take back jobs whose worker died (lease run out; on SQLite also a dead process of this
   * machine) before claiming, at most once a second: for processes sharing the queue (serve
   * --role), where a worker that dies may never start again to recover its own jobs.
   */
  recoverExpired?: boolean;
  /** Whether an error may succeed on a later attempt. */
  isRetryable: (error: unknown) => boolean;
  /** Latest time a job may still be retried (e.g. a write-back deadline); none by default. */
  deadlineOf?: (job: Job) => number | undefined;
  onSettled?: (job: Job, outcome: 'done' | 'retry' | 'dead', durationMs: number) => void;
}

export interface Workers {
  /** Stop taking jobs and wait for the running ones to finish. */
  stop(): Promise<void>;
  /** Resolve once no job is running and none is due (for tests and the demo). */
  idle(): Promise<void>;
  /**
   * Look for due jobs at `at` (ms) as well as at the next poll: a job this process queued for
   * then starts on time, not up to a poll interval late. One wake-up per `key` (the newest).
   */
  wakeAt(at: number, key: string): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Record what a job ended with; retried while the queue is unreachable (the outcome must not be lost). */
async function settle(queue: JobQueue, job: Job, record: () => Promise<void>, stopped: () => boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await record();
    } catch (error) {
      logger.warn('cannot record a job outcome yet', { id: job.id, kind: job.kind, attempt, ...errorLogFields(error) });
      // Given up only at stop: the lease then runs out and another worker runs the job again.
      if (stopped() && attempt >= 3) return;
      await sleep(Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)));
    }
  }
}

/** Taking back dead workers' jobs, at most once a second (a no-op when not enabled). */
function expiredRecovery(queue: JobQueue, enabled: boolean): () => Promise<void> {
  let recoveredAt = 0;
  return async () => {
    if (!enabled || Date.now() - recoveredAt < 1000) return;
    recoveredAt = Date.now();
    const recovered = await queue.recover();
    if (recovered > 0) logger.warn('took back jobs whose worker stopped renewing its lease', { count: recovered });
  };
}

/** Renews the leases of the running jobs every third of the lease (at least every second). */
function leaseRenewer(queue: JobQueue, running: Map<JobId, unknown>, leaseMs: number): NodeJS.Timeout {
  const renewer = setInterval(() => {
    if (running.size > 0) queue.renew([...running.keys()], leaseMs).catch((error: unknown) => logger.warn('cannot renew job leases', errorLogFields(error)));
  }, Math.max(1000, Math.floor(leaseMs / 3)));
  renewer.unref();
  return renewer;
}

export function startWorkers(queue: JobQueue, handlers: Record<string, JobHandler>, options: WorkerOptions): Workers {
  const kinds = Object.keys(handlers);
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const running = new Map<JobId, Promise<void>>();
  let stopped = false;
  let pumping: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const renewer = leaseRenewer(queue, running, leaseMs);

  async function run(job: Job): Promise<void> {
    const started = Date.now();
    try {
      const result = await handlers[job.kind](job);
      await settle(queue, job, () => queue.complete(job.id, result ?? null), () => stopped);
      options.onSettled?.(job, 'done', Date.now() - started);
    } catch (error) {
      const described = describeError(error);
      let outcome: 'retry' | 'dead' = 'retry';
      await settle(queue, job, async () => {
        const after = await queue.fail(job.id, described, { retryable: options.isRetryable(error), deadline: options.deadlineOf?.(job) });
        outcome = after.state === 'dead' ? 'dead' : 'retry';
      }, () => stopped);
      logger.warn('job failed', { id: job.id, kind: job.kind, attempt: job.attempts, outcome, ...errorLogFields(error) });
      options.onSettled?.(job, outcome, Date.now() - started);
    }
  }

  const recoverExpired = expiredRecovery(queue, options.recoverExpired === true);

  async function fill(): Promise<void> {
    await recoverExpired();
    while (!stopped && running.size < options.concurrency) {
      // The queue's own clock decides what is due (one clock for every machine on PostgreSQL).
      const job = await queue.claim(kinds, undefined, leaseMs);
      // Claimed even as stop() began: it runs (stop waits for it) rather than sit on its lease.
      if (!job) break;
      const task = run(job).finally(() => {
        running.delete(job.id);
        void pump();
      });
      running.set(job.id, task);
    }
  }

  /** One claim loop at a time: two would race for the same free slots. */
  function pump(): Promise<void> {
    pumping ??= fill()
      .catch((error: unknown) => {
        logger.warn('cannot take jobs from the queue', errorLogFields(error));
      })
      .finally(() => {
        pumping = undefined;
      });
    return pumping;
  }

  function schedule(): void {
    if (stopped) return;
    void pump().finally(() => {
      if (!stopped) timer = setTimeout(schedule, options.pollIntervalMs);
    });
  }
  schedule();
  const wakeUps = wakeUpTimers(() => void pump());

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      wakeUps.clear();
      clearInterval(renewer);
      await pumping;
      await Promise.allSettled([...running.values()]);
    },
    async idle() {
      for (;;) {
        await pump();
        if (running.size === 0) {
          const due = (await queue.list('pending')).some((j) => j.nextRunAt <= Date.now() && kinds.includes(j.kind));
          if (!due) return;
        }
        await Promise.race([...running.values(), sleep(options.pollIntervalMs)]);
      }
    },
    wakeAt: (at, key) => {
      if (!stopped) wakeUps.set(at, key);
    },
  };
}

/** A few milliseconds past the due time: a job due at `at` is claimed by `now >= at`, never early. */
const WAKE_MARGIN_MS = 2;

/** One timer per key, replaced by a newer one (a study's job pushed back by each arrival). */
function wakeUpTimers(wake: () => void) {
  const timers = new Map<string, NodeJS.Timeout>();
  return {
    set(at: number, key: string): void {
      clearTimeout(timers.get(key));
      const timer = setTimeout(() => {
        timers.delete(key);
        wake();
      }, Math.max(0, at - Date.now()) + WAKE_MARGIN_MS);
      timer.unref();
      timers.set(key, timer);
    },
    clear(): void {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
