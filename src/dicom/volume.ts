/**
 * A series → an HU volume: slices ordered along the normal (inferior → superior for axial
 * stacks), rescaled per slice, decoded one file at a time into one Int16Array — or handed slice
 * by slice to a caller that keeps only what it derives from each (`decodeSeries`).
 */
import { CtMuscleError } from '../errors.ts';
import { numberValue } from './dataset-values.ts';
import { analyzeStack, BLOCKING_ISSUES, planeOf } from './geometry.ts';
import { PADDING_HU, paddingInStoredRange, storedToHounsfield, type RescaleParameters } from './hu.ts';
import { decodeFrame, decodeFrameHalved, pixelFormatOf } from './pixels.ts';
import { DEFAULT_DICOM_LIMITS } from './limits.ts';
import { averageOntoBlockGrid, halvedSliceOntoGrid, type BlockGrid } from '../image/blocks.ts';
import { LargestRegionPacker } from '../image/runs.ts';
import { ReusableBuffer } from './read-file.ts';
import { NATIVE_SYNTAXES } from './transfer-syntax.ts';
import { loadSourceBytes, parseDicomAsync, pixelsOfScanned, type ParsedDicom, type ScannedPixels } from './read.ts';
import type { SeriesGroup } from './series.ts';
import type { CtVolume, InstanceHeader, InstanceSource, PixelFormat, SeriesLayout, SliceInfo, VolumeGeometry } from './types.ts';

export interface VolumeOptions {
  /** Build only these slices (indices in stack order), e.g. the chosen slice and its neighbours. */
  sliceIndices?: number[];
  /** The series' plan when the caller already made it (planning orders the whole series once). */
  plan?: VolumePlan;
  /**
   * Decode the slices there, all at once (the pool whose workers decoded the series has its codec
   * loaded: a compressed slice or three cost this thread no codec of its own).
   */
  decoder?: SliceDecoder;
}

export interface VolumePlan {
  geometry: VolumeGeometry;
  ordered: InstanceHeader[];
  issues: CtVolume['issues'];
}

function requirePixelSpacing(header: InstanceHeader): [number, number] {
  if (!header.pixelSpacing || header.pixelSpacing.some((v) => !(v > 0))) {
    throw new CtMuscleError('E_MISSING_ATTRIBUTE', `${header.sopInstanceUid}: PixelSpacing (0028,0030) is missing or not positive; areas cannot be measured.`);
  }
  return header.pixelSpacing;
}

/** Describe the geometry of a series without decoding pixels; throws on blocking issues. */
export function planVolume(group: SeriesGroup): VolumePlan {
  const { instances } = group;
  if (instances.length === 0) throw new CtMuscleError('E_NO_SERIES', 'The series has no instances.');
  const multiFrame = instances.find((i) => i.numberOfFrames > 1);
  if (multiFrame) {
    throw new CtMuscleError('E_UNSUPPORTED_PIXEL_FORMAT', `Multi-frame (enhanced) CT is not supported yet: ${multiFrame.sopInstanceUid} has ${multiFrame.numberOfFrames} frames.`);
  }
  const stack = analyzeStack(instances);
  if (!stack) {
    if (instances.length > 1) {
      throw new CtMuscleError('E_INCONSISTENT_GEOMETRY', 'The instances lack ImagePositionPatient/ImageOrientationPatient; they cannot be ordered.');
    }
    throw new CtMuscleError('E_MISSING_ATTRIBUTE', 'The image lacks ImagePositionPatient/ImageOrientationPatient; its geometry is unknown.');
  }
  const blocking = stack.issues.filter((i) => BLOCKING_ISSUES.includes(i.kind) || (i.kind === 'missing-position' && instances.length > 1));
  if (blocking.length > 0) {
    throw new CtMuscleError('E_INCONSISTENT_GEOMETRY', blocking.map((i) => i.message).join(' '), { issues: blocking });
  }
  let ordered = stack.ordered;
  // Ascending normal offset is inferior → superior only when the normal points to the head.
  const reversed = stack.normal[2] < 0;
  if (reversed) ordered = [...ordered].reverse();
  const first = ordered[0];
  const pixelSpacingMm = requirePixelSpacing(first);
  return {
    ordered,
    issues: stack.issues,
    geometry: {
      rows: first.rows ?? 0,
      columns: first.columns ?? 0,
      rowCosine: stack.row,
      columnCosine: stack.column,
      normal: stack.normal,
      plane: planeOf(stack.normal),
      pixelSpacingMm,
      sliceSpacingMm: stack.sliceSpacingMm,
      sliceThicknessMm: first.sliceThickness ?? null,
      gantryTiltDeg: stack.gantryTiltDeg,
    },
  };
}

