/**
 * One call for the pipeline: take the chosen slice of a volume, segment it with the configured
 * segmenter, measure, flag and (only with site cut-offs) give a verdict. The model path is
 * cross-checked against the anatomic segmenter so a silent model failure becomes a review flag.
 */
import { CtMuscleError } from '../errors.ts';
import type { CtVolume } from '../dicom/types.ts';
import { anatomicSegmenter } from '../segment/anatomic.ts';
import { createModelSegmenter, checkSegmentInput } from '../segment/model-segmenter.ts';
import { loadManifest, type ModelManifest } from '../segment/models.ts';
import type { SegmentDiagnostics, SegmentInput, SegmentResult, Segmenter } from '../segment/types.ts';
import { lowMuscleVerdict, type Cutoff, type Verdict } from './cutoffs.ts';
import type { MuscleMeasurements, SegmenterRuntime } from '../report/types.ts';
import { DEFAULT_PLAUSIBILITY, dice, extraFlags, plausibleHeight, type PlausibilityConfig } from './flags.ts';
import { measureMuscle, plausibilityFlags } from './muscle.ts';

export interface ModelsConfig {
  /** Path of models/models.json, or an already-parsed manifest. */
  manifest: string | ModelManifest;
  /** Pipeline id in the manifest. */
  pipeline: string;
  executionProviders?: string[];
  threads?: number;
  scoreThreshold?: number;
  iouThreshold?: number;
  verifyHashes?: boolean;
}

export interface SegmentAndMeasureInput {
  volume: CtVolume;
  /** Index into volume.slices (inferior → superior). */
  sliceIndex: number;
  patient?: { heightM?: number | null; sex?: string | null };
  /** 'default' = embedded anatomic segmenter; 'sam' = the model pipeline from `models`; or an instance. */
  segmenter?: 'default' | 'sam' | Segmenter;
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

const modelSegmenters = new Map<string, Promise<Segmenter>>();

/** Model segmenters are kept per configuration, so ONNX sessions are created once per process. */
export function modelSegmenterFor(config: ModelsConfig): Promise<Segmenter> {
  const key = JSON.stringify([typeof config.manifest === 'string' ? config.manifest : config.manifest.directory, config.pipeline, config.executionProviders, config.threads, config.scoreThreshold, config.iouThreshold]);
  let pending = modelSegmenters.get(key);
  if (!pending) {
    pending = (async () => {
      const manifest = typeof config.manifest === 'string' ? await loadManifest(config.manifest) : config.manifest;
      return createModelSegmenter({ ...config, manifest });
    })();
    pending.catch(() => modelSegmenters.delete(key));
    modelSegmenters.set(key, pending);
  }
  return pending;
}

export function sliceInput(volume: CtVolume, sliceIndex: number): SegmentInput {
  const { rows, columns, pixelSpacingMm, rowCosine, columnCosine } = volume.geometry;
  const n = rows * columns;
  const count = volume.hu.length / n;
  if (!Number.isInteger(sliceIndex) || sliceIndex < 0 || sliceIndex >= count) {
    throw new CtMuscleError('E_SEGMENT_INPUT', `Slice index ${sliceIndex} is outside the volume (0…${count - 1}).`);
  }
  const at = (k: number) => volume.hu.subarray(k * n, (k + 1) * n);
  const neighbours = [sliceIndex - 1, sliceIndex + 1].filter((k) => k >= 0 && k < count).map(at);
  return { hu: at(sliceIndex), rows, columns, pixelSpacingMm, rowCosine, columnCosine, neighbours };
}

export async function segmentAndMeasure(input: SegmentAndMeasureInput): Promise<SegmentAndMeasureResult> {
  const slice = sliceInput(input.volume, input.sliceIndex);
  checkSegmentInput(slice);
  let segmenter: Segmenter;
  if (input.segmenter === undefined || input.segmenter === 'default') segmenter = anatomicSegmenter;
  else if (input.segmenter === 'sam') {
    if (!input.models) throw new CtMuscleError('E_CONFIG_INVALID', "segmenter 'sam' needs a models configuration (manifest and pipeline).");
    segmenter = await modelSegmenterFor(input.models);
  } else segmenter = input.segmenter;

  const result: SegmentResult = await segmenter.segment(slice);
  const heightGiven = typeof input.patient?.heightM === 'number';
  const height = plausibleHeight(input.patient?.heightM);
  const measureInput = { mask: result.mask, envelope: result.envelope, hu: slice.hu, rows: slice.rows, columns: slice.columns, pixelSpacingMm: slice.pixelSpacingMm, heightM: height };
  const muscle = measureMuscle(measureInput);
  if (!muscle) {
    throw new CtMuscleError('E_EMPTY_MASK', `The ${segmenter.id} segmenter found no muscle on slice ${input.sliceIndex}.`, { segmenter: segmenter.id, notes: result.diagnostics.notes });
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
