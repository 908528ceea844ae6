/**
 * The stages of one study, each with what it takes and what it gives:
 *
 *   select series → decode the series → find level → re-read the measured slices
 *     → segment and measure → report → outputs
 *
 * The whole series is decoded once, slice by slice, straight onto the level finder's working
 * grid: its full-resolution HU is never held whole (a 1,000-slice 512² series would be 524 MB).
 * Only the slices that are measured are read again at full resolution.
 *
 * Each stage is implemented in its own folder (intake, dicom, level, segment + measure, report);
 * this file only names their contracts and holds the default set. `study.ts` is the one place
 * that runs them in order. A set of stages can be swapped in part (tests answer the level and
 * the mask from a phantom's truth; a build without a stage fails with E_STAGE_UNAVAILABLE).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKAGED_MODEL_MANIFEST, type Config } from '../config.ts';
import { groupIntoSeries, summarizeSeries, type SeriesGroup } from '../dicom/series.ts';
import type { CtVolume, InstanceHeader, SeriesLayout, SeriesSummary } from '../dicom/types.ts';
import { decoderFor } from '../dicom/decode-pool.ts';
import { buildVolume, decodeSeries, planVolume, sliceInfosOf, sliceJobOf, type SliceJob, type VolumePlan } from '../dicom/volume.ts';
import { CtMuscleError } from '../errors.ts';
import { selectSeries, type SelectionResult, type SelectionRules } from '../intake/select-series.ts';
import { ioError, writeFileDurably } from '../io/durable-file.ts';
import { findLevel, startStack, type BodyMask, type StackBuilder, type WorkStack } from '../level/index.ts';
import type { CanonicalGrid } from '../level/canonical.ts';
import { segmentAndMeasure } from '../measure/index.ts';
import type { BodyMeasurements, LevelInfo, LevelName, MuscleMeasurements, OutputFile, SegmenterInfo, StudyOutputs, Verdict } from '../model/index.ts';
import { levelInfoOf, MUSCLE_HU_WINDOW } from '../model/index.ts';
import { writeReport, type ReportOutput } from '../report/index.ts';

/** Stage names, in the order a study passes them (what observers and metrics see). */
export const STAGE_NAMES = ['select', 'volume', 'level', 'slices', 'segment-measure', 'report', 'outputs'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** select: the headers of one study → its series, their summaries and the selection verdict. */
export interface SelectStageInput {
  headers: InstanceHeader[];
  rules?: Partial<SelectionRules>;
}
export interface SeriesChoice {
  groups: SeriesGroup[];
  /** summaries[i] describes groups[i]. */
  summaries: SeriesSummary[];
  selection: SelectionResult;
}

/** A slice on the working grid (`canonicalSlice` of its HU) and, when made with it, its body mask (`bodyMaskOf`). */
export interface PrecomputedSlice {
  hu: Int16Array;
  bodyMask?: BodyMask;
}

/**
 * A slice already on exactly `grid`, made before the analysis (the node, while the study
 * arrived), or null: the volume stage then decodes it. It must not throw; a slice it answers is
 * filed as is, so it answers only for these very bytes. `into` is where the stack keeps the
 * slice: a lookup may put the HU there and answer that view (no slice-sized buffer per slice),
 * but only once it knows it answers the slice.
 */
export type GridSliceLookup = (job: SliceJob, grid: CanonicalGrid, into?: Int16Array) => Promise<PrecomputedSlice | null>;

/** volume: a series → its layout and every slice on the level finder's working grid (decoded once). */
export interface VolumeStageInput {
  group: SeriesGroup;
  /** Worker threads for a compressed series (config `decode.workers`; 0 or absent: one per core). */
  decodeWorkers?: number;
  /** Slices put on the grid before (the node's analysis); absent: every slice is decoded. */
  gridSliceFor?: GridSliceLookup;
  /** Config `decode.levelGrid`: "half" puts a reversible JPEG 2000 slice on the grid from a half-resolution decode; absent: "full". */
  levelGrid?: Config['decode']['levelGrid'];
}
export interface DecodedSeries {
  /** The whole series' slices (inferior → superior) and geometry; its full-resolution HU is not kept. */
  volume: SeriesLayout;
  /** The series' headers, ordered as the volume's slices; all of them. */
  ordered: InstanceHeader[];
  /** Every slice on the level finder's working grid; null when the series has none (not axial: the level finder says why). */
  stack: WorkStack | null;
  /** How many of the slices came from `gridSliceFor` instead of being decoded. */
  precomputedSlices?: number;
}

/** level: a series → the slice through the target vertebra. */
export interface LevelStageInput {
  /** The series' layout (with its working stack), or a volume held whole (NIfTI, tests). */
  volume: SeriesLayout | CtVolume;
  stack?: WorkStack | null;
  target: LevelName;
}

/** slices: the slices to measure (by SOP Instance UID) at full resolution, re-read from their files. */
export interface SlicesStageInput {
  group: SeriesGroup;
  /** E_SLICE_NOT_FOUND for one not in the series. */
  sopInstanceUids: string[];
  /** As given to the volume stage (config `decode.workers`): a compressed series' slices are decoded on its pool, already started. */
  decodeWorkers?: number;
}
export interface PlannedVolume {
  /** HU of the asked slices only, in stack order. */
  volume: CtVolume;
  /** The series' headers, ordered inferior → superior; all of them. */
  ordered: InstanceHeader[];
}

/** segment-measure: the chosen slice → mask, measurements, flags and (with site cut-offs) a verdict. */
export interface SegmentStageInput {
  /** The measured slices (the chosen one and its neighbours) at full resolution. */
  volume: CtVolume;
  /** The chosen slice's index in `volume`. */
  sliceIndex: number;
  patient: { heightM?: number; sex?: string };
  segmenter: 'default' | 'sam';
  /** The level measured ('T12', … or 'as-provided'): which site cut-offs apply. */
  levelName: string;
  segmentation: Config['segmentation'];
  measurement: Config['measurement'];
}
export interface SegmentStageOutput {
  mask: Uint8Array;
  muscle: MuscleMeasurements;
  segmenter: SegmenterInfo;
  flags: string[];
  /** "Low muscle" from a site-configured cut-off (with its citation); null when none applies. */
  verdict?: Verdict | null;
}

/** measurement.slices "body": the body's figures and, in the same order as figures.slices, each slice's mask. */
export interface BodyStageOutput {
  figures: BodyMeasurements;
  masks: Uint8Array[];
}

/** report: the measured slice (and with "body" every measured body slice) → SEG, SR, (overlay) and the JSON result, in memory. */
export interface ReportStageInput {
  planned: PlannedVolume;
  /** The measured slice's index in planned.ordered (the series), as body slices are given; its HU is in planned.volume. */
  sliceIndex: number;
  level: LevelInfo;
  segmented: SegmentStageOutput;
  /** measurement.slices "body" only. */
  body?: BodyStageOutput;
  flags: string[];
  overlay: boolean;
  created?: Date;
}

/** outputs: the report → files under DIR/<StudyInstanceUID>/. */
export interface OutputsStageInput {
  report: ReportOutput;
  directory: string;
}

type MaybeAsync<T> = T | Promise<T>;

export interface StageSet {
  selectSeries(input: SelectStageInput): MaybeAsync<SeriesChoice>;
  buildVolume(input: VolumeStageInput): MaybeAsync<DecodedSeries>;
  findLevel(input: LevelStageInput): MaybeAsync<LevelInfo>;
  loadSlices(input: SlicesStageInput): MaybeAsync<PlannedVolume>;
  segmentAndMeasure(input: SegmentStageInput): MaybeAsync<SegmentStageOutput>;
  writeReport(input: ReportStageInput): MaybeAsync<ReportOutput>;
  writeOutputs(input: OutputsStageInput): MaybeAsync<StudyOutputs>;
}

/** What callers may swap: the level finder and the segmenter always, any other stage optionally. */
export type Stages = Pick<StageSet, 'findLevel' | 'segmentAndMeasure'> & Partial<StageSet>;

function unavailable(stage: string): never {
  throw new CtMuscleError('E_STAGE_UNAVAILABLE', `The ${stage} stage is not available in this build; the study was not measured.`);
}

/** Stages that are all missing: what a build without them does (used by tests of that path). */
export const UNAVAILABLE_STAGES: Stages = {
  findLevel: () => unavailable('level-finding'),
  segmentAndMeasure: () => unavailable('segmentation'),
};

/**
 * The level finder's working stack for a series, filled while it is decoded; null when the series
 * has no working grid (not axial): the level finder then refuses it with the grid's own error,
 * while a slice chosen by a person can still be measured.
 */
function levelStackBuilder(plan: VolumePlan): StackBuilder | null {
  try {
    return startStack(plan.geometry, sliceInfosOf(plan));
  } catch (error) {
    if (error instanceof CtMuscleError) return null;
    throw error;
  }
}

/** Slices looked up at once: file reads, not CPU. */
const LOOKUP_CONCURRENCY = 8;

/** Files every slice `lookup` has on the builder's grid; returns their indices (stack order). The rest are decoded. */
async function filePrecomputed(plan: VolumePlan, builder: StackBuilder, lookup: GridSliceLookup, fromHalfResolution: boolean): Promise<Set<number>> {
  const filed = new Set<number>();
  let next = 0;
  const lane = async () => {
    while (next < plan.ordered.length) {
      const k = next++;
      const slice = await lookup(sliceJobOf(plan.ordered[k], plan.geometry, fromHalfResolution), builder.grid, builder.slice(k)).catch(() => null);
      if (!slice) continue;
      builder.addGridSlice(k, slice.hu, slice.bodyMask);
      filed.add(k);
    }
  };
  await Promise.all(Array.from({ length: LOOKUP_CONCURRENCY }, lane));
  return filed;
}

/** Each output is written durably (temp, fsync, rename): a full disk leaves no truncated seg.dcm, and is retried. */
async function writeOutputFiles({ report, directory }: OutputsStageInput): Promise<StudyOutputs> {
  await mkdir(directory, { recursive: true }).catch((error: unknown) => {
    throw ioError(error, `Cannot write the results under ${directory} (the folder cannot be created)`);
  });
  const written: StudyOutputs = {};
  for (const [name, output] of [['seg', report.seg], ['sr', report.sr], ['overlay', report.overlay]] as const) {
    if (!output) continue;
    const path = join(directory, `${name}.dcm`);
    await writeFileDurably(path, output.bytes);
    written[name] = { path, sopInstanceUid: output.sopInstanceUid, seriesInstanceUid: output.seriesInstanceUid } satisfies OutputFile;
  }
  const jsonPath = join(directory, 'result.json');
  await writeFileDurably(jsonPath, `${JSON.stringify(report.result, null, 2)}\n`);
  written.json = jsonPath;
  return written;
}

export const DEFAULT_STAGES: StageSet = {
  selectSeries: ({ headers, rules }) => {
    const groups = groupIntoSeries(headers);
    const summaries = groups.map(summarizeSeries);
    return { groups, summaries, selection: selectSeries(summaries, rules) };
  },
  buildVolume: async ({ group, decodeWorkers, gridSliceFor, levelGrid }) => {
    const plan = planVolume(group);
    const builder = levelStackBuilder(plan);
    const filed = builder && gridSliceFor ? await filePrecomputed(plan, builder, gridSliceFor, levelGrid === 'half') : new Set<number>();
    const missing = filed.size > 0 ? plan.ordered.map((_, k) => k).filter((k) => !filed.has(k)) : undefined;
    // Each slice is put on the working grid, and its body found, where it is decoded (a worker thread); this thread only files it.
    const volume = builder
      ? await decodeSeries(group, plan, (k, gridHu) => builder.addGridSlice(k, gridHu, { bits: builder.body.bits(k) }), decoderFor(group.instances, decodeWorkers, true), missing, { grid: builder.grid, slice: builder.slice, body: builder.body, fromHalfResolution: levelGrid === 'half' })
      : await decodeSeries(group, plan, () => undefined, decoderFor(group.instances, decodeWorkers));
    return { volume, ordered: plan.ordered, stack: builder?.finish() ?? null, precomputedSlices: filed.size };
  },
  findLevel: ({ volume, stack, target }) => levelInfoOf(findLevel(volume, { target }, stack)),
  loadSlices: async ({ group, sopInstanceUids, decodeWorkers }) => {
    const plan = planVolume(group);
    const sliceIndices = sopInstanceUids.map((uid) => {
      const index = plan.ordered.findIndex((h) => h.sopInstanceUid === uid);
      if (index < 0) throw new CtMuscleError('E_SLICE_NOT_FOUND', `The slice ${uid} is not in series ${group.seriesInstanceUid}.`);
      return index;
    });
    // After the volume stage (decodeWorkers given), a compressed series' slices go to the pool that
    // decoded it: its codec is loaded there, and need not be on this thread too.
    const decoder = decodeWorkers === undefined ? undefined : decoderFor(group.instances, decodeWorkers);
    return { volume: await buildVolume(group, { plan, sliceIndices, decoder }), ordered: plan.ordered };
  },
  segmentAndMeasure: async (input) => {
    const { models, crossCheck } = input.segmentation;
    const { cutoffs, areaRangeCm2, minAgreementDice, maxAreaDifference } = input.measurement;
    const plausibility = { areaRangeCm2, minAgreementDice, maxAreaDifference };
    const result = await segmentAndMeasure({
      volume: input.volume,
      sliceIndex: input.sliceIndex,
      patient: input.patient,
      segmenter: input.segmenter,
      models: { ...models, manifest: models.manifest ?? PACKAGED_MODEL_MANIFEST },
      crossCheck,
      plausibility,
      cutoffs,
      level: input.levelName,
    });
    return { mask: result.mask, muscle: result.muscle, segmenter: result.segmenter, flags: result.flags, verdict: result.verdict };
  },
  writeReport: ({ planned, sliceIndex, level, segmented, body, flags, overlay, created }) => {
    const { volume, ordered } = planned;
    const pixels = volume.geometry.rows * volume.geometry.columns;
    const source = ordered[sliceIndex];
    // planned.volume holds only the measured slices: the source's HU is found by its UID.
    const k = volume.slices.findIndex((s) => s.sopInstanceUid === source.sopInstanceUid);
    if (k < 0) throw new CtMuscleError('E_REPORT_INVALID', `The measured slice ${source.sopInstanceUid} is not among the slices read at full resolution.`);
    return writeReport({
      source,
      seriesSlices: ordered,
      level,
      segmenter: segmented.segmenter,
      flags,
      huWindow: MUSCLE_HU_WINDOW,
      mask: segmented.mask,
      hu: volume.hu.subarray(k * pixels, (k + 1) * pixels),
      measurements: segmented.muscle,
      body: body && { figures: body.figures, slices: body.figures.slices.map((s, i) => ({ source: ordered[s.sliceIndex], mask: body.masks[i] })) },
      options: { overlay, created },
    });
  },
  writeOutputs: writeOutputFiles,
};
