/**
 * Runs an ONNX SAM decoder with onnxruntime on the training set's inputs and compares its outputs
 * with the PyTorch outputs the Python step wrote (reference.json): the proof that the re-created
 * decoder equals the original, and that the exported fine-tuned decoder equals what was trained.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CtMuscleError } from '../errors.ts';
import { loadSession, ort } from '../segment/onnx-session.ts';
import type { Dataset, DatasetCase } from './training-set.ts';

const OUTPUTS = ['masks', 'iou_predictions', 'low_res_masks'] as const;
type OutputName = (typeof OUTPUTS)[number];

interface ReferenceFile {
  torch: string;
  cases: Array<{ id: string; index: number; outputs: Record<OutputName, { file: string; dims: number[] }> }>;
}

export interface DecoderComparison {
  cases: number;
  /** Largest |ONNX − PyTorch| over all cases, per output (logits for the masks). */
  maxAbsDiff: Record<OutputName, number>;
  /** Native-grid pixels where the two disagree on logit > 0, over all cases. */
  maskPixelsDisagreeing: number;
  maskPixels: number;
}

async function readFloat32(path: string): Promise<Float32Array> {
  const bytes = await readFile(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

async function decoderFeeds(datasetDir: string, dataset: Dataset, entry: DatasetCase): Promise<Record<string, ort.Tensor>> {
  const embedding = await readFloat32(join(datasetDir, entry.embedding));
  const low = dataset.frameSize / 4;
  return {
    image_embeddings: new ort.Tensor('float32', embedding, [1, ...dataset.embeddingDims]),
    point_coords: new ort.Tensor('float32', Float32Array.from(entry.pointCoords), [1, 2, 2]),
    point_labels: new ort.Tensor('float32', Float32Array.from([2, 3]), [1, 2]),
    mask_input: new ort.Tensor('float32', new Float32Array(low * low), [1, 1, low, low]),
    has_mask_input: new ort.Tensor('float32', Float32Array.from([0]), [1]),
    orig_im_size: new ort.Tensor('float32', Float32Array.from([entry.rows, entry.columns]), [2]),
  };
}

/** Compare `decoderPath` (ONNX) against the PyTorch outputs in `referenceDir` for the dataset's cases. */
export async function compareDecoder(decoderPath: string, datasetDir: string, referenceDir: string, threads = 2): Promise<DecoderComparison> {
  const dataset = JSON.parse(await readFile(join(datasetDir, 'dataset.json'), 'utf8')) as Dataset;
  const reference = JSON.parse(await readFile(join(referenceDir, 'reference.json'), 'utf8')) as ReferenceFile;
  const { session } = await loadSession(decoderPath, { threads });
  const maxAbsDiff: Record<OutputName, number> = { masks: 0, iou_predictions: 0, low_res_masks: 0 };
  let disagreeing = 0;
  let pixels = 0;
  for (const ref of reference.cases) {
    const entry = dataset.cases[ref.index];
    if (!entry || entry.id !== ref.id) throw new CtMuscleError('E_ADAPT_EXPORT', `Reference case ${ref.id} is not in the training set.`);
    const out = await session.run(await decoderFeeds(datasetDir, dataset, entry));
    for (const name of OUTPUTS) {
      const expected = await readFloat32(join(referenceDir, ref.outputs[name].file));
      const actual = out[name]?.data as Float32Array | undefined;
      if (!actual || actual.length !== expected.length) {
        throw new CtMuscleError('E_ADAPT_EXPORT', `Decoder output ${name} for case ${ref.id} has ${actual?.length ?? 0} values; PyTorch gave ${expected.length} (dims ${ref.outputs[name].dims.join('×')}).`);
      }
      for (let i = 0; i < expected.length; i++) {
        const d = Math.abs(actual[i] - expected[i]);
        if (d > maxAbsDiff[name] || Number.isNaN(d)) maxAbsDiff[name] = Number.isNaN(d) ? Infinity : d;
        if (name === 'masks') {
          pixels++;
          if (actual[i] > 0 !== expected[i] > 0) disagreeing++;
        }
      }
    }
  }
  return { cases: reference.cases.length, maxAbsDiff, maskPixelsDisagreeing: disagreeing, maskPixels: pixels };
}
