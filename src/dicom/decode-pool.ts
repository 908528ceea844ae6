/**
 * A compressed series' slices decoded on worker threads (JPEG 2000, JPEG-LS, … cost tens of
 * milliseconds a slice in WebAssembly, on one core): a bounded pool; each worker decodes one
 * slice at a time with the next one waiting in it (JOBS_PER_WORKER). Workers start on first use, keep the process alive only while they work, and stop after
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
import { NATIVE_WORKER_LANES, type SliceDecoder, type SliceJob } from './volume.ts';

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

/**
 * Jobs a worker holds at once: the one it decodes and the next, queued in the worker. With one,
 * a worker sat idle from its answer until the main thread, busy decoding a slice of its own or
 * filing one, got round to sending the next (measured: 2.4 ms a slice on the worker against
 * 1.7 ms on the busier main thread).
 */
export const JOBS_PER_WORKER = 2;

/** A started worker and the jobs it holds, in the order it answers them. */
interface Slot {
  worker: Worker;
  held: Pending[];
}

export class DecodePool implements SliceDecoder {
  readonly depth = JOBS_PER_WORKER;
  private readonly queue: Pending[] = [];
  /** Started workers. */
  private readonly slots: Slot[] = [];
  /** Workers loading their modules (~0.3 s in plain Node, over 1 s under tsx); they take jobs once ready. */
  private readonly loading = new Set<Worker>();
  private readonly startWaiters: Array<(started: boolean) => void> = [];
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(readonly size: number) {}

  decode(job: SliceJob): Promise<Int16Array> {
    return new Promise<Int16Array>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  /**
   * Start up to `count` workers (at most `size`) and resolve true once one is ready to take a job
   * at once; false when none could start. For a caller that decodes on its own thread meanwhile
   * (the wait alone does not keep the process alive).
   */
  whenStarted(count = this.size): Promise<boolean> {
    if (this.slots.length > 0) return Promise.resolve(true);
    const started = new Promise<boolean>((resolve) => this.startWaiters.push(resolve));
    while (this.loading.size < Math.min(count, this.size)) this.spawn();
    this.holdProcess();
    return started;
  }

  /** Queued jobs to the least busy workers (up to JOBS_PER_WORKER each); more workers while jobs wait. */
  private pump(): void {
    clearTimeout(this.idleTimer);
    while (this.queue.length > 0) {
      const slot = this.slots.reduce<Slot | undefined>((best, s) => (s.held.length < JOBS_PER_WORKER && (!best || s.held.length < best.held.length) ? s : best), undefined);
      if (!slot) break;
      this.send(slot, this.queue.shift()!);
    }
    while (this.queue.length > this.loading.size * JOBS_PER_WORKER && this.slots.length + this.loading.size < this.size) this.spawn();
    this.holdProcess();
    const busy = this.slots.some((s) => s.held.length > 0);
    if (!busy && this.loading.size === 0 && this.slots.length > 0) this.idleTimer = setTimeout(() => void this.close(), IDLE_STOP_MS).unref();
  }

  /** Loading workers keep the process alive only while a slice waits for them (`whenStarted` alone does not). */
  private holdProcess(): void {
    const needed = this.queue.length > 0;
    for (const worker of this.loading) {
      if (needed) worker.ref();
      else worker.unref();
    }
  }

  /** A new worker; it takes jobs when its first message (ready) comes. */
  private spawn(): void {
    const worker = new Worker(workerEntrySource(import.meta.url, 'decode-worker'), { eval: true });
    this.loading.add(worker);
    const started = (ok: boolean) => {
      worker.off('message', onReady).off('error', onError).off('exit', onExit);
      this.loading.delete(worker);
      if (ok) this.attach(worker);
      const anyStarted = this.slots.length > 0;
      if (anyStarted || this.loading.size === 0) for (const resolve of this.startWaiters.splice(0)) resolve(anyStarted);
      this.pump();
    };
    const onReady = () => started(true);
    // A worker that cannot start fails the first waiting slice, as it would have failed at work.
    const onError = (error: Error) => {
      void worker.terminate();
      const pending = this.queue.shift();
      pending?.reject(new CtMuscleError('E_DECODE_FAILED', `${pending.job.sopInstanceUid}: the decoding worker failed: ${error.message}`));
      started(false);
    };
    const onExit = (code: number) => {
      const pending = this.queue.shift();
      pending?.reject(new CtMuscleError('E_DECODE_FAILED', `${pending.job.sopInstanceUid}: the decoding worker stopped (exit code ${code}).`));
      started(false);
    };
    worker.once('message', onReady).once('error', onError).once('exit', onExit);
  }

  /** A ready worker's slot: it answers its jobs in order; one that dies fails every job it held and is not reused. */
  private attach(worker: Worker): void {
    const slot: Slot = { worker, held: [] };
    this.slots.push(slot);
    worker.unref();
    const drop = (why: string) => {
      const at = this.slots.indexOf(slot);
      if (at < 0) return;
      this.slots.splice(at, 1);
      void worker.terminate();
      for (const pending of slot.held.splice(0)) pending.reject(new CtMuscleError('E_DECODE_FAILED', `${pending.job.sopInstanceUid}: the decoding worker ${why}`));
      this.pump();
    };
    worker.on('message', (reply: DecodeReply) => {
      const pending = slot.held.shift();
      if (slot.held.length === 0) worker.unref();
      if (pending) {
        if ('hu' in reply) pending.resolve(reply.hu ?? writtenInPlace(pending.job));
        else pending.reject(errorOf(reply.error));
      }
      this.pump();
    });
    // A worker that dies (out of memory, a native crash) fails its slices.
    worker.on('error', (error: Error) => drop(`failed: ${error.message}`));
    worker.on('exit', (code: number) => drop(`stopped (exit code ${code}).`));
  }

  private send(slot: Slot, pending: Pending): void {
    slot.held.push(pending);
    slot.worker.ref();
    slot.worker.postMessage(pending.job);
  }

  /** Stop the workers that hold no job (those at work finish their slices first). */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const idle = this.slots.filter((s) => s.held.length === 0);
    for (const slot of idle) this.slots.splice(this.slots.indexOf(slot), 1);
    await Promise.all(idle.map((s) => s.worker.removeAllListeners().terminate()));
  }
}

