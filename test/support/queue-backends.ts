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
  cleanup(): Promise<void>;
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
    open: async (options = {}) => new SqliteJobQueue(path, { ...options, owner: `instance-${++n}:${process.pid}` }),
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
    open: (options = {}) => PostgresJobQueue.open({ url, poolSize: 4, maintenanceSeconds: 1, ...options }),
    reviews: (queue) => new PostgresReviewStore((queue as PostgresJobQueue).connection),
    async cleanup() {},
  };
}