function sliceInfoOf(header: InstanceHeader, normal: [number, number, number]): SliceInfo {
  const ipp = header.imagePositionPatient!;
  return {
    sopInstanceUid: header.sopInstanceUid,
    instanceNumber: header.instanceNumber,
    imagePositionPatient: ipp,
    normalOffsetMm: ipp[0] * normal[0] + ipp[1] * normal[1] + ipp[2] * normal[2],
    zMm: ipp[2],
    rescaleSlope: header.rescaleSlope,
    rescaleIntercept: header.rescaleIntercept,
    source: header.source,
    frameIndex: 0,
  };
}

/** What decoding one slice needs: plain data, so a worker thread can be sent it. */
export interface SliceJob extends ScannedPixels {
  source: InstanceSource;
  rows: number;
  columns: number;
  slope: number;
  intercept: number;
  /** Answer with the slice on this grid (padding as air) instead of its full-resolution HU. */
  grid?: BlockGrid;
  /** Write the grid slice here (shared memory, width × height Int16 from byteOffset) instead of sending it back. */
  gridInto?: { buffer: SharedArrayBuffer; byteOffset: number };
  /** With a grid: also write the grid slice's largest region above `thresholdHu`, packed (`LargestRegionPacker`), into `into` (⌈width·height / 8⌉ bytes). */
  body?: { thresholdHu: number; into: { buffer: SharedArrayBuffer; byteOffset: number } };
  /** With a grid of 2 × 2 blocks: put the slice on it from a half-resolution decode where its encoding allows (`decodeFrameHalved`). */
  fromHalfResolution?: boolean;
}

/** The job of decoding one instance of the series; `fromHalfResolution` as config `decode.levelGrid` "half" (SliceJob). */
export function sliceJobOf(header: InstanceHeader, geometry: VolumeGeometry, fromHalfResolution = false): SliceJob {
  const info = sliceInfoOf(header, geometry.normal);
  const job: SliceJob = { sopInstanceUid: header.sopInstanceUid, pixelAttributes: header.pixelAttributes, source: header.source, rows: geometry.rows, columns: geometry.columns, slope: info.rescaleSlope, intercept: info.rescaleIntercept };
  if (fromHalfResolution) job.fromHalfResolution = true;
  return job;
}

/**
 * Decode one instance of the series and rescale it into `out` from `offset` (rows × columns HU).
 * The header the scan parsed is not parsed again (`pixelsOfScanned`) unless the file needs it.
 * A caller decoding many slices passes its `file` buffer: the file is read into it, not into fresh memory.
 */
export async function decodeSliceHu(job: SliceJob, scratch: Int32Array, out: Int16Array, offset: number, file?: ReusableBuffer): Promise<void> {
  const { parsed, rescale } = await parseSlice(job, file);
  storedToHounsfield(await decodeFrame(parsed, 0, scratch), rescale, out, offset);
}

/** An instance of the series read and parsed, with its rescale to HU. */
interface ParsedSlice {
  parsed: ParsedDicom;
  rescale: RescaleParameters;
}

