/**
 * One reference case against the node. DICOM cases go through the pipeline's study-level
 * function twice: as the node would run (our level, for level agreement) and on the reader's
 * slice (our mask there, for Dice and area). NIfTI cases cannot enter the DICOM pipeline: the
 * pipeline's own stage functions run on the volume instead (level finder on the whole volume,
 * segment-and-measure on the reader's slice), as `level` and bench:accuracy do for NIfTI.
 */
import { capturingStages, type CapturedSlice } from '../batch/capture-stages.ts';
import type { Config } from '../config.ts';
import { CtMuscleError, describeError, ERROR_CODES, type ErrorCode } from '../errors.ts';
import { MUSCLE_HU_WINDOW, type LevelName } from '../model/index.ts';
import { analyzeHeaders, DEFAULT_STAGES, type Stages } from '../pipeline/index.ts';
import type { ReferenceCase } from '../reference/read-reference.ts';
import { bodyAreaOf, type BodyArea } from './types.ts';
import { compareMasks, withinHu, type AreaComparison } from './metrics.ts';

export interface OurLevel {
  name: string;
  sliceIndex: number | null;
  zMm: number | null;
}

export interface CaseEvaluation {
  /** Our level (as the node would pick it), or why there is none. */
  level: OurLevel | { error: { code: string; message: string } };
  /** Our mask on the reader's slice. */
  ours: CapturedSlice;
  segmenter: { id: string; version: string } | null;
  /** measurement.slices "body": our area over the body we found (DICOM cases; null otherwise). */
  oursBody: BodyArea | null;
  /** Against the reader's whole mask, and against its −29..150 HU pixels (the primary figure). */
  full: AreaComparison;
  inRange: AreaComparison;
  readerInRange: Uint8Array;
}

export interface EvaluateOptions {
  config: Config;
  stages?: Stages;
  target?: LevelName;
  segmenter?: 'default' | 'sam';
}

async function dicomLevel(ref: ReferenceCase, options: EvaluateOptions): Promise<Pick<CaseEvaluation, 'level' | 'oursBody'>> {
  const [result] = await analyzeHeaders(ref.ctHeaders, { config: options.config, stages: options.stages, target: options.target, segmenter: options.segmenter });
  if (!result.level) return { level: { error: { code: result.status, message: result.message } }, oursBody: null };
  return { level: { name: result.level.name, sliceIndex: result.level.sliceIndex ?? null, zMm: result.level.zMm ?? null }, oursBody: bodyAreaOf(result.body) };
}

async function dicomOnReaderSlice(ref: ReferenceCase, options: EvaluateOptions): Promise<{ slice: CapturedSlice; segmenter: CaseEvaluation['segmenter'] }> {
  const capture = capturingStages(options.stages);
  const [result] = await analyzeHeaders(ref.ctHeaders, { config: options.config, stages: capture.stages, sliceSopInstanceUid: ref.sliceSopInstanceUid, segmenter: options.segmenter });
  const slice = capture.captured();
  if (!slice) {
    // The pipeline reports its failure as a status; keep its code for the case.
    const code = result.status in ERROR_CODES ? (result.status as ErrorCode) : 'E_STAGE_UNAVAILABLE';
    throw new CtMuscleError(code, result.message || "The pipeline did not segment the reader's slice.");
  }
  return { slice, segmenter: result.segmenter && { id: result.segmenter.id, version: result.segmenter.version } };
}

async function niftiLevel(ref: ReferenceCase, options: EvaluateOptions, stages: Stages): Promise<CaseEvaluation['level']> {
  try {
    const volume = await ref.loadVolume();
    const found = await stages.findLevel({ volume, target: options.target ?? options.config.level.target });
    return { name: found.name, sliceIndex: found.sliceIndex ?? null, zMm: found.zMm ?? null };
  } catch (error) {
    return { error: describeError(error) };
  }
}

async function niftiOnReaderSlice(ref: ReferenceCase, options: EvaluateOptions, stages: Stages): Promise<{ slice: CapturedSlice; segmenter: CaseEvaluation['segmenter'] }> {
  const capture = capturingStages(stages);
  const output = await capture.stages.segmentAndMeasure({
    volume: await ref.loadVolume(),
    sliceIndex: ref.sliceIndex,
    patient: {},
    segmenter: options.segmenter ?? options.config.segmentation.segmenter,
    levelName: 'as-provided',
    segmentation: options.config.segmentation,
    measurement: options.config.measurement,
  });
  return { slice: capture.captured()!, segmenter: { id: output.segmenter.id, version: output.segmenter.version } };
}

export async function evaluateCase(ref: ReferenceCase, options: EvaluateOptions): Promise<CaseEvaluation> {
  const stages = options.stages ?? DEFAULT_STAGES;
  const dicom = ref.ctSource.kind === 'dicom';
  const { level, oursBody } = dicom ? await dicomLevel(ref, options) : { level: await niftiLevel(ref, options, stages), oursBody: null };
  const { slice, segmenter } = dicom ? await dicomOnReaderSlice(ref, options) : await niftiOnReaderSlice(ref, options, stages);
  const pixelAreaCm2 = (ref.pixelSpacingMm[0] * ref.pixelSpacingMm[1]) / 100;
  const readerInRange = withinHu(ref.mask, ref.hu, MUSCLE_HU_WINDOW);
  return {
    level,
    ours: slice,
    segmenter,
    oursBody,
    full: compareMasks(slice.mask, ref.mask, pixelAreaCm2),
    inRange: compareMasks(slice.mask, readerInRange, pixelAreaCm2),
    readerInRange,
  };
}
