/**
 * The one place where the stages of a study are run in order:
 *
 *   select series → decode the series → find level → re-read the measured slices
 *     → segment and measure → report → outputs
 *
 * Every entry point (the `analyze`, `level` and `inspect` commands, the node's analyze job, the
 * poller, `remeasure`) calls a function of this file and sequences nothing itself. Each stage
 * runs at most once per study (segment-measure once per measured slice with measurement.slices
 * "body", the level's slice first); an observer sees every stage run (tests count them, the node
 * could time them). A study that cannot be measured becomes a status, never a made-up result,
 * and never stops the other studies.
 */
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { stringValue } from '../dicom/dataset-values.ts';
import { patientHeightM } from '../dicom/patient.ts';
import type { DicomLimits } from '../dicom/limits.ts';
import { uidPathSegment } from '../dicom/uid.ts';
import { scanPaths, type KnownHeaderLookup, type ScanResult } from '../dicom/scan.ts';
import { warmDecodePool } from '../dicom/decode-pool.ts';
import { groupIntoSeries, type SeriesGroup } from '../dicom/series.ts';
import type { CtVolume, InstanceHeader, SeriesLayout, SeriesSummary } from '../dicom/types.ts';
import { CtMuscleError, describeError, isCtMuscleError } from '../errors.ts';
import { requireSelectedSeries, type SelectionRules } from '../intake/select-series.ts';
import { logger } from '../logging.ts';
import { explicitChoice, keepStackMemory, slicesInsideBody, type BodySliceChoice, type WorkStack } from '../level/index.ts';
import { bodyFlags, bodyUnavailableFlag, summarizeBody } from '../measure/index.ts';
import { neighbourIndices } from '../segment/choose.ts';
import { levelInfoOf, type LevelInfo, type LevelName, type SliceMeasurement, type SliceNotMeasured, type StudyResult } from '../model/index.ts';
import { writeNotMeasured } from './not-measured.ts';
import { DEFAULT_STAGES, type BodyStageOutput, type DecodedSeries, type GridSliceLookup, type PlannedVolume, type SegmentStageInput, type SegmentStageOutput, type SeriesChoice, type StageName, type StageSet, type Stages } from './stages.ts';

export interface StageEvent {
  stage: StageName;
  studyInstanceUid: string;
  /** Wall time of the stage run. */
  ms: number;
  /** False when the stage threw (the study then ends with that error's status). */
  ok: boolean;
}

/** Sees each stage run; it must not throw (it is told after the fact). */
export type PipelineObserver = (event: StageEvent) => void;

export interface RunOptions {
  /** Stages to use instead of the defaults (the rest stay default). */
  stages?: Stages | Partial<StageSet>;
  observer?: PipelineObserver;
  /** Per-instance limits for reading files (config `limits`); the defaults when absent. */
  limits?: DicomLimits;
}

export interface AnalyzeOptions extends RunOptions {
  config: Config;
  /** Measure this slice (SOP Instance UID) instead of finding the level. */
  sliceSopInstanceUid?: string;
  target?: LevelName;
  segmenter?: 'default' | 'sam';
  /** Write seg.dcm, sr.dcm, result.json (and overlay.dcm) under DIR/<StudyInstanceUID>/. */
  outDir?: string;
  overlay?: boolean;
  created?: Date;
  /** Slices already on the working grid (the node's, made while the study arrived); absent: all decoded. */
  gridSliceFor?: GridSliceLookup;
  /**
   * The working stack's memory goes to the next analysis once the level is found (a node analysing
   * study after study: `keepStackMemory`). Only where no stage keeps the stack it was given.
   */
  keepStackMemory?: boolean;
}

type Runner = <K extends keyof StageSet>(stage: StageName, name: K, input: Parameters<StageSet[K]>[0]) => Promise<Awaited<ReturnType<StageSet[K]>>>;

/** Binds a stage set and an observer to one study: each call runs one stage and reports it. */
function runnerFor(studyInstanceUid: string, options: RunOptions): Runner {
  const stages: StageSet = { ...DEFAULT_STAGES, ...options.stages };
  return async (stage, name, input) => {
    const started = performance.now();
    let ok = false;
    try {
      const fn = stages[name] as (input: unknown) => unknown;
      const output = await fn.call(stages, input);
      ok = true;
      return output as never;
    } finally {
      options.observer?.({ stage, studyInstanceUid, ms: performance.now() - started, ok });
    }
  };
}

/** How the headers are read for what comes next. */
export interface ScanInputOptions {
  /** A series will be decoded next (analyze): its decoding workers (config decode.workers) start loading meanwhile. */
  decodeWorkers?: number;
  /** Headers already parsed from these very files (the node's intake). */
  known?: KnownHeaderLookup;
}

