/**
 * The paper's model path: detector box (YOLO) → SAM/SAM2 box prompt → mask on the native grid →
 * −29..150 HU rule → tiny islands removed. No detector, or no box above the threshold: the
 * fallback box around the trunk's muscle/fat-range pixels. Sessions are created once per model
 * file and reused across slices.
 */
import { CtMuscleError } from '../errors.ts';
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

interface Loaded {
  encoder: LoadedSession;
  decoder: LoadedSession;
  detector: LoadedSession | null;
  encoderModel: ModelEntry;
  decoderModel: ModelEntry;
  detectorModel: ModelEntry | null;
}

// eslint-disable-next-line max-lines-per-function -- over 80 lines before issue #10; split left for a follow-up (see docs/architecture.md)
export function createModelSegmenter(options: ModelSegmenterOptions): Segmenter {
  const pipeline = findPipeline(options.manifest, options.pipeline);
  const id = `ct-muscle-node/sam:${pipeline.id}`;
  const sessionOptions: SessionOptions = { executionProviders: options.executionProviders, threads: options.threads };
  let loading: Promise<Loaded> | null = null;

  const open = async (model: ModelEntry): Promise<LoadedSession> => {
    const path = options.verifyHashes === false ? modelPath(options.manifest, model) : await verifyModelFile(options.manifest, model);
    return loadSession(path, sessionOptions, model.id);
  };
  const load = (): Promise<Loaded> => {
    loading ??= (async () => {
      const encoderModel = findModel(options.manifest, pipeline.encoder);
      const decoderModel = findModel(options.manifest, pipeline.decoder);
      const detectorModel = pipeline.detector ? findModel(options.manifest, pipeline.detector) : null;
      const [encoder, decoder, detector] = await Promise.all([open(encoderModel), open(decoderModel), detectorModel ? open(detectorModel) : Promise.resolve(null)]);
      return { encoder, decoder, detector, encoderModel, decoderModel, detectorModel };
    })();
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
    const grey = windowHu(hu);
    const { trunk, arms, armPixels } = bodyParts(boxMean3(hu, rows, columns, spacing), rows, columns, spacing);
    lap('preprocess');

    let prompt: PromptInfo | null = null;
    const scores: Record<string, number> = {};
    if (models.detector && models.detectorModel) {
      const lb = letterbox(grey, rows, columns, models.detectorModel.inputSize);
      const session = models.detector.session;
      const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', lb.tensor, [1, 3, lb.size, lb.size]) });
      const output = out[session.outputNames[0]];
      const { format, detections } = decodeYolo(output.data as Float32Array, output.dims, lb, rows, columns, {
        scoreThreshold: options.scoreThreshold ?? 0.25,
        iouThreshold: options.iouThreshold ?? 0.7,
      });
      const best: Detection | undefined = detections[0];
      notes.push(`detector ${format}: ${detections.length} box(es) above threshold`);
      if (best) {
        prompt = { source: 'detector', box: best.box, score: best.score };
        scores.detector = best.score;
      }
      lap('detector');
    }
    if (!prompt) {
      const box = fallbackBox(hu, rows, columns, trunk);
      prompt = { source: box ? 'fallback-muscle-hu' : 'none', box, score: null };
    }
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
function providerDiagnostics(models: Loaded): Pick<SegmentDiagnostics, 'executionProvider' | 'sessions'> {
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

/** Guard used by the pipeline: the slice must be a non-empty grid with positive spacing. */
export function checkSegmentInput(input: SegmentInput): void {
  const { hu, rows, columns, pixelSpacingMm } = input;
  if (!(rows > 0 && columns > 0) || hu.length !== rows * columns) {
    throw new CtMuscleError('E_SEGMENT_INPUT', `Slice of ${hu.length} values does not match ${rows}×${columns}.`);
  }
  if (!(pixelSpacingMm[0] > 0 && pixelSpacingMm[1] > 0)) throw new CtMuscleError('E_SEGMENT_INPUT', 'Pixel spacing must be positive.');
}
