/**
 * Work while the study arrives: each CT instance the intake spools is decoded and put on the
 * level finder's working grid in the background, and kept beside it (grid-sidecar.ts), so that
 * when the quiet period ends the analysis files those slices instead of decoding them.
 *
 * It never holds up an acknowledgement: `arrived` only queues (bounded; beyond the bound an
 * instance is dropped and decoded by the analysis as before), at most `lanes` instances are
 * worked on at once, each on a thread of its own (arrival-worker.ts): the main thread, where the
 * receivers parse and check what arrives, only reads the file and writes the sidecar. A failure
 * only means "no precomputed slice" (debug log, counted): the analysis decodes that slice itself
 * and meets the same typed error a cold analysis would.
 *
 * Nor does it slow intake: a lane takes its next instance only once no instance has arrived for
 * `lullMs` (config decode.whileArrivingLullMs), so a study sent in one burst is received at full
 * speed and put on the grid in the quiet period that follows. Working alongside, even on a thread
 * of lower priority, slowed the node's STOW intake of a 20-instance study by 40–80 ms (~20 %) on
 * 2 cores (bench:node): reading each file again and the decoding thread's share of the CPU.
 */
import type { Counter } from 'prom-client';
import { Worker } from 'node:worker_threads';
import type { InstanceHeader, VolumeGeometry } from '../dicom/types.ts';
import { planVolume, sliceJobOf } from '../dicom/volume.ts';
import { describeError, isCtMuscleError } from '../errors.ts';
import { workerEntrySource } from '../io/worker-source.ts';
import { canonicalGrid, type CanonicalGrid } from '../level/canonical.ts';
import { logger } from '../logging.ts';
import type { GridSliceLookup } from '../pipeline/index.ts';
import type { StoredInstance } from '../intake/store-instance.ts';
import { startsWork } from './assembly.ts';
import type { GridReply, GridRequest } from './arrival-worker.ts';
import { decodeSidecar, encodeSidecar, readSidecar, readSpooled, sidecarKey, sidecarPathOf, writeSidecar, type GridSlice } from './grid-sidecar.ts';
import type { NodePart } from './part.ts';
import { readFile } from 'node:fs/promises';

/** Instances waiting at most; beyond it an arrival is dropped (the analysis decodes it). About 10 KB each. */
const MAX_WAITING = 4000;

export type MadeOutcome = 'made' | 'kept' | 'skipped' | 'failed' | 'dropped';

export interface ArrivalGridOptions {
  /** Instances worked on at once, one thread each (config decode.whileArriving); 0: none (every arrival is ignored). */
  lanes: number;
  ownManufacturer: string;
  made: Counter<'outcome'>;
  /** Config decode.levelGrid "half": JPEG 2000 instances put on the grid from half-resolution decodes, as the analysis then does. */
  fromHalfResolution?: boolean;
  /** Config decode.whileArrivingLullMs: milliseconds without an arrival before a lane takes the next instance; 0 (default): at once. */
  lullMs?: number;
}

export interface ArrivalGrid extends NodePart {
  /** An instance is in the spool: put it on its working grid when a lane is free. Never throws, never waits. */
  arrived(stored: StoredInstance): void;
  /** The study's analysis begins: its instances still waiting are dropped (the analysis decodes them itself, once). */
  analysisStarts(studyInstanceUid: string): void;
  /** Resolves once nothing is waiting or being worked on. */
  idle(): Promise<void>;
}

/** Only what the analysis could file: a CT image (not the node's own), one frame, with a position on a grid. */
function mayBePrecomputed(header: InstanceHeader, ownManufacturer: string): boolean {
  return startsWork(header, ownManufacturer) && header.numberOfFrames <= 1 && header.imagePositionPatient !== undefined && header.imageOrientationPatient !== undefined && header.pixelSpacing !== undefined;
}

const IDLE_STOP_MS = 20_000;