/** Read the headers of DICOM files or folders (no pixels); unreadable files come back as errors. */
export function scanInputs(paths: string[], limits?: DicomLimits, options: ScanInputOptions = {}): Promise<ScanResult> {
  if (options.decodeWorkers !== undefined) warmDecodePool(options.decodeWorkers);
  return scanPaths(paths, { limits, known: options.known });
}

/** Headers by StudyInstanceUID, in the order the studies first appear. */
export function byStudy(headers: InstanceHeader[]): Map<string, InstanceHeader[]> {
  const studies = new Map<string, InstanceHeader[]>();
  for (const h of headers) studies.set(h.studyInstanceUid, [...(studies.get(h.studyInstanceUid) ?? []), h]);
  return studies;
}

/** The select stage alone: what the poller and `inspect` need (series, summaries, verdicts). */
export function chooseSeries(headers: InstanceHeader[], rules: Partial<SelectionRules> | undefined, options: RunOptions = {}): Promise<SeriesChoice> {
  return runnerFor(headers[0]?.studyInstanceUid ?? '', options)('select', 'selectSeries', { headers, rules });
}

/** The chosen series' group; E_NO_SUITABLE_SERIES (with every reason) when none qualifies. */
function chosenGroup(choice: SeriesChoice): { group: SeriesGroup; summary: SeriesSummary } {
  const summary = requireSelectedSeries(choice.selection);
  const group = choice.groups.find((g) => g.seriesInstanceUid === summary.seriesInstanceUid)!;
  return { group, summary };
}

function emptyResult(studyInstanceUid: string, seriesInstanceUid: string | null): StudyResult {
  return { studyInstanceUid, seriesInstanceUid, status: 'ok', message: '', level: null, muscle: null, segmenter: null, flags: [], verdict: null, outputs: {} };
}

/** A slice chosen by a person (or the only one) names no vertebra: the report says "given slice". */
function explicitLevel(volume: SeriesLayout, sopInstanceUid: string | undefined): LevelInfo | null {
  const chosen = explicitChoice(volume, { sopInstanceUid });
  return chosen ? levelInfoOf(chosen) : null;
}

/** The slices re-read at full resolution (the slices stage), and where a series slice lies among them. */
interface MeasuredSlices {
  planned: PlannedVolume;
  /** Index in planned.volume of series slice k (k indexes planned.ordered). */
  local(k: number): number;
}

/** The segment-measure stage's input for series slice k (the same for every slice measured). */
function segmentInput(measured: MeasuredSlices, k: number, level: LevelInfo, options: AnalyzeOptions): SegmentStageInput {
  const source = measured.planned.ordered[k];
  return {
    volume: measured.planned.volume,
    sliceIndex: measured.local(k),
    patient: { heightM: patientHeightM(source), sex: stringValue(source.dataset, 'PatientSex') },
    segmenter: options.segmenter ?? options.config.segmentation.segmenter,
    levelName: level.name,
    segmentation: options.config.segmentation,
    measurement: options.config.measurement,
  };
}

/** The level finder's extent of the chosen body (endplate to endplate); null for a given slice. */
function bodyExtent(level: LevelInfo): [number, number] | null {
  return level.name === 'as-provided' ? null : (level.evidence?.targetBodyMm ?? null);
}

/** measurement.slices "body": the series slices inside the chosen body; null when not asked for or no extent is known. */
function bodyChoice(layout: SeriesLayout, level: LevelInfo, sliceIndex: number, options: AnalyzeOptions): BodySliceChoice | null {
  const extent = bodyExtent(level);
  if (options.config.measurement.slices !== 'body' || !extent) return null;
  const thickness = layout.geometry.sliceThicknessMm ?? layout.geometry.sliceSpacingMm;
  return slicesInsideBody(layout.slices.map((s) => s.zMm), extent, thickness, sliceIndex);
}

interface BodyRun {
  body?: BodyStageOutput;
  flags: string[];
}

/**
 * measurement.slices "body": the segment-measure stage once more for every other slice inside
 * the body (the mid slice is already measured). A slice the segmenter cannot measure is left out
 * of the mean with its reason; anything but a typed error stops the study as usual.
 */
