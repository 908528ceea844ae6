/** A decoding worker thread: decodes the slices it is sent, one at a time, and answers with their HU. */
import { parentPort } from 'node:worker_threads';
import { CtMuscleError } from '../errors.ts';
import { decodeSliceHu, type SliceJob } from './volume.ts';

export type DecodeReply = { hu: Int16Array } | { error: { code: string | null; message: string; details?: Record<string, unknown> } };

let scratch = new Int32Array(0);

parentPort!.on('message', (job: SliceJob) => {
  const voxels = job.rows * job.columns;
  if (scratch.length !== voxels) scratch = new Int32Array(voxels);
  const hu = new Int16Array(voxels);
  decodeSliceHu(job, scratch, hu, 0).then(
    () => parentPort!.postMessage({ hu } satisfies DecodeReply, [hu.buffer]),
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
});
