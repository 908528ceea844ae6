/**
 * The one place where the stages of a study are run in order:
 *
 *   select series → build volume → find level → segment and measure → report → outputs
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
import { scanPaths, type ScanResult } from '../dicom/scan.ts';
import { groupIntoSeries, type SeriesGroup } from '../dicom/series.ts';
import type { CtVolume, InstanceHeader, SeriesSummary } from '../dicom/types.ts';
import { CtMuscleError, describeError, isCtMuscleError } from '../errors.ts';
import { requireSelectedSeries, type SelectionRules } from '../intake/select-series.ts';
import { logger } from '../logging.ts';
import { explicitChoice, slicesInsideBody } from '../level/index.ts';
import { bodyFlags, bodyUnavailableFlag, summarizeBody } from '../measure/index.ts';
import { levelInfoOf, type LevelInfo, type LevelName, type SliceMeasurement, type SliceNotMeasured, type StudyResult } from '../model/index.ts';
import { writeNotMeasured } from './not-measured.ts';
import { DEFAULT_STAGES, type BodyStageOutput, type PlannedVolume, type SegmentStageInput, type SegmentStageOutput, type SeriesChoice, type StageName, type StageSet, type Stages } from './stages.ts';

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

/** Read the headers of DICOM files or folders (no pixels); unreadable files come back as errors. */
export function scanInputs(paths: string[], limits?: DicomLimits): Promise<ScanResult> {
  return scanPaths(paths, { limits });
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
function explicitLevel(volume: CtVolume, sopInstanceUid: string | undefined): LevelInfo | null {
  const chosen = explicitChoice(volume, { sopInstanceUid });
  return chosen ? levelInfoOf(chosen) : null;
}

/** The segment-measure stage's input for one slice of the volume (the same for every slice measured). */
function segmentInput(planned: PlannedVolume, sliceIndex: number, level: LevelInfo, options: AnalyzeOptions): SegmentStageInput {
  const source = planned.ordered[sliceIndex];
  return {
    volume: planned.volume,
    sliceIndex,
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

interface BodyRun {
  body?: BodyStageOutput;
  flags: string[];
}

/**
 * measurement.slices "body": the segment-measure stage once more for every other slice inside
 * the body (the mid slice is already measured). A slice the segmenter cannot measure is left out
 * of the mean with its reason; anything but a typed error stops the study as usual.
 */
async function measureBody(run: Runner, planned: PlannedVolume, level: LevelInfo, sliceIndex: number, mid: SegmentStageOutput, options: AnalyzeOptions): Promise<BodyRun> {
  const extent = bodyExtent(level);
  if (!extent) return { flags: [bodyUnavailableFlag('the slice was given, not found by the level finder: no vertebral body extent is known')] };
  const { volume, ordered } = planned;
  const thickness = volume.geometry.sliceThicknessMm ?? volume.geometry.sliceSpacingMm;
  const choice = slicesInsideBody(volume.slices.map((s) => s.zMm), extent, thickness, sliceIndex);
  const slices: SliceMeasurement[] = [];
  const masks = new Map<number, Uint8Array>([[sliceIndex, mid.mask]]);
  const notMeasured: SliceNotMeasured[] = [];
  for (const k of choice.indices) {
    const where = { sliceIndex: k, sopInstanceUid: ordered[k].sopInstanceUid, zMm: volume.slices[k].zMm };
    try {
      const segmented = k === sliceIndex ? mid : await run('segment-measure', 'segmentAndMeasure', segmentInput(planned, k, level, options));
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

/**
 * Volume → level → segment and measure (the level's slice first; with measurement.slices "body"
 * then every other slice inside the vertebral body) → report → outputs, for the selected series.
 */
async function measureSeries(run: Runner, group: SeriesGroup, options: AnalyzeOptions, result: StudyResult): Promise<void> {
  const planned: PlannedVolume = await run('volume', 'buildVolume', { group });
  const { volume } = planned;
  const level = explicitLevel(volume, options.sliceSopInstanceUid) ?? (await run('level', 'findLevel', { volume, target: options.target ?? options.config.level.target }));
  result.level = level;
  const sliceIndex = level.sliceIndex ?? volume.slices.findIndex((s) => s.sopInstanceUid === level.sopInstanceUid);
  const segmented = await run('segment-measure', 'segmentAndMeasure', segmentInput(planned, sliceIndex, level, options));
  const { body, flags: bodyFlagList } = options.config.measurement.slices === 'body' ? await measureBody(run, planned, level, sliceIndex, segmented, options) : { body: undefined, flags: [] };
  result.segmenter = segmented.segmenter;
  result.verdict = segmented.verdict ?? null;
  result.flags = [...level.warnings.map((w) => `level: ${w}`), ...segmented.flags, ...bodyFlagList];
  const { areaCm2, meanHu, sdHu, imatAreaCm2, lowAttenuationFraction, smiCm2PerM2 } = segmented.muscle;
  result.muscle = { areaCm2, meanHu, sdHu, imatAreaCm2, lowAttenuationFraction, smiCm2PerM2 };
  if (body) result.body = body.figures;
  if (!options.outDir) return;
  const report = await run('report', 'writeReport', { planned, sliceIndex, level, segmented, body, flags: result.flags, overlay: options.overlay ?? false, created: options.created });
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

/** What the `level` command needs of one study: the chosen series built into a volume. */
export interface StudyVolume {
  /** All series of the study (for naming where its files are, even when selection fails). */
  groups: SeriesGroup[];
  group: SeriesGroup;
  volume: CtVolume;
}

/** Select → build volume for one study (the `level` command finds the level on it). */
export async function studyVolume(headers: InstanceHeader[], rules: Partial<SelectionRules> | undefined, options: RunOptions = {}): Promise<StudyVolume> {
  const run = runnerFor(headers[0]?.studyInstanceUid ?? '', options);
  const choice = await run('select', 'selectSeries', { headers, rules });
  const { group } = chosenGroup(choice);
  const { volume } = await run('volume', 'buildVolume', { group });
  return { groups: choice.groups, group, volume };
}

export interface MeasuredSlice {
  /** The header of the slice and the headers of its whole series, in volume order. */
  source: InstanceHeader;
  ordered: InstanceHeader[];
  sliceIndex: number;
  /** A volume of that one slice. */
  volume: CtVolume;
}

/** The volume stage for one given slice of whichever series holds it (the correction loop). */
export async function sliceVolume(headers: InstanceHeader[], sopInstanceUid: string, options: RunOptions = {}): Promise<MeasuredSlice> {
  const source = headers.find((h) => h.sopInstanceUid === sopInstanceUid);
  if (!source) throw new CtMuscleError('E_SLICE_NOT_FOUND', `The CT slice ${sopInstanceUid} that the SEG references is not among the given files.`);
  const group = groupIntoSeries(headers).find((g) => g.seriesInstanceUid === source.seriesInstanceUid)!;
  const run = runnerFor(source.studyInstanceUid, options);
  const { volume, ordered } = await run('volume', 'buildVolume', { group, onlySopInstanceUids: [sopInstanceUid] });
  return { source, ordered, sliceIndex: ordered.findIndex((h) => h.sopInstanceUid === sopInstanceUid), volume };
}
