/** A decoding worker thread: decodes the slices it is sent, one at a time, and answers with their HU (or their slice on the grid asked for). */
import { parentPort } from 'node:worker_threads';
import { CtMuscleError } from '../errors.ts';
import { DecodeLane, type SliceJob } from './volume.ts';

/** The HU (or grid slice) moved back; null when it was written into the job's shared memory (`gridInto`). */
export type DecodeReply = { hu: Int16Array | null } | { error: { code: string | null; message: string; details?: Record<string, unknown> } };

const lane = new DecodeLane();

/** One job at a time on the lane's buffers; the pool sends the next before this one is answered (JOBS_PER_WORKER). */
let previous: Promise<void> = Promise.resolve();

parentPort!.on('message', (job: SliceJob) => {
  const run = () => answer(job);
  // A job whose answer could not be sent does not stop the ones behind it.
  previous = previous.then(run, run);
});

function answer(job: SliceJob): Promise<void> {
  return lane.decode(job).then(
    (decoded) => {
      if (job.gridInto) return parentPort!.postMessage({ hu: null } satisfies DecodeReply);
      // The lane's array is reused for the next job: a copy is moved (not cloned) to the caller.
      const hu = decoded.slice();
      parentPort!.postMessage({ hu } satisfies DecodeReply, [hu.buffer]);
    },
    (error: unknown) => {
      const typed = error instanceof CtMuscleError;
      const message = error instanceof Error ? error.message : String(error);
      const reply = (details?: Record<string, unknown>) => parentPort!.postMessage({ error: { code: typed ? error.code : null, message, details } } satisfies DecodeReply);
      try {
        reply(typed ? error.details : undefined);
      } catch {
        // Details that cannot be cloned are left out; the code and message still say what failed.
        reply();
      }
    },
  );
}

// Loaded and listening: the pool hands this worker jobs from now on.
parentPort!.postMessage({ ready: true });
