/**
 * The working stack: every slice on the patient-aligned grid, with the body mask (the largest
 * connected region denser than −500 HU, so the table, arms lying apart and air are left out) and
 * the body's left-right centre, the first guess at where the midline is.
 *
 * It is built one slice at a time (`startStack` … `add` … `finish`), so a series can be put on
 * the grid while it is decoded, without its full-resolution volume ever being held whole: a
 * 1,000-slice 512² series is 524 MB at full resolution, its working stack about 140 MB.
 */
import type { CtVolume, SliceInfo, VolumeGeometry } from '../dicom/types.ts';
import { canonicalGrid, canonicalSlice, type CanonicalGrid } from './canonical.ts';
import { largestComponent } from '../image/morphology.ts';
import { LargestRegionFinder, setBitRange } from '../image/runs.ts';

export const BODY_HU = -500;

export interface WorkStack {
  grid: CanonicalGrid;
  width: number;
  height: number;
  depth: number;
  mm: number;
  /** HU on the working grid, slice-major, inferior → superior. */
  hu: Int16Array;
  /** The body mask, one bit per working-grid voxel (voxel index v at bit v & 7 of byte v >> 3); read it with `inBody`. */
  body: Uint8Array;
  /** Body centroid (working-grid column, row) per slice; NaN for a slice without a body. */
  centreX: Float64Array;
  centreY: Float64Array;
  zMm: Float64Array;
}

/** Is working-grid voxel v (k·plane + p) inside the body? */
export function inBody(body: Uint8Array, v: number): boolean {
  return ((body[v >> 3] >> (v & 7)) & 1) === 1;
}

/**
 * A body mask as `bodyMaskOf` makes it (one byte a pixel, 1 inside), or the same packed one bit a
 * pixel (`packBodyMask`: pixel p at bit p & 7 of byte p >> 3), as it is kept on disk.
 */
export type BodyMask = Uint8Array | { bits: Uint8Array };

/** A body mask packed one bit a pixel. */
export function packBodyMask(mask: Uint8Array): Uint8Array {
  const bits = new Uint8Array(Math.ceil(mask.length / 8));
  for (let p = 0; p < mask.length; p++) if (mask[p]) bits[p >> 3] |= 1 << (p & 7);
  return bits;
}

/** `packBodyMask` undone, a byte at a time (all-outside bytes, most of a slice, cost one test). */
export function unpackBodyMask(bits: Uint8Array, plane: number): Uint8Array {
  const mask = new Uint8Array(plane);
  const whole = plane >> 3;
  for (let i = 0, p = 0; i < whole; i++, p += 8) {
    const b = bits[i];
    if (b === 0) continue;
    for (let j = 0; j < 8; j++) mask[p + j] = (b >> j) & 1;
  }
  for (let p = whole << 3; p < plane; p++) mask[p] = (bits[p >> 3] >> (p & 7)) & 1;
  return mask;
}

/** Per byte value: how many bits are set, and the sum of their positions (0–7). */
const BITS_SET = Uint8Array.from({ length: 256 }, (_, b) => [0, 1, 2, 3, 4, 5, 6, 7].filter((j) => (b >> j) & 1).length);
const BIT_POSITION_SUM = Uint8Array.from({ length: 256 }, (_, b) => [0, 1, 2, 3, 4, 5, 6, 7].filter((j) => (b >> j) & 1).reduce((a, j) => a + j, 0));

/** A stack being filled slice by slice, in any order; `finish` once every slice was added. */
export interface StackBuilder {
  /** Slice k from full-resolution HU (`hu` from offset `base`: one slice of rows × columns). */
  add(k: number, hu: Int16Array, base: number, paddingHu: number): void;
  /**
   * Slice k already on the working grid (`canonicalSlice` of its HU with this stack's `grid`),
   * e.g. put there by a worker thread or while the study arrived; copied into the stack, unless
   * it was written there in place (`gridHu` is `slice(k)`). With `bodyMask` (`bodyMaskOf` of that
   * slice, made with it, or that packed), the body is not searched again.
   */
  addGridSlice(k: number, gridHu: Int16Array, bodyMask?: BodyMask): void;
  /**
   * Where slice k lies in the stack (width × height). The stack is in shared memory, so a worker
   * thread can write a slice there itself; `addGridSlice(k, slice(k))` then files it.
   */
  slice(k: number): Int16Array;
  /** The working grid every slice must be put on. */
  readonly grid: CanonicalGrid;
  /**
   * Where a decoding thread may put slice k's body itself (the region above `thresholdHu` as
   * `LargestRegionPacker` finds it: the body `bodyMaskOf` gives), packed, in shared memory; then
   * `addGridSlice(k, slice(k), { bits: body.bits(k) })` files it without searching it again.
   */
  readonly body: { thresholdHu: number; bits(k: number): Uint8Array };
  finish(): WorkStack;
}

