/**
 * The worker pool as a node part: one pool runs every job kind (analyze, write-back) under one
 * concurrency limit, so the limit holds across kinds as it always has.
 */
import type { Config } from '../config.ts';
import { isCtMuscleError } from '../errors.ts';
import { logger } from '../logging.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { startWorkers, type Workers } from '../queue/workers.ts';
import type { JobKind } from './jobs.ts';
import type { NodePart } from './part.ts';

export interface WorkerPool extends NodePart {
  /** Resolves when no job is running or due. */
  idle(): Promise<void>;
  /** A job was queued for `at` (ms) under `key`: look for it then, not only at the next poll. */
  wakeAt(at: number, key: string): void;
}

/**
 * `shared`: other processes use the same queue (serve --role intake/worker): this pool also takes
 * back the jobs of workers that died, since they may never start again to do it themselves.
 */
export function createWorkerPool(config: Config, queue: JobQueue, kinds: JobKind[], options: { shared?: boolean } = {}): WorkerPool {
  let workers: Workers | undefined;
  const byKind = new Map(kinds.map((k) => [k.kind, k]));
  return {
    name: 'workers',
    async start() {
      workers = startWorkers(queue, Object.fromEntries(kinds.map((k) => [k.kind, (job) => k.handle(job)])), {
        concurrency: config.queue.concurrency,
        pollIntervalMs: 500,
        leaseMs: config.queue.leaseSeconds * 1000,
        recoverExpired: options.shared === true,
        isRetryable: (error) => isCtMuscleError(error) && (error.details?.retryable === true || error.code === 'E_IO'),
        deadlineOf: (job) => byKind.get(job.kind)?.deadlineOf?.(job),
        onSettled: (job, outcome, ms) => logger.info('job settled', { id: job.id, kind: job.kind, outcome, ms }),
      });
    },
    async stop() {
      await workers?.stop();
    },
    idle: () => workers?.idle() ?? Promise.resolve(),
    wakeAt: (at, key) => workers?.wakeAt(at, key),
  };
}
