/**
 * The status and review page (src/review) as a node part: its routes on the node's HTTP app, the
 * review records opened on start (a table in the job database) and closed on stop. Same
 * credentials as STOW-RS (config.server.credentials).
 */
import type { Express } from 'express';
import type { Config } from '../config.ts';
import { CtMuscleError } from '../errors.ts';
import { logger } from '../logging.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import type { PostgresJobQueue } from '../queue/postgres-queue.ts';
import { PostgresReviewStore, SqliteReviewStore, type ReviewStore } from '../review/review-store.ts';
import { createReviewRouter } from '../review/router.ts';
import { WRITE_BACK, type WriteBackPayload } from './jobs.ts';
import type { NodePart } from './part.ts';

export interface PageOptions {
  app: Express;
  config: Config;
  queue: JobQueue;
  /** Queue the study again, optionally on a chosen slice (server.ts requeueStudy: the `requeue --slice` path). */
  requeue(studyInstanceUid: string, sliceSopInstanceUid?: string): Promise<unknown>;
}

/** Queue files for write-back; a write-back still waiting for the study takes them too (one pending job per study). */
export async function queueWriteBack(queue: JobQueue, studyInstanceUid: string, files: WriteBackPayload['files']): Promise<void> {
  const waiting = (await queue.list('pending')).find((j) => j.kind === WRITE_BACK && j.key === studyInstanceUid)?.payload as WriteBackPayload | undefined;
  const merged = [...(waiting?.files ?? []).filter((f) => !files.some((n) => n.sopInstanceUid === f.sopInstanceUid)), ...files];
  await queue.enqueue<WriteBackPayload>(WRITE_BACK, studyInstanceUid, { studyInstanceUid, files: merged });
}

export function createPage({ app, config, queue, requeue }: PageOptions): NodePart {
  let store: ReviewStore | undefined;
  const open = (): ReviewStore => {
    if (!store) throw new CtMuscleError('E_IO', 'The review records are not open (the node is not running).');
    return store;
  };
  // The router is mounted now (routes before the listener starts); the records open on start.
  const reviews: ReviewStore = {
    record: (entry) => open().record(entry),
    forStudy: (uid) => open().forStudy(uid),
    latestByStudy: () => open().latestByStudy(),
    close: () => open().close(),
  };
  app.use(
    createReviewRouter({
      jobStore: queue,
      reviews,
      config: { ...config.review, credentials: config.server.credentials, spoolDir: config.spoolDir, secureCookies: config.server.publicBaseUrl?.startsWith('https:') },
      outputsDir: config.output.dir,
      requeue,
      writeBack: (studyInstanceUid, files) => queueWriteBack(queue, studyInstanceUid, files),
      logger,
    }),
  );
  return {
    name: 'page',
    async start() {
      // Beside the jobs, in the queue's database: every process of the node sees the same reviews.
      store = queue.backend === 'postgres' ? new PostgresReviewStore((queue as PostgresJobQueue).connection) : new SqliteReviewStore(config.queue.path);
    },
    async stop() {
      await store?.close();
      store = undefined;
    },
  };
}
