/**
 * The paper's model path: detector box (YOLO) → SAM/SAM2 box prompt → mask on the native grid →
 * −29..150 HU rule → tiny islands removed. No detector, or no box above the threshold: the
 * fallback box around the trunk's muscle/fat-range pixels. Sessions are created once per model
 * file and reused across slices.
 */
import { bodyParts } from './body.ts';
import { finishMuscleMask } from './hu-rule.ts';
import { findModel, findPipeline, modelPath, verifyModelFile, type ModelEntry, type ModelManifest } from './models.ts';
import { boxMean3 } from '../image/morphology.ts';
import { loadSession, ort, type LoadedSession, type SessionOptions } from './onnx-session.ts';
import { letterbox, samFrame, windowHu, type SamFrame } from './preprocess.ts';
import { fallbackBox } from './prompt.ts';
import { decodeBox, encode, maskToNative, samFamily } from './sam.ts';
import type { PromptInfo, SegmentDiagnostics, SegmentInput, SegmentResult, Segmenter, SessionDiagnostics } from './types.ts';
import { decodeYolo, type Detection } from './yolo.ts';
import { stopwatch } from './stopwatch.ts';

export interface ModelSegmenterOptions extends SessionOptions {
  manifest: ModelManifest;
  /** Pipeline id in the manifest (e.g. 'minisam'). */
  pipeline: string;
  /** Detector confidence threshold (default 0.25, Ultralytics' predict default). */
  scoreThreshold?: number;
  /** NMS IoU threshold for YOLOv8/11 outputs (default 0.7, Ultralytics' default). */
  iouThreshold?: number;
  /** Check sha256 of each file against the manifest before loading (default true). */
  verifyHashes?: boolean;
}

const SAM_MEAN: [number, number, number] = [123.675, 116.28, 103.53];
const SAM_STD: [number, number, number] = [58.395, 57.12, 57.375];

/** The encoder's input frame as the manifest describes it (size, normalisation, resize). */
export function encoderFrame(model: ModelEntry, grey: Float32Array, rows: number, columns: number): SamFrame {
  return samFrame(grey, rows, columns, model.inputSize, model.mean ?? SAM_MEAN, model.std ?? SAM_STD, model.resize ?? 'longest-side');
}

export interface LoadedPipeline {
  encoder: LoadedSession;
  decoder: LoadedSession;
  detector: LoadedSession | null;
  encoderModel: ModelEntry;
  decoderModel: ModelEntry;
  detectorModel: ModelEntry | null;
}

/** Opens (and hash-checks, unless told not to) the pipeline's encoder, decoder and detector sessions. */
export async function loadPipelineModels(options: ModelSegmenterOptions): Promise<LoadedPipeline> {
  const pipeline = findPipeline(options.manifest, options.pipeline);
  const sessionOptions: SessionOptions = { executionProviders: options.executionProviders, threads: options.threads };
  const open = async (model: ModelEntry): Promise<LoadedSession> => {
    const path = options.verifyHashes === false ? modelPath(options.manifest, model) : await verifyModelFile(options.manifest, model);
    return loadSession(path, sessionOptions, model.id);
  };
  const encoderModel = findModel(options.manifest, pipeline.encoder);
  const decoderModel = findModel(options.manifest, pipeline.decoder);
  const detectorModel = pipeline.detector ? findModel(options.manifest, pipeline.detector) : null;
  const [encoder, decoder, detector] = await Promise.all([open(encoderModel), open(decoderModel), detectorModel ? open(detectorModel) : Promise.resolve(null)]);
  return { encoder, decoder, detector, encoderModel, decoderModel, detectorModel };
}

type Thresholds = { scoreThreshold?: number; iouThreshold?: number };

export interface ChosenPrompt {
  prompt: PromptInfo;
  scores: Record<string, number>;
  notes: string[];
}

/**
 * The box prompt as inference builds it: the detector's best box when a detector is configured
 * and finds one above the threshold, else the fallback box around the trunk's muscle/fat pixels.
 * The adaptation command builds its training prompts with this same function.
 */
export async function choosePrompt(models: LoadedPipeline, grey: Float32Array, hu: Int16Array, rows: number, columns: number, trunk: Uint8Array, thresholds: Thresholds = {}): Promise<ChosenPrompt> {
  const scores: Record<string, number> = {};
  const notes: string[] = [];
  if (models.detector && models.detectorModel) {
    const lb = letterbox(grey, rows, columns, models.detectorModel.inputSize);
    const session = models.detector.session;
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', lb.tensor, [1, 3, lb.size, lb.size]) });
    const output = out[session.outputNames[0]];
    const { format, detections } = decodeYolo(output.data as Float32Array, output.dims, lb, rows, columns, {
      scoreThreshold: thresholds.scoreThreshold ?? 0.25,
      iouThreshold: thresholds.iouThreshold ?? 0.7,
    });
    const best: Detection | undefined = detections[0];
    notes.push(`detector ${format}: ${detections.length} box(es) above threshold`);
    if (best) {
      scores.detector = best.score;
      return { prompt: { source: 'detector', box: best.box, score: best.score }, scores, notes };
    }
  }
  const box = fallbackBox(hu, rows, columns, trunk);
  return { prompt: { source: box ? 'fallback-muscle-hu' : 'none', box, score: null }, scores, notes };
}