/**
 * The body on one working-grid slice (width × height): the largest connected region denser than
 * BODY_HU, 1 inside. `dense` is scratch of the same size, when the caller reuses one.
 */
export function bodyMaskOf(slice: Int16Array, width: number, height: number, dense = new Uint8Array(width * height)): Uint8Array {
  for (let p = 0; p < width * height; p++) dense[p] = slice[p] > BODY_HU ? 1 : 0;
  return largestComponent(dense, height, width);
}

/** Per-builder buffers, reused for every slice (a series has hundreds: no allocation per slice). */
interface BodyWorkspace {
  regions: LargestRegionFinder;
}

/** The centroid from the body's pixel count and coordinate sums; a few square centimetres is a strap or a cable, not a trunk. */
function setCentre(stack: WorkStack, k: number, n: number, sx: number, sy: number): void {
  if (n * stack.mm * stack.mm > 2000) {
    stack.centreX[k] = sx / n;
    stack.centreY[k] = sy / n;
  }
}

/** A slice's body mask (`bodyMaskOf`, e.g. made while the study arrived), then its centroid, written into the stack at slice k. */
function addBodyMask(stack: WorkStack, k: number, mask: Uint8Array): void {
  const { width, height } = stack;
  const plane = width * height;
  const bits = stack.body;
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0, p = 0, v = k * plane; y < height; y++) {
    for (let x = 0; x < width; x++, p++, v++) {
      if (!mask[p]) continue;
      bits[v >> 3] |= 1 << (v & 7);
      n++;
      sx += x;
      sy += y;
    }
  }
  setCentre(stack, k, n, sx, sy);
}

/**
 * The same from a packed mask. Where every row starts on a byte (width a multiple of 8), the
 * bytes are filed as they are and the centroid summed a byte at a time (whole numbers: the same
 * sums as pixel by pixel); otherwise the mask is unpacked first.
 */
function addBodyBits(stack: WorkStack, k: number, packed: Uint8Array): void {
  const { width, height } = stack;
  const plane = width * height;
  if (width % 8 !== 0) return addBodyMask(stack, k, unpackBodyMask(packed, plane));
  const bits = stack.body;
  const base = (k * plane) >> 3;
  const rowBytes = width >> 3;
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0, i = 0; y < height; y++) {
    for (let xByte = 0; xByte < rowBytes; xByte++, i++) {
      const b = packed[i];
      if (b === 0) continue;
      bits[base + i] |= b;
      const count = BITS_SET[b];
      n += count;
      sx += count * (xByte << 3) + BIT_POSITION_SUM[b];
      sy += count * y;
    }
  }
  setCentre(stack, k, n, sx, sy);
}

/**
 * The same from the slice itself, without making a mask: the body (the largest region denser
 * than BODY_HU, as `bodyMaskOf` picks it) is found on the slice's runs, read straight from its HU
 * in the builder's buffers.
 */
function addBody(stack: WorkStack, k: number, slice: Int16Array, work: BodyWorkspace): void {
  const runs = work.regions.findAbove(slice, BODY_HU);
  if (runs.largest < 0) return;
  const sliceBase = k * stack.width * stack.height;
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let i = runs.largest; i < runs.count; i++) {
    if (runs.region[i] !== runs.largest) continue;
    const y = runs.runRow[i];
    const start = runs.runStart[i];
    const end = runs.runEnd[i];
    const rowBase = sliceBase + y * stack.width;
    setBitRange(stack.body, rowBase + start, rowBase + end);
    // Whole numbers: the sums are exact in any order, so equal to a pixel-by-pixel count.
    const length = end - start;
    n += length;
    sx += ((start + end - 1) * length) / 2;
    sy += y * length;
  }
  setCentre(stack, k, n, sx, sy);
}

function checkBodyMask(bodyMask: BodyMask | undefined, plane: number): void {
  if (bodyMask instanceof Uint8Array && bodyMask.length !== plane) throw new RangeError(`A working-grid body mask has ${plane} pixels, not ${bodyMask.length}.`);
  if (bodyMask && !(bodyMask instanceof Uint8Array) && bodyMask.bits.length !== Math.ceil(plane / 8)) {
    throw new RangeError(`A packed working-grid body mask has ${Math.ceil(plane / 8)} bytes, not ${bodyMask.bits.length}.`);
  }
}

