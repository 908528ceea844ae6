/**
 * The SAM path timed on one execution-provider list, and two lists compared on the same slice:
 * final masks (Dice), the decoder's chosen-mask logits and the detector's raw output (largest
 * absolute difference). Used by bench/speed.ts (npm run bench:speed, and scripts/gpu on a GPU machine).
 */
import { dice } from '../../src/measure/flags.ts';
import { median } from '../../src/image/statistics.ts';
import { encoderFrame } from '../../src/segment/model-segmenter.ts';
import { findModel, findPipeline, modelPath, type ModelManifest } from '../../src/segment/models.ts';
import { loadSession, ort, type SessionOptions } from '../../src/segment/onnx-session.ts';
import { letterbox, windowHu } from '../../src/segment/preprocess.ts';
import { decodeBox, encode, samFamily } from '../../src/segment/sam.ts';
import type { Box, SegmentInput, SegmentResult, Segmenter } from '../../src/segment/types.ts';

export interface ProviderRun {
  providers: string[];
  /** What the sessions ran on (diagnostics.executionProvider) and why a preferred provider was skipped. */
  executionProvider: string | undefined;
  sessions: SegmentResult['diagnostics']['sessions'];
  /** First call: hash check, session creation and one slice. */
  firstCallMs: number;
  /** Median of the timed runs, per stage and in total (ms). */
  medianMs: Record<string, number>;
  runs: number;
  result: SegmentResult;
}

/** One warm-up call (timed as the first call), then `runs` timed calls. */
export async function timeSegmenter(segmenter: Segmenter, input: SegmentInput, providers: string[], runs: number): Promise<ProviderRun> {
  const t0 = performance.now();
  let result = await segmenter.segment(input);
  const firstCallMs = performance.now() - t0;
  const stages: Record<string, number[]> = {};
  const total: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    result = await segmenter.segment(input);
    total.push(performance.now() - t);
    for (const [stage, ms] of Object.entries(result.diagnostics.timingsMs)) (stages[stage] ??= []).push(ms);
  }
  const medianMs: Record<string, number> = {};
  for (const [stage, values] of Object.entries(stages)) medianMs[stage] = round(median(values));
  medianMs.total = round(median(total));
  return { providers, executionProvider: result.diagnostics.executionProvider, sessions: result.diagnostics.sessions, firstCallMs: round(firstCallMs), medianMs, runs, result };
}

interface RawOutputs {
  logits: Float32Array;
  iou: number;
  detector: Float32Array | null;
}

/** The decoder's logits (and the detector's output) for a fixed box, from the cached sessions of one provider list. */
async function rawOutputs(manifest: ModelManifest, pipelineId: string, options: SessionOptions, input: SegmentInput, box: Box): Promise<RawOutputs> {
  const pipeline = findPipeline(manifest, pipelineId);
  const open = (id: string) => loadSession(modelPath(manifest, findModel(manifest, id)), options, id);
  const [encoder, decoder] = await Promise.all([open(pipeline.encoder), open(pipeline.decoder)]);
  const grey = windowHu(input.hu);
  const frame = encoderFrame(findModel(manifest, pipeline.encoder), grey, input.rows, input.columns);
  const embedding = await encode(encoder, frame);
  const mask = await decodeBox(samFamily(encoder.session, decoder.session), encoder.session, decoder, embedding, frame, box, input.rows, input.columns);
  let detector: Float32Array | null = null;
  if (pipeline.detector) {
    const model = findModel(manifest, pipeline.detector);
    const { session } = await open(pipeline.detector);
    const lb = letterbox(grey, input.rows, input.columns, model.inputSize);
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', lb.tensor, [1, 3, lb.size, lb.size]) });
    detector = Float32Array.from(out[session.outputNames[0]].data as Float32Array);
  }
  return { logits: mask.logits, iou: mask.iou, detector };
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number | null {
  if (a.length !== b.length) return null;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function differingPixels(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

export interface ProviderComparison {
  providers: string[];
  against: string[];
  maskDice: number | null;
  envelopeDice: number | null;
  maskPixelsDiffering: number;
  maxAbsLogitDifference: number | null;
  iouDifference: number;
  maxAbsDetectorDifference: number | null;
}

/** `run` against `reference` on the same slice; the box is the reference's prompt, so both decode the same prompt. */
export async function compareRuns(manifest: ModelManifest, pipelineId: string, threads: number, input: SegmentInput, run: ProviderRun, reference: ProviderRun): Promise<ProviderComparison> {
  const box = reference.result.diagnostics.prompt.box;
  const base = {
    providers: run.providers,
    against: reference.providers,
    maskDice: round(dice(run.result.mask, reference.result.mask), 6),
    envelopeDice: round(dice(run.result.envelope, reference.result.envelope), 6),
    maskPixelsDiffering: differingPixels(run.result.mask, reference.result.mask),
  };
  if (!box) return { ...base, maxAbsLogitDifference: null, iouDifference: 0, maxAbsDetectorDifference: null };
  const a = await rawOutputs(manifest, pipelineId, { executionProviders: run.providers, threads }, input, box);
  const b = await rawOutputs(manifest, pipelineId, { executionProviders: reference.providers, threads }, input, box);
  return {
    ...base,
    maxAbsLogitDifference: maxAbsDifference(a.logits, b.logits),
    iouDifference: Math.abs(a.iou - b.iou),
    maxAbsDetectorDifference: a.detector && b.detector ? maxAbsDifference(a.detector, b.detector) : null,
  };
}

function round<T extends number | null>(value: T, digits = 1): T {
  if (value === null) return value;
  const f = 10 ** digits;
  return (Math.round(value * f) / f) as T;
}