/** One instance of the series read and parsed (its header as the scan parsed it, where it can), checked against the series. */
async function parseSlice(job: SliceJob, file?: ReusableBuffer): Promise<ParsedSlice> {
  const bytes = await loadSourceBytes(job.source, DEFAULT_DICOM_LIMITS, file);
  const parsed = pixelsOfScanned(bytes, job) ?? (await parseDicomAsync(bytes));
  const format = pixelFormatOf(parsed.dataset);
  if (format.samplesPerPixel !== 1 || !format.photometricInterpretation.startsWith('MONOCHROME')) {
    throw new CtMuscleError(
      'E_UNSUPPORTED_PIXEL_FORMAT',
      `${job.sopInstanceUid}: CT must be greyscale (MONOCHROME1/2, one sample); this is ${format.photometricInterpretation} with ${format.samplesPerPixel} samples.`,
    );
  }
  if (format.rows !== job.rows || format.columns !== job.columns) {
    throw new CtMuscleError('E_INCONSISTENT_GEOMETRY', `${job.sopInstanceUid} is ${format.rows}×${format.columns}; the series is ${job.rows}×${job.columns}.`);
  }
  return { parsed, rescale: rescaleOf(job, parsed, format) };
}

/** The slice's rescale to HU, with its padding in the stored-value range. */
function rescaleOf(job: SliceJob, parsed: ParsedDicom, format: PixelFormat): RescaleParameters {
  const paddingValue = numberValue(parsed.dataset, 'PixelPaddingValue');
  const rangeLimit = numberValue(parsed.dataset, 'PixelPaddingRangeLimit');
  const inStoredRange = (value: number) => paddingInStoredRange(value, format.pixelRepresentation, format.bitsAllocated);
  return {
    slope: job.slope,
    intercept: job.intercept,
    padding: paddingValue === undefined ? undefined : { value: inStoredRange(paddingValue), rangeLimit: rangeLimit === undefined ? undefined : inStoredRange(rangeLimit) },
  };
}

/** What each slice's header says of it (position, rescale), in stack order; no pixels are read. */
export function sliceInfosOf(plan: VolumePlan): SliceInfo[] {
  return plan.ordered.map((header) => sliceInfoOf(header, plan.geometry.normal));
}

function layoutOf(group: SeriesGroup, plan: VolumePlan, slices: SliceInfo[]): SeriesLayout {
  return {
    studyInstanceUid: group.studyInstanceUid,
    seriesInstanceUid: group.seriesInstanceUid,
    frameOfReferenceUid: plan.ordered[0].frameOfReferenceUid,
    geometry: plan.geometry,
    slices,
    issues: plan.issues,
  };
}

/** Decode every slice (or the chosen ones) of a series into HU. Memory: 2 bytes per voxel plus one file at a time. */
export async function buildVolume(group: SeriesGroup, options: VolumeOptions = {}): Promise<CtVolume> {
  const plan = options.plan ?? planVolume(group);
  const { geometry } = plan;
  const indices = options.sliceIndices ?? plan.ordered.map((_, k) => k);
  for (const k of indices) {
    if (!Number.isInteger(k) || k < 0 || k >= plan.ordered.length) {
      throw new CtMuscleError('E_MISSING_ATTRIBUTE', `Slice index ${k} is outside the series (0..${plan.ordered.length - 1}).`);
    }
  }
  const sliceVoxels = geometry.rows * geometry.columns;
  const hu = new Int16Array(sliceVoxels * indices.length);
  const headers = indices.map((k) => plan.ordered[k]);
  const slices = headers.map((header) => sliceInfoOf(header, geometry.normal));
  const { decoder } = options;
  if (decoder && indices.length > 0) {
    // The lowest failing slice's error, as decoding in order meets it.
    const settled = await Promise.allSettled(headers.map((header) => decoder.decode(sliceJobOf(header, geometry))));
    settled.forEach((outcome, n) => {
      if (outcome.status === 'rejected') throw outcome.reason;
      hu.set(outcome.value, n * sliceVoxels);
    });
    return { ...layoutOf(group, plan, slices), hu, paddingHu: PADDING_HU };
  }
  // One stored-value buffer for the whole series: each slice is decoded into it, then rescaled into `hu`.
  const scratch = new Int32Array(sliceVoxels);
  const file = new ReusableBuffer();
  for (let n = 0; n < indices.length; n++) await decodeSliceHu(sliceJobOf(headers[n], geometry), scratch, hu, n * sliceVoxels, file);
  return { ...layoutOf(group, plan, slices), hu, paddingHu: PADDING_HU };
}