export interface SlicePrompt extends ChosenPrompt {
  grey: Float32Array;
  trunk: Uint8Array;
  arms: Uint8Array;
  armPixels: number;
}

/** Window, trunk and prompt for one slice: everything before the encoder, as inference does it. */
export async function slicePrompt(models: LoadedPipeline, input: Pick<SegmentInput, 'hu' | 'rows' | 'columns' | 'pixelSpacingMm'>, thresholds: Thresholds = {}): Promise<SlicePrompt> {
  const { hu, rows, columns, pixelSpacingMm: spacing } = input;
  const grey = windowHu(hu);
  const { trunk, arms, armPixels } = bodyParts(boxMean3(hu, rows, columns, spacing), rows, columns, spacing);
  const chosen = await choosePrompt(models, grey, hu, rows, columns, trunk, thresholds);
  return { ...chosen, grey, trunk, arms, armPixels };
}

export function createModelSegmenter(options: ModelSegmenterOptions): Segmenter {
  const pipeline = findPipeline(options.manifest, options.pipeline);
  const id = `ct-muscle-node/sam:${pipeline.id}`;
  let loading: Promise<LoadedPipeline> | null = null;
  const load = (): Promise<LoadedPipeline> => {
    loading ??= loadPipelineModels(options);
    loading.catch(() => {
      loading = null;
    });
    return loading;
  };

  const segment = async (input: SegmentInput): Promise<SegmentResult> => {
    const { hu, rows, columns, pixelSpacingMm: spacing } = input;
    const models = await load();
    const family = samFamily(models.encoder.session, models.decoder.session);
    const { timingsMs, lap } = stopwatch();
    const notes: string[] = [`${family} decoder`];
    const { grey, trunk, arms, armPixels, prompt, scores, notes: promptNotes } = await slicePrompt(models, input, options);
    notes.push(...promptNotes);
    lap(models.detector ? 'preprocess+detector' : 'preprocess');
    const empty = new Uint8Array(rows * columns);
    const versions = `encoder ${models.encoderModel.id}@${models.encoderModel.version}, decoder ${models.decoderModel.id}@${models.decoderModel.version}${models.detectorModel ? `, detector ${models.detectorModel.id}@${models.detectorModel.version}` : ''}`;
    notes.push(versions);
    if (!prompt.box) {
      notes.push('no trunk pixel in the muscle/fat range: nothing to prompt');
      return {
        mask: empty,
        envelope: empty,
        body: trunk,
        arms,
        segmenter: { id, version: pipeline.version },
        diagnostics: { prompt, scores, timingsMs, armPixels, notes, ...providerDiagnostics(models) },
      };
    }
    const frame = encoderFrame(models.encoderModel, grey, rows, columns);
    lap('frame');
    const embedding = await encode(models.encoder, frame);
    lap('encoder');
    const samMask = await decodeBox(family, models.encoder.session, models.decoder, embedding, frame, prompt.box, rows, columns);
    lap('decoder');
    scores.iou = samMask.iou;
    notes.push(`mask ${samMask.chosenIndex + 1} of ${samMask.candidates} (${samMask.maskRows}×${samMask.maskColumns}, ${samMask.space})`);
    const envelope = maskToNative(samMask, frame, rows, columns);
    const mask = finishMuscleMask(envelope, hu, rows, columns, spacing);
    lap('postprocess');
    return {
      mask,
      envelope,
      body: trunk,
      arms,
      segmenter: { id, version: pipeline.version },
      diagnostics: {
        prompt,
        scores,
        timingsMs,
        armPixels,
        notes,
        ...providerDiagnostics(models),
      },
    };
  };

  return { id, version: pipeline.version, segment };
}

/** Which provider each session runs on (and what was skipped), for the result's diagnostics. */
function providerDiagnostics(models: LoadedPipeline): Pick<SegmentDiagnostics, 'executionProvider' | 'sessions'> {
  const roles = [
    ['encoder', models.encoder, models.encoderModel],
    ['decoder', models.decoder, models.decoderModel],
    ['detector', models.detector, models.detectorModel],
  ] as const;
  const sessions: SessionDiagnostics[] = roles.flatMap(([role, loaded, model]) =>
    loaded && model ? [{ role, model: model.id, requested: loaded.requested, used: loaded.used, skipped: loaded.skipped }] : [],
  );
  return { executionProvider: [...new Set(sessions.map((s) => s.used))].join('+'), sessions };
}
