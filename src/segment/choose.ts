/**
 * Which segmenter runs for a study, and the one cache of model segmenters: ONNX sessions are
 * created once per process and configuration, whichever entry point asks.
 */
import type { CtVolume } from '../dicom/types.ts';
import { CtMuscleError } from '../errors.ts';
import { anatomicSegmenter } from './anatomic.ts';
import { loadManifest, type ModelManifest } from './models.ts';
import type { SegmentInput, Segmenter } from './types.ts';

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

/** 'default' = the embedded anatomic segmenter; 'sam' = the model pipeline of `models`; or an instance. */
export type SegmenterChoice = 'default' | 'sam' | Segmenter;

const modelSegmenters = new Map<string, Promise<Segmenter>>();

/** Model segmenters are kept per configuration, so ONNX sessions are created once per process. */
export function modelSegmenterFor(config: ModelsConfig): Promise<Segmenter> {
  const key = JSON.stringify([typeof config.manifest === 'string' ? config.manifest : config.manifest.directory, config.pipeline, config.executionProviders, config.threads, config.scoreThreshold, config.iouThreshold]);
  let pending = modelSegmenters.get(key);
  if (!pending) {
    pending = (async () => {
      const manifest = typeof config.manifest === 'string' ? await loadManifest(config.manifest) : config.manifest;
      // Loaded here, not at start: onnxruntime-node costs ~30 ms to load, and the default segmenter needs none of it.
      const { createModelSegmenter } = await import('./model-segmenter.ts');
      return createModelSegmenter({ ...config, manifest });
    })();
    pending.catch(() => modelSegmenters.delete(key));
    modelSegmenters.set(key, pending);
  }
  return pending;
}

/** The slices next to slice k of a stack of `count` (what a segmenter sees beside the chosen one). */
export function neighbourIndices(k: number, count: number): number[] {
  return [k - 1, k + 1].filter((j) => j >= 0 && j < count);
}

/** The chosen slice of a volume and its neighbours, as a segmenter takes it. */
export function sliceInput(volume: CtVolume, sliceIndex: number): SegmentInput {
  const { rows, columns, pixelSpacingMm, rowCosine, columnCosine } = volume.geometry;
  const n = rows * columns;
  const count = volume.hu.length / n;
  if (!Number.isInteger(sliceIndex) || sliceIndex < 0 || sliceIndex >= count) {
    throw new CtMuscleError('E_SEGMENT_INPUT', `Slice index ${sliceIndex} is outside the volume (0…${count - 1}).`);
  }
  const at = (k: number) => volume.hu.subarray(k * n, (k + 1) * n);
  const neighbours = neighbourIndices(sliceIndex, count).map(at);
  return { hu: at(sliceIndex), rows, columns, pixelSpacingMm, rowCosine, columnCosine, neighbours };
}

/** Guard used by the pipeline: the slice must be a non-empty grid with positive spacing. */
export function checkSegmentInput(input: SegmentInput): void {
  const { hu, rows, columns, pixelSpacingMm } = input;
  if (!(rows > 0 && columns > 0) || hu.length !== rows * columns) {
    throw new CtMuscleError('E_SEGMENT_INPUT', `Slice of ${hu.length} values does not match ${rows}×${columns}.`);
  }
  if (!(pixelSpacingMm[0] > 0 && pixelSpacingMm[1] > 0)) throw new CtMuscleError('E_SEGMENT_INPUT', 'Pixel spacing must be positive.');
}

export async function chooseSegmenter(choice: SegmenterChoice | undefined, models: ModelsConfig | undefined): Promise<Segmenter> {
  if (choice === undefined || choice === 'default') return anatomicSegmenter;
  if (choice !== 'sam') return choice;
  if (!models) throw new CtMuscleError('E_CONFIG_INVALID', "segmenter 'sam' needs a models configuration (manifest and pipeline).");
  return modelSegmenterFor(models);
}
