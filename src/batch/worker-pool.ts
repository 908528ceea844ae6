/**
 * Worker threads for a batch: each runs one study at a time (a study's volume and segmentation
 * use one core), so N workers use N cores. A worker that dies (out of memory, a native crash)
 * fails its study with E_WORKER_EXITED and is replaced; the others go on.
 */
import { Worker } from 'node:worker_threads';
import type { Config } from '../config.ts';
import { workerEntrySource } from '../io/worker-source.ts';
import { emptyRow } from './study-task.ts';
import type { BatchRow, StudyTask } from './types.ts';

interface Slot {
  worker: Worker;
  busy: boolean;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private closing = false;

  constructor(
    readonly size: number,
    private readonly config: Config,
  ) {
    for (let i = 0; i < size; i++) this.slots.push({ worker: this.spawn(), busy: false });
  }

  private spawn(): Worker {
    return new Worker(workerEntrySource(import.meta.url, 'study-worker'), { eval: true, workerData: { config: this.config } });
  }

  /** Run a study on a free worker (the caller never runs more tasks than `size` at once). */
  run(task: StudyTask): Promise<BatchRow> {
    const slot = this.slots.find((s) => !s.busy);
    if (!slot) return Promise.reject(new Error('WorkerPool.run: every worker is busy'));
    slot.busy = true;
    return new Promise<BatchRow>((resolve) => {
      const onMessage = (row: BatchRow) => {
        cleanup();
        resolve(row);
      };
      const onExit = (code: number) => {
        cleanup();
        if (!this.closing) slot.worker = this.spawn();
        resolve(this.failedRow(task, `The worker running the study stopped (exit code ${code}).`));
      };
      const onError = (error: Error) => {
        cleanup();
        void slot.worker.terminate();
        slot.worker = this.spawn();
        resolve(this.failedRow(task, `The worker running the study failed: ${error.message}`));
      };
      const cleanup = () => {
        slot.busy = false;
        slot.worker.off('message', onMessage).off('exit', onExit).off('error', onError);
      };
      slot.worker.on('message', onMessage).once('exit', onExit).once('error', onError);
      slot.worker.postMessage(task);
    });
  }

  private failedRow(task: StudyTask, message: string): BatchRow {
    return { ...emptyRow(task), status: 'E_WORKER_EXITED', message };
  }

  /** Stop every worker now (a study in progress is abandoned, not recorded). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
