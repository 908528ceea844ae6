/**
 * Where the stages meet: intake (scan, group, select) → volume → level → segmentation and
 * measurement → report (SEG, SR, JSON) → outputs. Each stage lives in its own folder; this file
 * only passes data between them. A stage that is not available fails the study with a clear
 * error (E_STAGE_UNAVAILABLE), never a made-up result.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKAGED_MODEL_MANIFEST, type Config } from './config.ts';
import { numberValue, stringValue } from './dicom/dataset-values.ts';
import { groupIntoSeries, summarizeSeries, type SeriesGroup } from './dicom/series.ts';
import type { CtVolume, InstanceHeader } from './dicom/types.ts';
import { buildVolume, planVolume } from './dicom/volume.ts';
import { CtMuscleError, describeError } from './errors.ts';
import { requireSelectedSeries, selectSeries } from './intake/select-series.ts';
import { logger } from './logging.ts';
import { segmentAndMeasure, type Verdict } from './measure/index.ts';
import { explicitChoice, findLevel } from './level/index.ts';
import { writeReport, type LevelInfo, type MuscleMeasurements, type SegmenterInfo } from './report/index.ts';

export type LevelTarget = 'T12' | 'L1' | 'L2' | 'L3';

export interface LevelStageInput {
  volume: CtVolume;
  target: LevelTarget;
}

export interface SegmentStageInput {
  volume: CtVolume;
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

/** The stages that are swapped in as they are built (and replaced in tests). */
export interface Stages {
  findLevel(input: LevelStageInput): LevelInfo | Promise<LevelInfo>;
  segmentAndMeasure(input: SegmentStageInput): SegmentStageOutput | Promise<SegmentStageOutput>;
}

function unavailable(stage: string): never {
  throw new CtMuscleError('E_STAGE_UNAVAILABLE', `The ${stage} stage is not available in this build; the study was not measured.`);
}

/** Stages that are all missing: what a build without them does (used by tests of that path). */
export const UNAVAILABLE_STAGES: Stages = {
  findLevel: () => unavailable('level-finding'),
  segmentAndMeasure: () => unavailable('segmentation'),
};

