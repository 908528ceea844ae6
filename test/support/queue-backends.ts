/**
 * The two queue engines as the shared queue suite (test/queue.test.ts) opens them: a fresh SQLite
 * file, or a fresh database on a throwaway PostgreSQL (test/support/postgres.ts), each time.
 */
import { join } from 'node:path';
import type { JobQueue, QueueOptions } from '../../src/queue/job-queue.ts';
import { PostgresJobQueue } from '../../src/queue/postgres-queue.ts';
import { SqliteJobQueue } from '../../src/queue/sqlite-queue.ts';
import { PostgresReviewStore, SqliteReviewStore, type ReviewStore } from '../../src/review/review-store.ts';
import { makeTempDir } from './env.ts';
import type { PostgresHandle } from './postgres.ts';

export interface QueueBackend {
  name: 'sqlite' | 'postgres';
  /** A new, empty queue database for the next test. */
  fresh(): Promise<void>;
  /** Open the current database (again: a second instance stands for a second process). */
  open(options?: QueueOptions): Promise<JobQueue>;
  reviews(queue: JobQueue): ReviewStore;
  /** Close what the last test left open (a failed test skips its own close; mocha would wait on it). */
  closeAll(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Remember every queue opened, so that closeAll can close those a failing test left open. */
function tracked(open: (options?: QueueOptions) => Promise<JobQueue>): Pick<QueueBackend, 'open' | 'closeAll'> {
  const opened: JobQueue[] = [];
  return {
    async open(options) {
      const queue = await open(options);
      opened.push(queue);
      return queue;
    },
    async closeAll() {
      await Promise.all(opened.splice(0).map((queue) => queue.close()));
    },
  };
}

export function sqliteBackend(): QueueBackend {
  const tmp = makeTempDir('ctmn-queue-');
  let path = '';
  let n = 0;
  return {
    name: 'sqlite',
    async fresh() {
      path = join(tmp.path, `jobs-${++n}.sqlite`);
    },
    // Each instance plays its own process: a distinct owner, alive (this process's pid) on another host name.
    ...tracked(async (options = {}) => new SqliteJobQueue(path, { ...options, owner: `instance-${++n}:${process.pid}` })),
    reviews: () => new SqliteReviewStore(path),
    async cleanup() {
      tmp.remove();
    },
  };
}

export function postgresBackend(server: () => PostgresHandle): QueueBackend {
  let url = '';
  let n = 0;
  return {
    name: 'postgres',
    async fresh() {
      url = await server().createDatabase(`queue_${process.pid}_${++n}`);
    },
    ...tracked((options = {}) => PostgresJobQueue.open({ url, poolSize: 4, maintenanceSeconds: 1, ...options })),
    reviews: (queue) => new PostgresReviewStore((queue as PostgresJobQueue).connection),
    async cleanup() {},
  };
}