let shared: DecodePool | undefined;

/** The process's pool of `workers` threads (0: one per core); none on a single core. */
function sharedPool(workers: number): DecodePool | undefined {
  const size = workers > 0 ? workers : availableParallelism();
  if (size < 2) return undefined;
  if (shared?.size !== size) {
    void shared?.close();
    shared = new DecodePool(size);
  }
  return shared;
}

/**
 * The process's decoding pool for a series, or none where decoding on the calling thread is as
 * fast: one slice, one worker configured (`decode.workers`; 0 = one per core), or native
 * (uncompressed) pixel data returned at full resolution (moving 0.5 MiB a slice between threads
 * costs what decoding it does). Native data put on the working grid by the workers (`ontoGrid`)
 * does use the pool: reading, rescaling and averaging then run on every core, and a quarter of
 * the bytes come back.
 */
export function decoderFor(instances: InstanceHeader[], workers = 0, ontoGrid = false): DecodePool | undefined {
  if (instances.length < 2) return undefined;
  if (!ontoGrid && instances.every((i) => NATIVE_SYNTAXES.has(i.transferSyntaxUid))) return undefined;
  return sharedPool(workers);
}

/**
 * Start loading the decoding workers a series' decoding will use beside this thread (as many as
 * an uncompressed series takes: `NATIVE_WORKER_LANES`, below the pool's size), for a caller about
 * to scan the headers first. A worker takes ~0.3 s to load (Node isolate, dcmjs), about what
 * scanning 300 headers takes on this thread: started together, the workers are ready when the
 * decoding starts instead of joining it late. It holds no process open; unused, they stop after a
 * while idle, as every idle worker does.
 */
export function warmDecodePool(workers = 0): void {
  const pool = sharedPool(workers);
  if (pool) void pool.whenStarted(Math.min(pool.size - 1, NATIVE_WORKER_LANES));
}
