/**
 * Few-shot site adaptation, end to end: refuse bad input, encode each slice once (frozen
 * encoder), build the prompts as inference does, train the mask decoder in Python (tools/adapt),
 * check that the exported ONNX reproduces the trained PyTorch decoder, measure the validation
 * slices before/after through the node's SAM decoding, and register the decoder in a manifest.
 */
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { CtMuscleError } from '../errors.ts';
import { findPipeline, type ModelManifest } from '../segment/models.ts';
import { loadPipelineModels } from '../segment/model-segmenter.ts';
import { checkCaseCounts, checkSliceMask, DEFAULT_MIN_TRAINING_CASES } from './checks.ts';
import { evaluateDecoders, type ValidationFigures } from './evaluate.ts';
import { DEFAULT_PYTHON, findPython, runPythonModule, type PythonInfo } from './python.ts';
import { writeAdaptedManifest } from './register.ts';
import { writeTrainingSet, type AdaptSlice } from './training-set.ts';
import { compareDecoder, type DecoderComparison } from './verify.ts';

export interface AdaptOptions {
  train: AdaptSlice[];
  val: AdaptSlice[];
  outDir: string;
  /** The manifest and pipeline whose decoder is adapted (its encoder and detector are reused). */
  manifest: ModelManifest;
  pipeline: string;
  /** New pipeline id and version (default 'muscle-adapted', UTC date-time). */
  id?: string;
  version?: string;
  epochs?: number;
  /** Stop after this many epochs without a better validation Dice (0: never). */
  patience?: number;
  /** Stop after the epoch that passes this wall time, keeping the best epoch (0/absent: no limit). */
  maxMinutes?: number;
  lr?: number;
  batch?: number;
  seed?: number;
  minTrainingCases?: number;
  python?: string;
  threads?: number;
  /** Detector thresholds, as configured for inference (prompts are built as inference builds them). */
  thresholds?: { scoreThreshold?: number; iouThreshold?: number };
  /** Largest accepted |ONNX − PyTorch| logit difference on the validation slices. */
  tolerance?: number;
  onProgress?: (event: Record<string, unknown>) => void;
}

export interface AdaptSummary {
  pipeline: { id: string; version: string };
  manifest: string;
  decoder: { file: string; sha256: string };
  python: PythonInfo;
  trainingCases: number;
  validationCases: number;
  epochsRun: number;
  bestEpoch: number;
  trainingSeconds: number;
  /** Validation Dice of the decoder's own mask (logit > 0), PyTorch, before/after. */
  decoderDice: { before: number | null; after: number | null };
  /** The same slices through the node's SAM path (HU rule, islands): Dice and area before/after. */
  validation: ValidationFigures;
  exportCheck: DecoderComparison;
}

const DEFAULT_TOLERANCE = 1e-3;

function defaultVersion(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '.');
}

interface TrainingResult {
  bestEpoch: number;
  epochsRun: number;
  valDiceBefore: number | null;
  valDiceAfter: number | null;
  trainingSeconds: number;
  recipe: Record<string, unknown>;
}

export async function adaptDecoder(options: AdaptOptions): Promise<AdaptSummary> {
  const progress = options.onProgress ?? (() => undefined);
  checkCaseCounts(options.train.length, options.val.length, options.minTrainingCases ?? DEFAULT_MIN_TRAINING_CASES);
  for (const slice of [...options.train, ...options.val]) checkSliceMask(slice);
  const python = await findPython(options.python ?? DEFAULT_PYTHON);
  const basePipeline = findPipeline(options.manifest, options.pipeline);
  const models = await loadPipelineModels({ manifest: options.manifest, pipeline: options.pipeline, threads: options.threads });
  const id = options.id ?? 'muscle-adapted';
  const version = options.version ?? defaultVersion();
  const datasetDir = join(options.outDir, 'dataset');
  const trainingDir = join(options.outDir, 'training');
  await mkdir(trainingDir, { recursive: true });

  const slices = [...options.train.map((slice) => ({ slice, split: 'train' as const })), ...options.val.map((slice) => ({ slice, split: 'val' as const }))];
  const dataset = await writeTrainingSet(datasetDir, slices, models, (done, total) => progress({ event: 'embedding', done, total }), options.thresholds);
  const args = ['--dataset', datasetDir, '--base', models.decoder.path, '--out', trainingDir, '--epochs', String(options.epochs ?? 300), '--patience', String(options.patience ?? 0)];
  args.push('--lr', String(options.lr ?? 6e-5), '--batch', String(options.batch ?? 2), '--seed', String(options.seed ?? 0), '--threads', String(options.threads ?? 2), '--max-minutes', String(options.maxMinutes ?? 0));
  const events = await runPythonModule(python.python, 'tools.adapt.train', args, progress, options.threads ?? 2);
  const done = events.find((e) => e.event === 'done');
  if (!done) throw new CtMuscleError('E_ADAPT_TRAINING', 'The training step ended without reporting a decoder.');

  const exportCheck = await compareDecoder(join(trainingDir, 'decoder.onnx'), datasetDir, join(trainingDir, 'reference'), options.threads ?? 2);
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  if (!(exportCheck.maxAbsDiff.masks <= tolerance && exportCheck.maxAbsDiff.low_res_masks <= tolerance)) {
    throw new CtMuscleError('E_ADAPT_EXPORT', `The exported decoder differs from the trained one by up to ${exportCheck.maxAbsDiff.masks} (masks) / ${exportCheck.maxAbsDiff.low_res_masks} (low-res) logits; tolerance ${tolerance}.`, { ...exportCheck.maxAbsDiff });
  }
  const decoderFile = `${id}-${version}.decoder.onnx`;
  await rename(join(trainingDir, 'decoder.onnx'), join(options.outDir, decoderFile));
  const validation = await evaluateDecoders(datasetDir, dataset, options.val, models.encoder.session, models.decoder.path, join(options.outDir, decoderFile), options.threads ?? 2);
  const training = JSON.parse(await readFile(join(trainingDir, 'training.json'), 'utf8')) as TrainingResult;

  const registered = await writeAdaptedManifest(options.outDir, options.manifest, basePipeline, {
    id,
    version,
    decoderFile,
    adaptation: {
      base: { id: models.decoderModel.id, version: models.decoderModel.version, sha256: models.decoderModel.sha256 },
      trainingCases: options.train.map((s) => s.id),
      validationCases: options.val.map((s) => s.id),
      recipe: { ...training.recipe, bestEpoch: training.bestEpoch, epochsRun: training.epochsRun, prompt: models.detector ? 'detector box, else fallback box' : 'fallback box' },
      figures: {
        valDiceBefore: validation.meanDiceBefore,
        valDiceAfter: validation.meanDiceAfter,
        valAreaDiffPercentBefore: validation.meanAreaDiffPercentBefore,
        valAreaDiffPercentAfter: validation.meanAreaDiffPercentAfter,
        exportMaxLogitDiff: exportCheck.maxAbsDiff.masks,
      },
      createdAt: new Date().toISOString(),
    },
  });
  return {
    pipeline: { id, version },
    manifest: registered.path,
    decoder: { file: join(options.outDir, decoderFile), sha256: registered.decoder.sha256 },
    python,
    trainingCases: options.train.length,
    validationCases: options.val.length,
    epochsRun: training.epochsRun,
    bestEpoch: training.bestEpoch,
    trainingSeconds: training.trainingSeconds,
    decoderDice: { before: training.valDiceBefore, after: training.valDiceAfter },
    validation,
    exportCheck,
  };
}
