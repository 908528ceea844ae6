/**
 * A thread that puts spooled instances on the working grid (arrival-grid.ts): decode, resample
 * onto the grid of the series' geometry, find the body. Off the main thread, where the receivers
 * parse and check what arrives, and at a lower priority: their answers never wait behind a slice
 * being put on a grid.
 *
 * The priority is lowered before anything else is loaded: the thread starts (again, after 20 s
 * idle) with a study's instances, and loading the decoding modules is background work too.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import type { VolumeGeometry } from '../dicom/types.ts';
import type { SliceJob } from '../dicom/volume.ts';
import type { CanonicalGrid } from '../level/canonical.ts';

/** Niceness added to this thread's: it takes a core mostly when the receivers and the analysis leave one idle. */
const BACKGROUND_NICE = 10;

/**
 * Linux: lower this thread's priority alone (a thread is a task with an id of its own, which
 * /proc/thread-self names). Elsewhere, or when not allowed, it runs at the process's priority.
 */
function lowerOwnPriority(): void {
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(threadId) && threadId !== process.pid) setPriority(threadId, Math.min(19, getPriority(threadId) + BACKGROUND_NICE));
  } catch {
    // No /proc, or not permitted: nothing to do.
  }
}

lowerOwnPriority();

const [{ DecodeLane }, { describeError }, { canonicalGrid }, { BODY_HU }] = await Promise.all([
  import('../dicom/volume.ts'),
  import('../errors.ts'),
  import('../level/canonical.ts'),
  import('../level/stack.ts'),
]);

export interface GridRequest {
  job: SliceJob;
  geometry: VolumeGeometry;
}

/** The slice on the grid (moved) and its body packed one bit a pixel (shared memory). */
export type GridReply = { hu: Int16Array; bodyBits: Uint8Array } | { error: string };

// The grid of the last geometry: the instances of a series come one after another.
let last: { key: string; grid: CanonicalGrid } | undefined;

function gridOf(geometry: VolumeGeometry): CanonicalGrid {
  const key = JSON.stringify(geometry);
  if (last?.key !== key) last = { key, grid: canonicalGrid(geometry) };
  return last.grid;
}

/** The analysis' own decoding lane: the same slice on the grid and the same body as the volume stage makes. */
const lane = new DecodeLane();

async function putOnGrid({ job, geometry }: GridRequest): Promise<{ hu: Int16Array; bodyBits: Uint8Array }> {
  const grid = gridOf(geometry);
  const plane = grid.width * grid.height;
  const hu = new Int16Array(plane);
  const bodyBits = new Uint8Array(new SharedArrayBuffer(Math.ceil(plane / 8)));
  await lane.decode({ ...job, grid, body: { thresholdHu: BODY_HU, into: { buffer: bodyBits.buffer as SharedArrayBuffer, byteOffset: 0 } } }, hu);
  return { hu, bodyBits };
}

parentPort!.on('message', (request: GridRequest) => {
  putOnGrid(request).then(
    (slice) => parentPort!.postMessage(slice satisfies GridReply, [slice.hu.buffer as ArrayBuffer]),
    (error: unknown) => {
      const { code, message } = describeError(error);
      parentPort!.postMessage({ error: `${code}: ${message}` } satisfies GridReply);
    },
  );
});
