/** The configured queue engine, opened: SQLite (queue.path) or PostgreSQL (queue.url / CT_MUSCLE_QUEUE_URL). */
import type { Config } from '../config.ts';
import type { JobQueue } from './job-queue.ts';
import { queueUrl } from './queue-url.ts';
import { SqliteJobQueue } from './sqlite-queue.ts';

export type QueueConfig = Pick<Config, 'queue'>;

export async function openJobQueue(config: QueueConfig, options: { applicationName?: string } = {}): Promise<JobQueue> {
  const { queue } = config;
  const retry = { maxAttempts: queue.maxAttempts, baseDelayMs: queue.baseDelayMs, maxDelayMs: queue.maxDelayMs };
  const leaseMs = queue.leaseSeconds * 1000;
  if (queue.backend === 'sqlite') return new SqliteJobQueue(queue.path, { retry, leaseMs });
  // Loaded only when used: a node on SQLite does not pay for pg-boss at start-up.
  const { PostgresJobQueue } = await import('./postgres-queue.ts');
  return PostgresJobQueue.open({ url: queueUrl(queue.url), poolSize: queue.poolSize, retry, leaseMs, applicationName: options.applicationName });
}

/** Open the configured queue for one short task (a CLI command), and close it whatever happens. */
export async function withJobQueue<T>(config: QueueConfig, task: (queue: JobQueue) => Promise<T>): Promise<T> {
  const queue = await openJobQueue(config);
  try {
    return await task(queue);
  } finally {
    await queue.close();
  }
}
