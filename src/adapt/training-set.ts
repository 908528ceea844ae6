/**
 * The training set the Python step reads: per slice, the frozen encoder's image embedding
 * (computed once here with onnxruntime, float32 [256, 64, 64]), the box prompt exactly as
 * inference builds it (detector box, else the fallback box) in input-frame pixels, and the
 * reader's mask on the native grid. Raw little-endian files + one JSON index (dataset.json), so
 * numpy reads them without a parser.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CtMuscleError } from '../errors.ts';
import { encoderFrame, slicePrompt, type LoadedPipeline } from '../segment/model-segmenter.ts';
import type { SamFrame } from '../segment/preprocess.ts';
import { encode, samFamily } from '../segment/sam.ts';
import type { Box, PromptInfo } from '../segment/types.ts';

export const DATASET_FORMAT = 'ct-muscle-node/adapt-dataset@1';

export interface AdaptSlice {
  /** Case id (folder name); never patient data. */
  id: string;
  hu: Int16Array;
  rows: number;
  columns: number;
  pixelSpacingMm: [number, number];
  /** The reader's muscle mask on the same grid, 0/1. */
  mask: Uint8Array;
}

export type Split = 'train' | 'val';

type Thresholds = { scoreThreshold?: number; iouThreshold?: number };

export interface DatasetCase {
  id: string;
  split: Split;
  rows: number;
  columns: number;
  pixelSpacingMm: [number, number];
  /** Relative to the dataset folder. */
  embedding: string;
  mask: string;
  /** Box corners in input-frame pixels, as the decoder receives them: [x1, y1, x2, y2]. */
  pointCoords: [number, number, number, number];
  box: Box;
  /** Input-frame pixels per native pixel (columns, rows): maps the decoder's masks back. */
  frameScale: [number, number];
  promptSource: PromptInfo['source'];
  maskPixels: number;
}

export interface Dataset {
  format: typeof DATASET_FORMAT;
  frameSize: number;
  embeddingDims: number[];
  encoder: { id: string; version: string; sha256: string };
  detector: { id: string; version: string } | null;
  cases: DatasetCase[];
}

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * The encoder runs once per slice: its embedding is kept under `embeddings/<key>.f32` beside the
 * training set, keyed by the encoder's sha256 and the slice's pixels, so a second adaptation on
 * the same slices (other epochs, another split) does not encode again.
 */
async function cachedEmbedding(dir: string, slice: AdaptSlice, frame: SamFrame, models: LoadedPipeline): Promise<{ file: string; dims: number[] }> {
  const key = createHash('sha256').update(`${models.encoderModel.sha256}|${slice.rows}|${slice.columns}|`).update(bytesOf(slice.hu)).digest('hex').slice(0, 32);
  const file = `embeddings/${key}.f32`;
  const dimsFile = join(dir, `${file}.json`);
  try {
    return { file, dims: JSON.parse(await readFile(dimsFile, 'utf8')) as number[] };
  } catch {
    // not cached yet
  }
  const embedding = await encode(models.encoder, frame);
  const tensor = embedding[models.encoder.session.outputNames[0]];
  const dims = tensor.dims.slice(1) as number[];
  await mkdir(join(dir, 'embeddings'), { recursive: true });
  await writeFile(join(dir, file), bytesOf(tensor.data as Float32Array));
  // The dims file is written last: its presence marks a complete embedding.
  await writeFile(dimsFile, JSON.stringify(dims));
  return { file, dims };
}

async function writeCase(dir: string, index: number, slice: AdaptSlice, split: Split, models: LoadedPipeline, thresholds: Thresholds): Promise<{ entry: DatasetCase; dims: number[] }> {
  const { prompt, grey } = await slicePrompt(models, slice, thresholds);
  if (!prompt.box) throw new CtMuscleError('E_ADAPT_MASK', `Case ${slice.id}: no trunk pixel in the −190..150 HU range, so no box prompt can be built.`, { case: slice.id });
  const frame = encoderFrame(models.encoderModel, grey, slice.rows, slice.columns);
  const name = `${String(index).padStart(4, '0')}`;
  const { file, dims } = await cachedEmbedding(dir, slice, frame, models);
  await writeFile(join(dir, 'cases', `${name}.mask.u8`), bytesOf(slice.mask));
  const { box } = prompt;
  const entry: DatasetCase = {
    id: slice.id,
    split,
    rows: slice.rows,
    columns: slice.columns,
    pixelSpacingMm: slice.pixelSpacingMm,
    embedding: file,
    mask: `cases/${name}.mask.u8`,
    pointCoords: [box.x1 * frame.scaleX, box.y1 * frame.scaleY, box.x2 * frame.scaleX, box.y2 * frame.scaleY],
    box,
    frameScale: [frame.scaleX, frame.scaleY],
    promptSource: prompt.source,
    maskPixels: slice.mask.reduce((s, v) => s + v, 0),
  };
  return { entry, dims };
}

/** Encodes every slice once and writes `dir/dataset.json` + `dir/cases/*`. Only SAM (not SAM2) decoders for now. */
export async function writeTrainingSet(dir: string, slices: Array<{ slice: AdaptSlice; split: Split }>, models: LoadedPipeline, onCase?: (done: number, total: number) => void, thresholds: Thresholds = {}): Promise<Dataset> {
  if (samFamily(models.encoder.session, models.decoder.session) !== 'sam') {
    throw new CtMuscleError('E_ADAPT_UNSUPPORTED', 'Adaptation here re-creates segment-anything\'s SAM decoder; the pipeline\'s decoder is a SAM2 export (see docs/models.md, "Adapting a SAM2 decoder").');
  }
  await mkdir(join(dir, 'cases'), { recursive: true });
  const cases: DatasetCase[] = [];
  let embeddingDims: number[] = [];
  for (const [i, { slice, split }] of slices.entries()) {
    const { entry, dims } = await writeCase(dir, i, slice, split, models, thresholds);
    cases.push(entry);
    embeddingDims = dims;
    onCase?.(i + 1, slices.length);
  }
  const dataset: Dataset = {
    format: DATASET_FORMAT,
    frameSize: models.encoderModel.inputSize,
    embeddingDims,
    encoder: { id: models.encoderModel.id, version: models.encoderModel.version, sha256: models.encoderModel.sha256 },
    detector: models.detectorModel ? { id: models.detectorModel.id, version: models.detectorModel.version } : null,
    cases,
  };
  await writeFile(join(dir, 'dataset.json'), `${JSON.stringify(dataset, null, 2)}\n`);
  return dataset;
}
