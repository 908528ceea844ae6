/**
 * Workers: take due jobs from the queue, at most `concurrency` at a time, run the handler for the
 * job's kind, and record the outcome. A handler that throws a retryable error (the PACS is down,
 * a disk is full) is retried with backoff; anything else is dead-lettered with its reason.
 */
import { describeError } from '../errors.ts';
import { errorLogFields, logger } from '../logging.ts';
import type { Job, JobQueue } from './job-queue.ts';

export type JobHandler = (job: Job) => Promise<unknown>;

export interface WorkerOptions {
  concurrency: number;
  pollIntervalMs: number;
  leaseMs?: number;
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
}

export function startWorkers(queue: JobQueue, handlers: Record<string, JobHandler>, options: WorkerOptions): Workers {
  const kinds = Object.keys(handlers);
  const running = new Set<Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  async function run(job: Job): Promise<void> {
    const started = Date.now();
    try {
      const result = await handlers[job.kind](job);
      queue.complete(job.id, result ?? null);
      options.onSettled?.(job, 'done', Date.now() - started);
    } catch (error) {
      const described = describeError(error);
      const after = queue.fail(job.id, described, { retryable: options.isRetryable(error), deadline: options.deadlineOf?.(job) });
      const outcome = after.state === 'dead' ? 'dead' : 'retry';
      logger.warn('job failed', { id: job.id, kind: job.kind, attempt: job.attempts, outcome, ...errorLogFields(error) });
      options.onSettled?.(job, outcome, Date.now() - started);
    }
  }

  function pump(): void {
    if (stopped) return;
    while (running.size < options.concurrency) {
      const job = queue.claim(kinds, Date.now(), options.leaseMs);
      if (!job) break;
      const task = run(job).finally(() => {
        running.delete(task);
        pump();
      });
      running.add(task);
    }
  }

  function schedule(): void {
    if (stopped) return;
    pump();
    timer = setTimeout(schedule, options.pollIntervalMs);
  }
  schedule();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.allSettled([...running]);
    },
    async idle() {
      for (;;) {
        pump();
        if (running.size === 0) {
          const due = queue.list('pending').some((j) => j.nextRunAt <= Date.now() && kinds.includes(j.kind));
          if (!due) return;
        }
        await Promise.race([...running, new Promise((resolve) => setTimeout(resolve, options.pollIntervalMs))]);
      }
    },
  };
}