/** One lane's thread: started on first use, one instance at a time, stopped after a while idle (a node between studies holds none). */
class GridThread {
  busy = false;
  private worker: Worker | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  run(request: GridRequest, transfer: ArrayBuffer[]): Promise<GridSlice> {
    clearTimeout(this.idleTimer);
    this.busy = true;
    const worker = (this.worker ??= new Worker(workerEntrySource(import.meta.url, 'arrival-worker'), { eval: true }));
    worker.ref();
    return new Promise<GridSlice>((resolve, reject) => {
      const settle = () => {
        worker.off('message', onMessage).off('error', onFailure).off('exit', onFailure);
        worker.unref();
        this.busy = false;
        this.idleTimer = setTimeout(() => void this.stop(), IDLE_STOP_MS).unref();
      };
      const onMessage = (reply: GridReply) => {
        settle();
        if ('error' in reply) reject(new Error(reply.error));
        else resolve(reply);
      };
      // A thread that dies (out of memory, a native crash) fails its instance and is not reused.
      const onFailure = (error: Error | number) => {
        settle();
        if (this.worker === worker) this.worker = undefined;
        void worker.terminate();
        reject(error instanceof Error ? error : new Error(`the thread stopped (exit code ${error})`));
      };
      worker.on('message', onMessage).once('error', onFailure).once('exit', onFailure);
      worker.postMessage(request, transfer);
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}

/** Bytes a thread may be handed (transferred, not copied) without taking another view's memory with them. */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

/**
 * The grid of each geometry met lately: every instance of a series has the same, and making one
 * (and digesting it for the key) costs more than putting a slice on it.
 */
function gridCache(): (geometry: VolumeGeometry) => CanonicalGrid {
  const grids = new Map<string, CanonicalGrid>();
  return (geometry) => {
    const { rows, columns, rowCosine, columnCosine, normal, pixelSpacingMm } = geometry;
    const key = JSON.stringify([rows, columns, rowCosine, columnCosine, normal, pixelSpacingMm]);
    let grid = grids.get(key);
    if (!grid) {
      grid = canonicalGrid(geometry);
      if (grids.size >= 16) grids.delete(grids.keys().next().value!);
      grids.set(key, grid);
    }
    return grid;
  };
}

/** One spooled instance onto the grid a series of it alone would have; its sidecar written. */
async function putOnGrid(path: string, header: InstanceHeader, thread: GridThread, gridOf: (geometry: VolumeGeometry) => CanonicalGrid, fromHalfResolution: boolean): Promise<MadeOutcome> {
  let plan;
  let grid;
  try {
    plan = planVolume({ studyInstanceUid: header.studyInstanceUid, seriesInstanceUid: header.seriesInstanceUid, instances: [header] });
    grid = gridOf(plan.geometry);
  } catch (error) {
    // No working grid for it (not axial, no spacing): the level finder says why, later.
    if (isCtMuscleError(error)) return 'skipped';
    throw error;
  }
  const { bytes, identity } = await readSpooled(path);
  const job = sliceJobOf({ ...header, source: { kind: 'file', path } }, plan.geometry, fromHalfResolution);
  const key = sidecarKey(identity, job, grid);
  // The same bytes arrived again (a copy kept, or sent twice): the sidecar made for them stays.
  const existing = await readFile(sidecarPathOf(path)).catch(() => null);
  if (existing && typeof decodeSidecar(existing, key, grid) !== 'string') return 'kept';
  const owned = ownBuffer(bytes);
  const slice = await thread.run({ job: { ...job, source: { kind: 'memory', bytes: owned, label: path } }, geometry: plan.geometry }, [owned.buffer as ArrayBuffer]);
  await writeSidecar(path, encodeSidecar(key, grid, slice));
  return 'made';
}

/**
 * Whether instances are still arriving: the last one came less than `lullMs` ago. While they are,
 * `resume` is called once they pause (one timer at a time).
 */
function lullGate(lullMs: number, resume: () => void): { arrived(): void; stillArriving(): boolean; stop(): void } {
  let lastArrivalAt = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  return {
    arrived: () => void (lastArrivalAt = performance.now()),
    stillArriving() {
      const wait = lastArrivalAt + lullMs - performance.now();
      if (wait <= 0) return false;
      timer ??= setTimeout(() => {
        timer = undefined;
        resume();
      }, Math.ceil(wait));
      return true;
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

export function createArrivalGrid(options: ArrivalGridOptions): ArrivalGrid {
  const { lanes, ownManufacturer, made, lullMs = 0 } = options;
  const threads = Array.from({ length: lanes }, () => new GridThread());
  // One entry per spooled file: a copy arriving again while waiting is worked on once, as it is then.
  const waiting = new Map<string, InstanceHeader>();
  let active = 0;
  let stopped = false;
  let settled: Array<() => void> = [];
  const gridOf = gridCache();
  const lull = lullGate(lullMs, () => pump());

  const settle = () => {
    if (active > 0 || waiting.size > 0) return;
    for (const resolve of settled.splice(0)) resolve();
  };

  async function work(path: string, header: InstanceHeader): Promise<void> {
    let outcome: MadeOutcome;
    try {
      outcome = await putOnGrid(path, header, threads.find((t) => !t.busy)!, gridOf, options.fromHalfResolution === true);
    } catch (error) {
      outcome = 'failed';
      logger.debug('instance not put on the working grid while arriving; the analysis decodes it', { sopInstanceUid: header.sopInstanceUid, ...describeError(error) });
    }
    made.inc({ outcome });
  }

  function pump(): void {
    if (!stopped && active < lanes && waiting.size > 0 && lull.stillArriving()) return;
    while (!stopped && active < lanes && waiting.size > 0) {
      const [path, header] = waiting.entries().next().value!;
      waiting.delete(path);
      active++;
      // A lane yields between instances, so receivers' callbacks run in between.
      void work(path, header).finally(() => {
        active--;
        setImmediate(pump);
        settle();
      });
    }
    settle();
  }

  return {
    name: 'arrival-grid',
    arrived({ header, path }) {
      if (stopped || lanes === 0) return;
      // Any instance received means the receivers are busy, whether or not it is put on a grid.
      lull.arrived();
      if (!mayBePrecomputed(header, ownManufacturer)) return;
      if (waiting.size >= MAX_WAITING && !waiting.has(path)) {
        made.inc({ outcome: 'dropped' });
        return;
      }
      waiting.delete(path);
      waiting.set(path, header);
      setImmediate(pump);
    },
    analysisStarts(studyInstanceUid) {
      let dropped = 0;
      for (const [path, header] of waiting) {
        if (header.studyInstanceUid !== studyInstanceUid) continue;
        waiting.delete(path);
        dropped++;
      }
      if (dropped > 0) made.inc({ outcome: 'dropped' }, dropped);
      settle();
    },
    idle() {
      if (active === 0 && waiting.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => settled.push(resolve));
    },
    async start() {
      stopped = false;
    },
    async stop() {
      stopped = true;
      lull.stop();
      if (waiting.size > 0) made.inc({ outcome: 'dropped' }, waiting.size);
      waiting.clear();
      await this.idle();
      settled = [];
      await Promise.all(threads.map((t) => t.stop()));
    },
  };
}

/** The pipeline's lookup of precomputed slices (any process sharing the spool made them), counted by outcome. */
export function sidecarLookup(lookedUp: Counter<'outcome'>): GridSliceLookup {
  return async (job, grid, into) => {
    const found = await readSidecar(job, grid, into);
    if (typeof found !== 'string') {
      lookedUp.inc({ outcome: 'used' });
      return found;
    }
    lookedUp.inc({ outcome: found });
    if (found === 'corrupt') logger.debug('a precomputed working-grid slice is damaged; decoding the instance', { sopInstanceUid: job.sopInstanceUid });
    return null;
  };
}
