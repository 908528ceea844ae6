/**
 * A compressed series' slices decoded on worker threads (JPEG 2000, JPEG-LS, … cost tens of
 * milliseconds a slice in WebAssembly, on one core): a bounded pool, one slice per worker at a
 * time. Workers start on first use, keep the process alive only while they work, and stop after
 * a while idle so a node between studies holds none. Output and errors are those of decoding on
 * the calling thread (`decodeSliceHu`): a typed error comes back with its code and message.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CtMuscleError, ERROR_CODES, type ErrorCode } from '../errors.ts';
import { workerEntrySource } from '../io/worker-source.ts';
import type { DecodeReply } from './decode-worker.ts';
import { NATIVE_SYNTAXES } from './transfer-syntax.ts';
import type { InstanceHeader } from './types.ts';
import type { SliceDecoder, SliceJob } from './volume.ts';

const IDLE_STOP_MS = 20_000;

interface Pending {
  job: SliceJob;
  resolve(hu: Int16Array): void;
  reject(error: unknown): void;
}

function errorOf(reply: Extract<DecodeReply, { error: unknown }>['error']): Error {
  if (reply.code !== null && reply.code in ERROR_CODES) return new CtMuscleError(reply.code as ErrorCode, reply.message, reply.details);
  return new Error(reply.message);
}

/** The grid slice a worker wrote into the job's shared memory. */
function writtenInPlace({ grid, gridInto }: SliceJob): Int16Array {
  if (!grid || !gridInto) throw new CtMuscleError('E_DECODE_FAILED', 'A decoding worker answered without pixels for a job that had nowhere to write them.');
  return new Int16Array(gridInto.buffer, gridInto.byteOffset, grid.width * grid.height);
}

export class DecodePool implements SliceDecoder {
  private readonly queue: Pending[] = [];
  private readonly idle: Worker[] = [];
  private running = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(readonly size: number) {}

  decode(job: SliceJob): Promise<Int16Array> {
    return new Promise<Int16Array>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    clearTimeout(this.idleTimer);
    while (this.queue.length > 0 && (this.idle.length > 0 || this.running < this.size)) {
      const worker = this.idle.pop() ?? new Worker(workerEntrySource(import.meta.url, 'decode-worker'), { eval: true });
      this.run(worker, this.queue.shift()!);
    }
    if (this.running === 0 && this.idle.length > 0) this.idleTimer = setTimeout(() => void this.close(), IDLE_STOP_MS).unref();
  }

  private run(worker: Worker, pending: Pending): void {
    this.running++;
    worker.ref();
    const settle = (alive: boolean) => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      this.running--;
      if (alive) {
        worker.unref();
        this.idle.push(worker);
      }
      this.pump();
    };
    const onMessage = (reply: DecodeReply) => {
      settle(true);
      if ('hu' in reply) pending.resolve(reply.hu ?? writtenInPlace(pending.job));
      else pending.reject(errorOf(reply.error));
    };
    // A worker that dies (out of memory, a native crash) fails its slice and is not reused.
    const onError = (error: Error) => {
      settle(false);
      void worker.terminate();
      pending.reject(new CtMuscleError('E_DECODE_FAILED', `${pending.job.sopInstanceUid}: the decoding worker failed: ${error.message}`));
    };
    const onExit = (code: number) => {
      settle(false);
      pending.reject(new CtMuscleError('E_DECODE_FAILED', `${pending.job.sopInstanceUid}: the decoding worker stopped (exit code ${code}).`));
    };
    worker.on('message', onMessage).once('error', onError).once('exit', onExit);
    worker.postMessage(pending.job);
  }

  /** Stop the idle workers (those at work finish their slice first). */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    await Promise.all(this.idle.splice(0).map((w) => w.terminate()));
  }
}

let shared: DecodePool | undefined;

/**
 * The process's decoding pool for a series, or none where decoding on the calling thread is as
 * fast: one slice, one worker configured (`decode.workers`; 0 = one per core), or native
 * (uncompressed) pixel data returned at full resolution (moving 0.5 MiB a slice between threads
 * costs what decoding it does). Native data put on the working grid by the workers (`ontoGrid`)
 * does use the pool: reading, rescaling and averaging then run on every core, and a quarter of
 * the bytes come back.
 */
export function decoderFor(instances: InstanceHeader[], workers = 0, ontoGrid = false): DecodePool | undefined {
  const size = workers > 0 ? workers : availableParallelism();
  if (size < 2 || instances.length < 2) return undefined;
  if (!ontoGrid && instances.every((i) => NATIVE_SYNTAXES.has(i.transferSyntaxUid))) return undefined;
  if (shared?.size !== size) {
    void shared?.close();
    shared = new DecodePool(size);
  }
  return shared;
}