export const DEFAULT_STAGES: Stages = {
  findLevel: ({ volume, target }) => {
    const found = findLevel(volume, { target });
    return { ...found, name: found.name as LevelTarget };
  },
  segmentAndMeasure: async (input) => {
    const { models, crossCheck } = input.segmentation;
    const { cutoffs, ...plausibility } = input.measurement;
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
};

/** The muscle HU range of the method (−29..150 HU). */
export const MUSCLE_HU_WINDOW = { lowerHu: -29, upperHu: 150 };

export interface AnalyzeOptions {
  config: Config;
  stages?: Stages;
  /** Measure this slice (SOP Instance UID) instead of finding the level. */
  sliceSopInstanceUid?: string;
  target?: LevelTarget;
  segmenter?: 'default' | 'sam';
  /** Write seg.dcm, sr.dcm, result.json (and overlay.dcm) under DIR/<StudyInstanceUID>/. */
  outDir?: string;
  overlay?: boolean;
  created?: Date;
}

/** One line of `analyze` output per study: a public contract (docs/cli.md). */
export interface StudyResult {
  studyInstanceUid: string;
  seriesInstanceUid: string | null;
  status: 'ok' | string;
  message: string;
  level: LevelInfo | null;
  muscle: Omit<MuscleMeasurements, 'pixelCount'> | null;
  segmenter: SegmenterInfo | null;
  flags: string[];
  /** "Low muscle" only from a site-configured cut-off, with its citation; null when none applies. */
  verdict: Verdict | null;
  outputs: StudyOutputs;
}

export interface OutputFile {
  path: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
}

/** Files written for a study (with --out, or by the node): the DICOM objects and the JSON result. */
export interface StudyOutputs {
  seg?: OutputFile;
  sr?: OutputFile;
  overlay?: OutputFile;
  json?: string;
}

function emptyResult(studyInstanceUid: string, seriesInstanceUid: string | null): StudyResult {
  return { studyInstanceUid, seriesInstanceUid, status: 'ok', message: '', level: null, muscle: null, segmenter: null, flags: [], verdict: null, outputs: {} };
}

/** The patient's height in metres when PatientSize holds a plausible one; never guessed. */
export function patientHeightM(header: InstanceHeader): number | undefined {
  const size = numberValue(header.dataset, 'PatientSize');
  return size !== undefined && size > 0.5 && size < 2.6 ? size : undefined;
}

/** A slice chosen by a person (or the only one) names no vertebra: the report says "given slice". */
function explicitLevel(volume: CtVolume, sopInstanceUid: string | undefined): LevelInfo | null {
  const chosen = explicitChoice(volume, { sopInstanceUid });
  if (!chosen) return null;
  const { sliceIndex, zMm, rule, method, warnings } = chosen;
  return { name: 'as-provided', sliceIndex, sopInstanceUid: chosen.sopInstanceUid, zMm, rule, method, confidence: null, warnings };
}

async function analyzeGroup(group: SeriesGroup, options: AnalyzeOptions, result: StudyResult): Promise<void> {
  const stages = options.stages ?? DEFAULT_STAGES;
  const volume = await buildVolume(group);
  const level: LevelInfo = explicitLevel(volume, options.sliceSopInstanceUid) ?? (await stages.findLevel({ volume, target: options.target ?? options.config.level.target }));
  result.level = level;
  const sliceIndex = level.sliceIndex ?? volume.slices.findIndex((s) => s.sopInstanceUid === level.sopInstanceUid);
  const ordered = planVolume(group).ordered;
  const source = ordered[sliceIndex];
  const segmented = await stages.segmentAndMeasure({
    volume,
    sliceIndex,
    patient: { heightM: patientHeightM(source), sex: stringValue(source.dataset, 'PatientSex') },
    segmenter: options.segmenter ?? options.config.segmentation.segmenter,
    levelName: level.name,
    segmentation: options.config.segmentation,
    measurement: options.config.measurement,
  });
  result.segmenter = segmented.segmenter;
  result.verdict = segmented.verdict ?? null;
  result.flags = [...level.warnings.map((w) => `level: ${w}`), ...segmented.flags];
  const { areaCm2, meanHu, sdHu, imatAreaCm2, lowAttenuationFraction, smiCm2PerM2 } = segmented.muscle;
  result.muscle = { areaCm2, meanHu, sdHu, imatAreaCm2, lowAttenuationFraction, smiCm2PerM2 };
  if (!options.outDir) return;
  const pixels = volume.geometry.rows * volume.geometry.columns;
  const report = writeReport({
    source,
    seriesSlices: ordered,
    level,
    segmenter: segmented.segmenter,
    flags: result.flags,
    huWindow: MUSCLE_HU_WINDOW,
    mask: segmented.mask,
    hu: volume.hu.subarray(sliceIndex * pixels, (sliceIndex + 1) * pixels),
    measurements: segmented.muscle,
    options: { overlay: options.overlay ?? false, created: options.created },
  });
  const directory = join(options.outDir, group.studyInstanceUid);
  await mkdir(directory, { recursive: true });
  const written: StudyOutputs = {};
  for (const [name, output] of [['seg', report.seg], ['sr', report.sr], ['overlay', report.overlay]] as const) {
    if (!output) continue;
    const path = join(directory, `${name}.dcm`);
    await writeFile(path, output.bytes);
    written[name] = { path, sopInstanceUid: output.sopInstanceUid, seriesInstanceUid: output.seriesInstanceUid };
  }
  const jsonPath = join(directory, 'result.json');
  await writeFile(jsonPath, `${JSON.stringify(report.result, null, 2)}\n`);
  written.json = jsonPath;
  result.outputs = written;
}

/**
 * Analyze every study among the given instance headers: one result per study, errors included as
 * statuses. A failing study never stops the others.
 */
export async function analyzeHeaders(headers: InstanceHeader[], options: AnalyzeOptions): Promise<StudyResult[]> {
  const byStudy = new Map<string, InstanceHeader[]>();
  for (const h of headers) byStudy.set(h.studyInstanceUid, [...(byStudy.get(h.studyInstanceUid) ?? []), h]);
  const results: StudyResult[] = [];
  for (const [studyInstanceUid, studyHeaders] of byStudy) {
    const groups = groupIntoSeries(studyHeaders);
    let result = emptyResult(studyInstanceUid, null);
    try {
      const selection = selectSeries(groups.map(summarizeSeries), options.config.selection);
      const selected = requireSelectedSeries(selection);
      const group = groups.find((g) => g.seriesInstanceUid === selected.seriesInstanceUid)!;
      result = emptyResult(studyInstanceUid, group.seriesInstanceUid);
      await analyzeGroup(group, options, result);
      result.message = result.muscle ? 'measured' : '';
    } catch (error) {
      const { code, message } = describeError(error);
      result.status = code;
      result.message = message;
      logger.info('study not measured', { studyInstanceUid, code });
    }
    results.push(result);
  }
  return results;
}