async function measureBody(run: Runner, measured: MeasuredSlices, layout: SeriesLayout, level: LevelInfo, choice: BodySliceChoice | null, sliceIndex: number, mid: SegmentStageOutput, options: AnalyzeOptions): Promise<BodyRun> {
  const extent = bodyExtent(level);
  if (!extent || !choice) return { flags: [bodyUnavailableFlag('the slice was given, not found by the level finder: no vertebral body extent is known')] };
  const { ordered } = measured.planned;
  const slices: SliceMeasurement[] = [];
  const masks = new Map<number, Uint8Array>([[sliceIndex, mid.mask]]);
  const notMeasured: SliceNotMeasured[] = [];
  for (const k of choice.indices) {
    const where = { sliceIndex: k, sopInstanceUid: ordered[k].sopInstanceUid, zMm: layout.slices[k].zMm };
    try {
      const segmented = k === sliceIndex ? mid : await run('segment-measure', 'segmentAndMeasure', segmentInput(measured, k, level, options));
      slices.push({ ...where, muscle: segmented.muscle, flags: segmented.flags });
      masks.set(k, segmented.mask);
    } catch (error) {
      if (!isCtMuscleError(error)) throw error;
      notMeasured.push({ ...where, code: error.code, message: error.message });
    }
  }
  const figures = summarizeBody({ bodyMm: extent, rule: choice.rule, slices, notMeasured });
  return { body: { figures, masks: figures.slices.map((s) => masks.get(s.sliceIndex)!) }, flags: bodyFlags(mid.muscle, figures) };
}

/** The slices read at full resolution: every measured slice and the neighbours the segmenter sees beside it. */
function measuredSliceUids(ordered: InstanceHeader[], measured: number[]): string[] {
  const wanted = new Set(measured.flatMap((k) => [k, ...neighbourIndices(k, ordered.length)]));
  return [...wanted].sort((a, b) => a - b).map((k) => ordered[k].sopInstanceUid);
}

interface LevelAndSlices {
  level: LevelInfo;
  layout: SeriesLayout;
  /** The level's slice, in the series. */
  sliceIndex: number;
  body: BodySliceChoice | null;
  measured: MeasuredSlices;
}

/** Decode → level → which slices are measured → those re-read at full resolution. */
async function levelAndSlices(run: Runner, group: SeriesGroup, options: AnalyzeOptions): Promise<LevelAndSlices> {
  const decoded: DecodedSeries = await run('volume', 'buildVolume', { group, decodeWorkers: options.config.decode.workers, gridSliceFor: options.gridSliceFor, levelGrid: options.config.decode.levelGrid });
  const { volume: layout, stack, ordered } = decoded;
  let level: LevelInfo;
  try {
    level = explicitLevel(layout, options.sliceSopInstanceUid) ?? (await run('level', 'findLevel', { volume: layout, stack, target: options.target ?? options.config.level.target }));
  } finally {
    // The stack is the level finder's alone: nothing after this stage reads it.
    if (stack && options.keepStackMemory) keepStackMemory(stack);
  }
  const sliceIndex = level.sliceIndex ?? layout.slices.findIndex((s) => s.sopInstanceUid === level.sopInstanceUid);
  const body = bodyChoice(layout, level, sliceIndex, options);
  const planned: PlannedVolume = await run('slices', 'loadSlices', { group, sopInstanceUids: measuredSliceUids(ordered, body ? [sliceIndex, ...body.indices] : [sliceIndex]), decodeWorkers: options.config.decode.workers });
  const position = new Map(planned.volume.slices.map((s, i) => [s.sopInstanceUid, i]));
  return { level, layout, sliceIndex, body, measured: { planned, local: (k) => position.get(ordered[k].sopInstanceUid)! } };
}

/**
 * Decode → level → the measured slices re-read → segment and measure (the level's slice first;
 * with measurement.slices "body" then every other slice inside the vertebral body) → report →
 * outputs, for the selected series.
 */
async function measureSeries(run: Runner, group: SeriesGroup, options: AnalyzeOptions, result: StudyResult): Promise<void> {
  const { level, layout, sliceIndex, body: choice, measured } = await levelAndSlices(run, group, options);
  result.level = level;
  const segmented = await run('segment-measure', 'segmentAndMeasure', segmentInput(measured, sliceIndex, level, options));
  const { body, flags: bodyFlagList } = options.config.measurement.slices === 'body' ? await measureBody(run, measured, layout, level, choice, sliceIndex, segmented, options) : { body: undefined, flags: [] };
  result.segmenter = segmented.segmenter;
  result.verdict = segmented.verdict ?? null;
  result.flags = [...level.warnings.map((w) => `level: ${w}`), ...segmented.flags, ...bodyFlagList];
  const { areaCm2, meanHu, sdHu, imatAreaCm2, lowAttenuationFraction, smiCm2PerM2 } = segmented.muscle;
  result.muscle = { areaCm2, meanHu, sdHu, imatAreaCm2, lowAttenuationFraction, smiCm2PerM2 };
  if (body) result.body = body.figures;
  if (!options.outDir) return;
  const report = await run('report', 'writeReport', { planned: measured.planned, sliceIndex, level, segmented, body, flags: result.flags, overlay: options.overlay ?? false, created: options.created });
  // The folder name comes only from a valid UID: a Study UID of `..` never reaches DIR's parent.
  const directory = join(options.outDir, uidPathSegment(group.studyInstanceUid, 'StudyInstanceUID'));
  result.outputs = await run('outputs', 'writeOutputs', { report, directory });
}