/**
 * Sees each decoded slice: its index in stack order and its HU (rows × columns, PADDING_HU for
 * padding; or its slice on the grid asked for), valid until it returns.
 */
export type SliceVisitor = (k: number, hu: Int16Array) => void;

/** Decodes slices elsewhere (worker threads): the HU of one job, or the error decoding it threw. */
export interface SliceDecoder {
  /** How many jobs it runs at once. */
  readonly size: number;
  /** Jobs each of its lanes holds at once (a worker queues the next while it decodes one); 1 when absent. */
  readonly depth?: number;
  decode(job: SliceJob): Promise<Int16Array>;
  /** Start `count` lanes; true once one can take a job at once (a caller decoding meanwhile waits for none). */
  whenStarted?(count: number): Promise<boolean>;
}

/**
 * What one decoding lane (this thread, or a worker thread) keeps from one slice to the next: the
 * file's bytes, the stored values, the HU and the grid slice each have one buffer, reused.
 */
export class DecodeLane {
  private readonly file = new ReusableBuffer();
  private scratch = new Int32Array(0);
  private hu = new Int16Array(0);
  private gridSlice = new Int16Array(0);
  private halvedScratch = new Int32Array(0);
  private halvedHu = new Int16Array(0);
  private packer: LargestRegionPacker | undefined;

  /**
   * The job's HU (rows × columns), or its slice on `job.grid`, written into `into` or where
   * `job.gridInto` says when given, else into the lane's own array (valid until its next job).
   */
  async decode(job: SliceJob, into?: Int16Array): Promise<Int16Array> {
    const slice = await parseSlice(job, this.file);
    const { grid } = job;
    if (!grid) return this.fullHu(job, slice);
    const pixels = grid.width * grid.height;
    let target = into ?? (job.gridInto && new Int16Array(job.gridInto.buffer, job.gridInto.byteOffset, pixels));
    if (!target) target = this.gridSlice.length === pixels ? this.gridSlice : (this.gridSlice = new Int16Array(pixels));
    if (!(await this.halvedOntoGrid(job, slice, grid, target))) averageOntoBlockGrid(await this.fullHu(job, slice), 0, PADDING_HU, grid, target);
    if (job.body) this.packBody(target, grid, job.body);
    return target;
  }

  /** The slice's full-resolution HU, in the lane's own array. */
  private async fullHu(job: SliceJob, { parsed, rescale }: ParsedSlice): Promise<Int16Array> {
    const voxels = job.rows * job.columns;
    if (this.hu.length !== voxels) [this.hu, this.scratch] = [new Int16Array(voxels), new Int32Array(voxels)];
    storedToHounsfield(await decodeFrame(parsed, 0, this.scratch), rescale, this.hu, 0);
    return this.hu;
  }

  /**
   * On a grid of 2 × 2 blocks, the slice decoded at half resolution where its encoding holds that
   * apart (`decodeFrameHalved`: JPEG 2000, ~3 × less work than a full decode) and looked up onto the
   * grid: the level finder sees nothing finer. False, nothing written, where it cannot be.
   */
  private async halvedOntoGrid(job: SliceJob, { parsed, rescale }: ParsedSlice, grid: BlockGrid, target: Int16Array): Promise<boolean> {
    if (!job.fromHalfResolution || grid.factor !== 2 || !grid.halved || job.rows % 2 !== 0 || job.columns % 2 !== 0) return false;
    const pixels = (job.rows / 2) * (job.columns / 2);
    if (this.halvedScratch.length !== pixels) [this.halvedHu, this.halvedScratch] = [new Int16Array(pixels), new Int32Array(pixels)];
    const halved = await decodeFrameHalved(parsed, this.halvedScratch);
    if (!halved || halved.rows !== job.rows / 2 || halved.columns !== job.columns / 2) return false;
    storedToHounsfield(halved.values, rescale, this.halvedHu, 0);
    halvedSliceOntoGrid(this.halvedHu, PADDING_HU, grid.halved.index, target);
    return true;
  }

