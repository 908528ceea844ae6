/**
 * One call for the pipeline: take the chosen slice of a volume, segment it with the configured
 * segmenter, measure, flag and (only with site cut-offs) give a verdict. The model path is
 * cross-checked against the anatomic segmenter so a silent model failure becomes a review flag.
 */
import { CtMuscleError } from '../errors.ts';
import type { CtVolume } from '../dicom/types.ts';
import { anatomicSegmenter } from '../segment/anatomic.ts';
import { checkSegmentInput, chooseSegmenter, sliceInput, type ModelsConfig, type SegmenterChoice } from '../segment/choose.ts';
import type { SegmentDiagnostics, SegmentInput, SegmentResult } from '../segment/types.ts';
import type { MuscleMeasurements, SegmenterRuntime, Verdict } from '../model/index.ts';
import { lowMuscleVerdict, type Cutoff } from './cutoffs.ts';
import { DEFAULT_PLAUSIBILITY, dice, extraFlags, plausibleHeight, type PlausibilityConfig } from './flags.ts';
import { measureMuscle, plausibilityFlags } from './muscle.ts';

export interface SegmentAndMeasureInput {
  volume: CtVolume;
  /** Index into volume.slices (inferior → superior). */
  sliceIndex: number;
  patient?: { heightM?: number | null; sex?: string | null };
  /** 'default' = embedded anatomic segmenter; 'sam' = the model pipeline from `models`; or an instance. */
  segmenter?: SegmenterChoice;
  models?: ModelsConfig;
  cutoffs?: Cutoff[];
  /** Level label for cut-off matching (default 'T12'). */
  level?: string;
  plausibility?: PlausibilityConfig;
  /** Run the anatomic segmenter beside a model one and flag disagreement (default true). */
  crossCheck?: boolean;
}

export interface SegmentAndMeasureResult {
  mask: Uint8Array;
  envelope: Uint8Array;
  rows: number;
  columns: number;
  muscle: MuscleMeasurements;
  /** Prompt as text for the reports (null for the model-free segmenter); the structured prompt is in diagnostics. */
  segmenter: { id: string; version: string; prompt: string | null; runtime?: SegmenterRuntime };
  flags: string[];
  verdict: Verdict | null;
  crossCheck: { segmenter: string; dice: number | null; areaDifference: number | null } | null;
  diagnostics: SegmentDiagnostics;
}

export async function segmentAndMeasure(input: SegmentAndMeasureInput): Promise<SegmentAndMeasureResult> {
  // The level travels with the slice so a segmenter can flag a level it was not made for.
  const slice: SegmentInput = { ...sliceInput(input.volume, input.sliceIndex), level: input.level };
  checkSegmentInput(slice);
  const segmenter = await chooseSegmenter(input.segmenter, input.models);

  const result: SegmentResult = await segmenter.segment(slice);
  const heightGiven = typeof input.patient?.heightM === 'number';
  const height = plausibleHeight(input.patient?.heightM);
  const measureInput = { mask: result.mask, envelope: result.envelope, hu: slice.hu, rows: slice.rows, columns: slice.columns, pixelSpacingMm: slice.pixelSpacingMm, heightM: height };
  const muscle = measureMuscle(measureInput);
  if (!muscle) {
    throw new CtMuscleError('E_EMPTY_MASK', `The ${segmenter.id} segmenter found no muscle on slice ${input.volume.slices[input.sliceIndex]?.sopInstanceUid ?? input.sliceIndex}.`, { segmenter: segmenter.id, notes: result.diagnostics.notes });
  }

  let crossCheck: SegmentAndMeasureResult['crossCheck'] = null;
  if (segmenter.id !== anatomicSegmenter.id && input.crossCheck !== false) {
    const reference = await anatomicSegmenter.segment(slice);
    let a = 0;
    let b = 0;
    for (let i = 0; i < result.mask.length; i++) {
      a += result.mask[i];
      b += reference.mask[i];
    }
    crossCheck = { segmenter: anatomicSegmenter.id, dice: dice(result.mask, reference.mask), areaDifference: Math.max(a, b) > 0 ? Math.abs(a - b) / Math.max(a, b) : null };
  }
  const flags = [
    ...plausibilityFlags(measureInput, muscle, { areaRangeCm2: input.plausibility?.areaRangeCm2 ?? DEFAULT_PLAUSIBILITY.areaRangeCm2 }),
    ...extraFlags({
      armPixels: result.diagnostics.armPixels,
      pixelSpacingMm: slice.pixelSpacingMm,
      promptSource: result.diagnostics.prompt.source,
      crossCheck,
      heightGiven,
      heightUsable: height !== undefined,
      config: input.plausibility,
    }),
    ...(result.reviewFlags ?? []),
  ];
  const verdict = lowMuscleVerdict(muscle, input.cutoffs ?? [], input.level ?? 'T12', input.patient?.sex ?? null);
  return {
    mask: result.mask,
    envelope: result.envelope,
    rows: slice.rows,
    columns: slice.columns,
    muscle,
    segmenter: { ...result.segmenter, prompt: describePrompt(result.diagnostics.prompt), ...runtimeOf(result.diagnostics) },
    flags,
    verdict,
    crossCheck,
    diagnostics: result.diagnostics,
  };
}

/** The provider the models ran on, for the result JSON and the job result (absent for the model-free segmenter). */
function runtimeOf(diagnostics: SegmentDiagnostics): { runtime?: SegmenterRuntime } {
  if (!diagnostics.executionProvider || !diagnostics.sessions) return {};
  const skipped = diagnostics.sessions.flatMap((s) => s.skipped.map(({ provider, reason }) => ({ model: s.model, provider, reason })));
  return { runtime: { executionProvider: diagnostics.executionProvider, skipped } };
}

function describePrompt(prompt: SegmentDiagnostics['prompt']): string | null {
  if (prompt.source === 'none' || !prompt.box) return null;
  const { x1, y1, x2, y2 } = prompt.box;
  const where = `columns ${Math.round(x1)}–${Math.round(x2)}, rows ${Math.round(y1)}–${Math.round(y2)}`;
  return prompt.source === 'detector'
    ? `box from the detector (score ${prompt.score?.toFixed(2)}): ${where}`
    : `fallback box around the muscle/fat-range (−190..150 HU) trunk pixels: ${where}`;
}
