/**
 * Validation figures as the node would report them: each validation slice's cached embedding and
 * box go through the node's SAM decoding (decodeBox → native grid → −29..150 HU rule → islands),
 * once with the base decoder and once with the adapted one; Dice and area against the reader's
 * mask. The embedding is the one inference would compute (same encoder, same frame), so only the
 * encoder run is saved, not any step of the result.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dice } from '../measure/flags.ts';
import { finishMuscleMask } from '../segment/hu-rule.ts';
import { loadSession, ort, type LoadedSession } from '../segment/onnx-session.ts';
import type { SamFrame } from '../segment/preprocess.ts';
import { decodeBox, maskToNative } from '../segment/sam.ts';
import type { AdaptSlice, Dataset, DatasetCase } from './training-set.ts';

export interface CaseFigures {
  id: string;
  diceBefore: number | null;
  diceAfter: number | null;
  areaCm2Reader: number;
  areaCm2Before: number;
  areaCm2After: number;
}

export interface ValidationFigures {
  cases: CaseFigures[];
  meanDiceBefore: number | null;
  meanDiceAfter: number | null;
  /** Mean of (model − reader) / reader area, in percent. */
  meanAreaDiffPercentBefore: number | null;
  meanAreaDiffPercentAfter: number | null;
}

const count = (m: Uint8Array): number => m.reduce((s, v) => s + v, 0);

function mean(values: Array<number | null>): number | null {
  const kept = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return kept.length ? kept.reduce((a, b) => a + b, 0) / kept.length : null;
}

async function nodeMask(encoder: ort.InferenceSession, decoder: LoadedSession, embedding: ort.Tensor, entry: DatasetCase, frameSize: number, slice: AdaptSlice): Promise<Uint8Array> {
  const frame: SamFrame = {
    tensor: new Float32Array(0),
    size: frameSize,
    scaleX: entry.frameScale[0],
    scaleY: entry.frameScale[1],
    resizedRows: Math.round(entry.rows * entry.frameScale[1]),
    resizedColumns: Math.round(entry.columns * entry.frameScale[0]),
  };
  const sam = await decodeBox('sam', encoder, decoder, { [encoder.outputNames[0]]: embedding }, frame, entry.box, entry.rows, entry.columns);
  return finishMuscleMask(maskToNative(sam, frame, entry.rows, entry.columns), slice.hu, slice.rows, slice.columns, slice.pixelSpacingMm);
}

export async function evaluateDecoders(datasetDir: string, dataset: Dataset, slices: AdaptSlice[], encoder: ort.InferenceSession, basePath: string, adaptedPath: string, threads = 2): Promise<ValidationFigures> {
  const base = await loadSession(basePath, { threads });
  const adapted = await loadSession(adaptedPath, { threads });
  const figures: CaseFigures[] = [];
  // The validation slices follow the training slices in the dataset, in the same order.
  const validation = dataset.cases.filter((c) => c.split === 'val');
  for (const [k, entry] of validation.entries()) {
    const slice = slices[k];
    const bytes = await readFile(join(datasetDir, entry.embedding));
    const embedding = new ort.Tensor('float32', new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), [1, ...dataset.embeddingDims]);
    const before = await nodeMask(encoder, base, embedding, entry, dataset.frameSize, slice);
    const after = await nodeMask(encoder, adapted, embedding, entry, dataset.frameSize, slice);
    const px = (slice.pixelSpacingMm[0] * slice.pixelSpacingMm[1]) / 100;
    figures.push({
      id: entry.id,
      diceBefore: dice(before, slice.mask),
      diceAfter: dice(after, slice.mask),
      areaCm2Reader: count(slice.mask) * px,
      areaCm2Before: count(before) * px,
      areaCm2After: count(after) * px,
    });
  }
  const diff = (key: 'areaCm2Before' | 'areaCm2After') => mean(figures.map((f) => (f.areaCm2Reader > 0 ? (100 * (f[key] - f.areaCm2Reader)) / f.areaCm2Reader : null)));
  return {
    cases: figures,
    meanDiceBefore: mean(figures.map((f) => f.diceBefore)),
    meanDiceAfter: mean(figures.map((f) => f.diceAfter)),
    meanAreaDiffPercentBefore: diff('areaCm2Before'),
    meanAreaDiffPercentAfter: diff('areaCm2After'),
  };
}