  private packBody(slice: Int16Array, grid: BlockGrid, { thresholdHu, into }: NonNullable<SliceJob['body']>): void {
    const { width, height } = grid;
    if (this.packer?.rows !== height || this.packer.columns !== width) this.packer = new LargestRegionPacker(height, width);
    this.packer.pack(slice, thresholdHu, new Uint8Array(into.buffer, into.byteOffset, Math.ceil((width * height) / 8)));
  }
}

/** Where a series' slices go on a grid: slice k into `slice(k)` (the level finder's stack builder is one). */
export interface GridTarget {
  grid: BlockGrid;
  slice(k: number): Int16Array;
  /**
   * Also the region above `thresholdHu` of each slice (the level finder's body), packed into
   * `bits(k)` (shared memory) where the slice is decoded; written before slice k is visited.
   */
  body?: { thresholdHu: number; bits(k: number): Uint8Array };
  /** Put JPEG 2000 slices on a grid of 2 × 2 blocks from half-resolution decodes (config `decode.levelGrid` "half"). */
  fromHalfResolution?: boolean;
}

/** The grid with its lookup tables in shared memory: sent to worker threads with every job, never copied. */
function sharedGrid(grid: BlockGrid): BlockGrid {
  const shared = (table: Int32Array) => {
    const copy = new Int32Array(new SharedArrayBuffer(table.byteLength));
    copy.set(table);
    return copy;
  };
  const halved = grid.halved && { index: shared(grid.halved.index), rows: grid.halved.rows };
  return { width: grid.width, height: grid.height, factor: grid.factor, sourceColumns: grid.sourceColumns, sourceIndex: shared(grid.sourceIndex), ...(halved && { halved }) };
}

/** Where a typed array lies in shared memory; undefined for one that is not there. */
function sharedPlace(array: Int16Array | Uint8Array): { buffer: SharedArrayBuffer; byteOffset: number } | undefined {
  return array.buffer instanceof SharedArrayBuffer ? { buffer: array.buffer, byteOffset: array.byteOffset } : undefined;
}

/** Slice k's job on the target's grid: where in shared memory to write the slice (and its body) when the target is there. */
function gridJob(job: SliceJob, grid: BlockGrid, onto: GridTarget, k: number): SliceJob {
  if (!onto.body) return { ...job, grid, gridInto: sharedPlace(onto.slice(k)) };
  const into = sharedPlace(onto.body.bits(k));
  if (!into) throw new RangeError('A grid target wants bodies made where slices are decoded, but its body bits are not in shared memory.');
  return { ...job, grid, gridInto: sharedPlace(onto.slice(k)), body: { thresholdHu: onto.body.thresholdHu, into } };
}

/**
 * Decode every slice of a planned series and hand each to `visit`; the series' layout comes
 * back. Memory: one slice (a few per decoder lane), never the volume — for callers that keep
 * only what they derive from each slice (the level finder's working grid). `onto` a grid, each
 * slice is put on it where it is decoded (a worker thread writes it into the target itself when
 * that is shared memory) and visited as `onto.slice(k)`. With a `decoder`, slices are decoded
 * `decoder.size` at a time and visited in the order they finish; a failure is the one the lowest
 * failing slice threw, as decoding them in order would have. With `only`, just those slices are
 * decoded and visited (by their index in stack order).
 */