/**
 * The HU buffer of a finished stack, kept for the next series' (`keepStackMemory`). Fresh memory
 * costs a page fault per 4 KiB on first touch, and on a virtual machine that costs as much as
 * filing the slice (measured here: ~0.5 ms per 128 KB slice, a third of filing a precomputed
 * series), while memory used before costs none. Dropped after a minute unused, so an idle node
 * gives it back.
 */
let spare: SharedArrayBuffer | undefined;
let spareTimer: NodeJS.Timeout | undefined;
const SPARE_KEPT_MS = 60_000;

/**
 * A stack's analysis is done and nothing holds it any more (a node analysing study after study):
 * its memory goes to the next `startStack` that fits in it, zeroed first, so nothing of one series
 * ever shows in another's stack. The larger of two kept buffers stays.
 */
export function keepStackMemory(stack: WorkStack): void {
  const buffer = stack.hu.buffer;
  if (!(buffer instanceof SharedArrayBuffer) || (spare && spare.byteLength >= buffer.byteLength)) return;
  spare = buffer;
  clearTimeout(spareTimer);
  spareTimer = setTimeout(() => (spare = undefined), SPARE_KEPT_MS).unref();
}

/** Give the kept memory back now (a node stopping; tests starting from nothing kept). */
export function dropKeptStackMemory(): void {
  spare = undefined;
  clearTimeout(spareTimer);
}

/** `voxels` of zeroed HU in shared memory: the kept buffer when it is large enough, else fresh memory. */
function stackHu(voxels: number): Int16Array {
  const bytes = voxels * Int16Array.BYTES_PER_ELEMENT;
  if (!spare || spare.byteLength < bytes) return new Int16Array(new SharedArrayBuffer(bytes));
  const hu = new Int16Array(spare, 0, voxels);
  spare = undefined;
  clearTimeout(spareTimer);
  return hu.fill(0);
}

/** An empty stack for a series of this geometry and these slices; throws for a non-axial series. */
export function startStack(geometry: VolumeGeometry, slices: Pick<SliceInfo, 'zMm'>[]): StackBuilder {
  const grid = canonicalGrid(geometry);
  const { width, height, mm } = grid;
  const depth = slices.length;
  const plane = width * height;
  const stack: WorkStack = {
    grid,
    width,
    height,
    depth,
    mm,
    // Shared memory: decoding worker threads write their slices straight into it (no copy back).
    hu: stackHu(plane * depth),
    body: new Uint8Array(Math.ceil((plane * depth) / 8)),
    centreX: new Float64Array(depth).fill(Number.NaN),
    centreY: new Float64Array(depth).fill(Number.NaN),
    zMm: Float64Array.from(slices, (s) => s.zMm),
  };
  const work: BodyWorkspace = { regions: new LargestRegionFinder(height, width) };
  const sliceOf = (k: number) => stack.hu.subarray(k * plane, (k + 1) * plane);
  // Made on first use: only a series decoded by worker threads needs it (1/16 of the stack's HU).
  const packedBytes = Math.ceil(plane / 8);
  let packedBodies: Uint8Array | undefined;
  const bodyBitsOf = (k: number) => (packedBodies ??= new Uint8Array(new SharedArrayBuffer(packedBytes * depth))).subarray(k * packedBytes, (k + 1) * packedBytes);
  return {
    grid,
    body: { thresholdHu: BODY_HU, bits: bodyBitsOf },
    add(k, hu, base, paddingHu) {
      const slice = sliceOf(k);
      canonicalSlice(hu, base, paddingHu, grid, slice);
      addBody(stack, k, slice, work);
    },
    addGridSlice(k, gridHu, bodyMask) {
      if (gridHu.length !== plane) throw new RangeError(`A working-grid slice has ${plane} pixels, not ${gridHu.length}.`);
      checkBodyMask(bodyMask, plane);
      const slice = sliceOf(k);
      if (gridHu.buffer !== slice.buffer || gridHu.byteOffset !== slice.byteOffset) slice.set(gridHu);
      if (bodyMask instanceof Uint8Array) addBodyMask(stack, k, bodyMask);
      else if (bodyMask) addBodyBits(stack, k, bodyMask.bits);
      else addBody(stack, k, slice, work);
    },
    slice: sliceOf,
    finish: () => stack,
  };
}

/** The stack of a volume held whole (NIfTI input, tests). */
export function buildStack(volume: CtVolume): WorkStack {
  const builder = startStack(volume.geometry, volume.slices);
  const sliceVoxels = volume.geometry.rows * volume.geometry.columns;
  for (let k = 0; k < volume.slices.length; k++) builder.add(k, volume.hu, k * sliceVoxels, volume.paddingHu);
  return builder.finish();
}
