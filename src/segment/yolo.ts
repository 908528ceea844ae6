/**
 * Detector output decoding for Ultralytics ONNX exports, told apart by the output shape:
 * YOLOv10 end-to-end `output0` [1, N, 6] = x1, y1, x2, y2, score, class (NMS already done), and
 * YOLOv8/YOLO11 `output0` [1, 4 + classes, anchors] = cx, cy, w, h, per-class scores (NMS here).
 * Boxes come back in native pixel coordinates (inclusive corners, clipped to the image).
 */
import { CtMuscleError } from '../errors.ts';
import type { Box } from './types.ts';
import type { Letterbox } from './preprocess.ts';

export interface Detection {
  box: Box;
  score: number;
  classId: number;
}

export type YoloFormat = 'yolov10' | 'yolov8';

export interface YoloDecodeOptions {
  scoreThreshold: number;
  /** NMS IoU threshold (YOLOv8 format only). */
  iouThreshold: number;
  /** Keep only these classes (all when absent). */
  classes?: number[];
}

export function yoloFormat(dims: readonly number[]): YoloFormat {
  if (dims.length === 3 && dims[0] === 1 && dims[2] === 6) return 'yolov10';
  if (dims.length === 3 && dims[0] === 1 && dims[1] >= 5 && dims[2] > dims[1]) return 'yolov8';
  throw new CtMuscleError('E_MODEL_FORMAT', `Unrecognised detector output shape [${dims.join(', ')}]: expected [1, N, 6] (YOLOv10) or [1, 4 + classes, anchors] (YOLOv8/11).`);
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy per-class NMS, highest score first. */
export function nms(detections: Detection[], iouThreshold: number): Detection[] {
  const sorted = [...detections].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const d of sorted) {
    if (kept.every((k) => k.classId !== d.classId || iou(k.box, d.box) <= iouThreshold)) kept.push(d);
  }
  return kept;
}

function toNative(x1: number, y1: number, x2: number, y2: number, lb: Pick<Letterbox, 'gain' | 'padX' | 'padY'>, rows: number, columns: number): Box {
  const clipX = (v: number) => Math.min(columns - 1, Math.max(0, v));
  const clipY = (v: number) => Math.min(rows - 1, Math.max(0, v));
  return {
    x1: clipX((x1 - lb.padX) / lb.gain),
    y1: clipY((y1 - lb.padY) / lb.gain),
    x2: clipX((x2 - lb.padX) / lb.gain),
    y2: clipY((y2 - lb.padY) / lb.gain),
  };
}

/** All detections above the threshold, best first, in native pixels. */
export function decodeYolo(
  data: Float32Array,
  dims: readonly number[],
  lb: Pick<Letterbox, 'gain' | 'padX' | 'padY'>,
  rows: number,
  columns: number,
  options: YoloDecodeOptions,
): { format: YoloFormat; detections: Detection[] } {
  const format = yoloFormat(dims);
  const wanted = (c: number) => !options.classes || options.classes.includes(c);
  const found: Detection[] = [];
  if (format === 'yolov10') {
    const n = dims[1];
    for (let i = 0; i < n; i++) {
      const o = i * 6;
      const score = data[o + 4];
      const classId = Math.round(data[o + 5]);
      if (!(score >= options.scoreThreshold) || !wanted(classId)) continue;
      found.push({ box: toNative(data[o], data[o + 1], data[o + 2], data[o + 3], lb, rows, columns), score, classId });
    }
    found.sort((a, b) => b.score - a.score);
    return { format, detections: found };
  }
  const channels = dims[1];
  const anchors = dims[2];
  const classes = channels - 4;
  for (let j = 0; j < anchors; j++) {
    let best = -1;
    let score = -Infinity;
    for (let c = 0; c < classes; c++) {
      if (!wanted(c)) continue;
      const s = data[(4 + c) * anchors + j];
      if (s > score) {
        score = s;
        best = c;
      }
    }
    if (best < 0 || !(score >= options.scoreThreshold)) continue;
    const cx = data[j];
    const cy = data[anchors + j];
    const w = data[2 * anchors + j];
    const h = data[3 * anchors + j];
    found.push({ box: toNative(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, lb, rows, columns), score, classId: best });
  }
  return { format, detections: nms(found, options.iouThreshold) };
}