export async function decodeSeries(group: SeriesGroup, plan: VolumePlan, visit: SliceVisitor, decoder?: SliceDecoder, only?: number[], onto?: GridTarget): Promise<SeriesLayout> {
  const all = plan.ordered.map((header) => sliceJobOf(header, plan.geometry, onto?.fromHalfResolution));
  // `only`: the slices still to decode (stack order; the others were put on the grid before).
  const indices = only ?? all.map((_, k) => k);
  const jobs = indices.map((k) => all[k]);
  const visitAt: SliceVisitor = (n, hu) => visit(indices[n], hu);
  if (decoder && decoder.size > 1 && jobs.length > 1) {
    const grid = onto && sharedGrid(onto.grid);
    // Uncompressed slices cost little to decode, so this thread takes its share as one more lane
    // (it files every slice anyway) and the series never waits for workers still loading.
    // Compressed ones are left to the workers: decoding them here would load the codec's
    // WebAssembly memory into this thread too (~100 MB more peak RSS, measured).
    const native = plan.ordered.every((h) => NATIVE_SYNTAXES.has(h.transferSyntaxUid));
    const local = native ? { lane: new DecodeLane(), lanes: Math.min(decoder.size - 1, NATIVE_WORKER_LANES) } : undefined;
    await decodeConcurrently(onto ? jobs.map((job, n) => gridJob(job, grid!, onto, indices[n])) : jobs, decoder, visitAt, local);
  } else {
    const lane = new DecodeLane();
    for (let n = 0; n < jobs.length; n++) visitAt(n, await (onto ? lane.decode(gridJob(jobs[n], onto.grid, onto, indices[n]), onto.slice(indices[n])) : lane.decode(jobs[n])));
  }
  return layoutOf(group, plan, sliceInfosOf(plan));
}

/**
 * The slices decoded `decoder.size` at a time (`lanes` of them on the decoder, plus this thread
 * as one more lane when `local` is given), each visited as it finishes.
 */
/**
 * Workers beside this thread for uncompressed slices: each costs ~30 MB of its own (a Node
 * isolate with dcmjs loaded) and the work is mostly reading and memory traffic, so a many-core
 * machine gains little from more while the node's memory grows with every one.
 */
export const NATIVE_WORKER_LANES = 3;

/** This thread as a decoding lane beside `lanes` of the decoder's. */
interface LocalLane {
  lane: DecodeLane;
  lanes: number;
}

/**
 * The slices decoded `decoder.size` at a time, each visited as it finishes. With a `local` lane
 * (this thread) beside `local.lanes` of the decoder's, the decoder's lanes take slices only once a
 * worker is ready (none waits for one loading), and not at all if this thread has taken every
 * slice by then.
 */
async function decodeConcurrently(jobs: SliceJob[], decoder: SliceDecoder, visit: SliceVisitor, local?: LocalLane): Promise<void> {
  let next = 0;
  let lowestFailed = Infinity;
  let failure: unknown;
  // Jobs are taken in order and none after a failure, so every slice below the first failing one
  // was decoded: the lowest failure once the lanes settle is the one sequential decoding meets.
  const lane = (decode: (job: SliceJob) => Promise<Int16Array>) => async () => {
    while (next < jobs.length && lowestFailed === Infinity) {
      const k = next++;
      try {
        const hu = await decode(jobs[k]);
        if (lowestFailed === Infinity) visit(k, hu);
      } catch (error) {
        if (k < lowestFailed) [lowestFailed, failure] = [k, error];
      }
    }
  };
  const decoderLane = lane((job) => decoder.decode(job));
  // Each of the decoder's lanes is given `depth` jobs at once, so it never waits for this thread to send the next.
  const depth = decoder.depth ?? 1;
  if (!local) {
    await Promise.all(Array.from({ length: Math.min(decoder.size * depth, jobs.length) }, decoderLane));
  } else {
    const onDecoder = Math.min(local.lanes, jobs.length);
    const done = lane((job) => local.lane.decode(job))();
    const ready = await Promise.race([decoder.whenStarted ? decoder.whenStarted(onDecoder) : Promise.resolve(true), done.then(() => false)]);
    await Promise.all([done, ...Array.from({ length: ready ? onDecoder * depth : 0 }, decoderLane)]);
  }
  if (lowestFailed !== Infinity) throw failure;
}