export interface StudyRun {
  result: StudyResult;
  /** The series the select stage chose; null when none qualified (or selection failed). */
  selected: SeriesSummary | null;
  /** True when `proceed` declined after selection: nothing past the select stage ran. */
  declined: boolean;
}

/**
 * Analyze the headers of one study. `proceed`, when given, sees the chosen series before any
 * pixel is read and may decline (the node skips a study whose chosen series did not change).
 */
export async function analyzeStudy(headers: InstanceHeader[], options: AnalyzeOptions & { proceed?: (selected: SeriesSummary) => boolean }): Promise<StudyRun> {
  const studyInstanceUid = headers[0]?.studyInstanceUid ?? '';
  const run = runnerFor(studyInstanceUid, options);
  let result = emptyResult(studyInstanceUid, null);
  let selected: SeriesSummary | null = null;
  let chosen: SeriesGroup | undefined;
  try {
    const choice = await run('select', 'selectSeries', { headers, rules: options.config.selection });
    selected = choice.selection.selected ?? null;
    const { group } = chosenGroup(choice);
    chosen = group;
    if (options.proceed && !options.proceed(selected!)) return { result, selected, declined: true };
    result = emptyResult(studyInstanceUid, group.seriesInstanceUid);
    await measureSeries(run, group, options, result);
    result.message = result.muscle ? 'measured' : '';
  } catch (error) {
    const { code, message } = describeError(error);
    result.status = code;
    result.message = message;
    logger.debug('study not measured', { studyInstanceUid, code, reason: message });
    if (options.outDir && options.config.output.notMeasuredSr) {
      const target = options.target ?? options.config.level.target;
      result.outputs = await writeNotMeasured(headers, chosen, { code, message, target, outDir: options.outDir, created: options.created });
    }
  }
  return { result, selected, declined: false };
}

/**
 * Analyze every study among the given instance headers: one result per study, errors included as
 * statuses. A failing study never stops the others.
 */
export async function analyzeHeaders(headers: InstanceHeader[], options: AnalyzeOptions): Promise<StudyResult[]> {
  const results: StudyResult[] = [];
  for (const studyHeaders of byStudy(headers).values()) results.push((await analyzeStudy(studyHeaders, options)).result);
  return results;
}

/** What the `level` command needs of one study: the chosen series decoded onto the level finder's grid. */
export interface StudyVolume {
  /** All series of the study (for naming where its files are, even when selection fails). */
  groups: SeriesGroup[];
  group: SeriesGroup;
  volume: SeriesLayout;
  stack: WorkStack | null;
}

/** Select → decode for one study (the `level` command finds the level on it); `levelGrid` as config `decode.levelGrid` (analyze's slice). */
export async function studyVolume(headers: InstanceHeader[], rules: Partial<SelectionRules> | undefined, options: RunOptions & { levelGrid?: Config['decode']['levelGrid'] } = {}): Promise<StudyVolume> {
  const run = runnerFor(headers[0]?.studyInstanceUid ?? '', options);
  const choice = await run('select', 'selectSeries', { headers, rules });
  const { group } = chosenGroup(choice);
  const { volume, stack } = await run('volume', 'buildVolume', { group, levelGrid: options.levelGrid });
  return { groups: choice.groups, group, volume, stack };
}

export interface MeasuredSlice {
  /** The header of the slice and the headers of its whole series, in volume order. */
  source: InstanceHeader;
  ordered: InstanceHeader[];
  sliceIndex: number;
  /** A volume of that one slice. */
  volume: CtVolume;
}

/** The slices stage for one given slice of whichever series holds it (the correction loop). */
export async function sliceVolume(headers: InstanceHeader[], sopInstanceUid: string, options: RunOptions = {}): Promise<MeasuredSlice> {
  const source = headers.find((h) => h.sopInstanceUid === sopInstanceUid);
  if (!source) throw new CtMuscleError('E_SLICE_NOT_FOUND', `The CT slice ${sopInstanceUid} that the SEG references is not among the given files.`);
  const group = groupIntoSeries(headers).find((g) => g.seriesInstanceUid === source.seriesInstanceUid)!;
  const run = runnerFor(source.studyInstanceUid, options);
  const { volume, ordered } = await run('slices', 'loadSlices', { group, sopInstanceUids: [sopInstanceUid] });
  return { source, ordered, sliceIndex: ordered.findIndex((h) => h.sopInstanceUid === sopInstanceUid), volume };
}
