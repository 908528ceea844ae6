/**
 * Image preparation for the models: the paper's −200..200 HU window to 0..255 grey, then either
 * the SAM frame (longest side to the input size, padded bottom/right, per-channel mean/std) or the
 * Ultralytics letterbox (640, centred, grey 114 padding, /255). Both return the mapping back to
 * native pixels so boxes and masks land on the original grid.
 */
import { MODEL_WINDOW_HU } from '../model/index.ts';

/** HU → 0..255 over the model window (float, no rounding: the resize works on it). */
export function windowHu(hu: Int16Array, window: readonly [number, number] = MODEL_WINDOW_HU): Float32Array {
  const [lo, hi] = window;
  const out = new Float32Array(hu.length);
  const scale = 255 / (hi - lo);
  for (let i = 0; i < hu.length; i++) {
    const v = (hu[i] - lo) * scale;
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/** Bilinear resize with pixel-centre alignment (as cv2.INTER_LINEAR / PIL). */
export function resizeBilinear(src: Float32Array, rows: number, columns: number, outRows: number, outColumns: number): Float32Array {
  const out = new Float32Array(outRows * outColumns);
  const sy = rows / outRows;
  const sx = columns / outColumns;
  for (let r = 0; r < outRows; r++) {
    let y = (r + 0.5) * sy - 0.5;
    if (y < 0) y = 0;
    const y0 = Math.min(rows - 1, Math.floor(y));
    const y1 = Math.min(rows - 1, y0 + 1);
    const wy = y - y0;
    for (let c = 0; c < outColumns; c++) {
      let x = (c + 0.5) * sx - 0.5;
      if (x < 0) x = 0;
      const x0 = Math.min(columns - 1, Math.floor(x));
      const x1 = Math.min(columns - 1, x0 + 1);
      const wx = x - x0;
      const top = src[y0 * columns + x0] * (1 - wx) + src[y0 * columns + x1] * wx;
      const bottom = src[y1 * columns + x0] * (1 - wx) + src[y1 * columns + x1] * wx;
      out[r * outColumns + c] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

export type SamResize = 'longest-side' | 'stretch';

export interface SamFrame {
  /** NCHW float32 [1, 3, size, size]. */
  tensor: Float32Array;
  size: number;
  /** Input-frame pixels per native pixel, along x (columns) and y (rows). */
  scaleX: number;
  scaleY: number;
  /** Extent of the image inside the frame (the rest is padding). */
  resizedRows: number;
  resizedColumns: number;
}

/**
 * SAM/SAM2 input. 'longest-side' is segment-anything's ResizeLongestSide + bottom-right zero
 * padding after normalisation; 'stretch' is SAM2's own transform (square resize). They coincide
 * for square CT slices.
 */
export function samFrame(grey: Float32Array, rows: number, columns: number, size: number, mean: readonly number[], std: readonly number[], resize: SamResize = 'longest-side'): SamFrame {
  let resizedRows: number;
  let resizedColumns: number;
  if (resize === 'stretch') {
    resizedRows = size;
    resizedColumns = size;
  } else {
    const scale = size / Math.max(rows, columns);
    resizedRows = Math.round(rows * scale);
    resizedColumns = Math.round(columns * scale);
  }
  const resized = resizeBilinear(grey, rows, columns, resizedRows, resizedColumns);
  const plane = size * size;
  const tensor = new Float32Array(3 * plane);
  for (let ch = 0; ch < 3; ch++) {
    const m = mean[ch];
    const s = std[ch];
    for (let r = 0; r < resizedRows; r++) {
      for (let c = 0; c < resizedColumns; c++) tensor[ch * plane + r * size + c] = (resized[r * resizedColumns + c] - m) / s;
    }
  }
  return { tensor, size, scaleX: resizedColumns / columns, scaleY: resizedRows / rows, resizedRows, resizedColumns };
}

export interface Letterbox {
  tensor: Float32Array;
  size: number;
  /** Gain from native to letterbox pixels (same on both axes). */
  gain: number;
  padX: number;
  padY: number;
}

/** Ultralytics LetterBox(auto=False, center=True): grey 114 padding, RGB, /255. */
export function letterbox(grey: Float32Array, rows: number, columns: number, size = 640): Letterbox {
  const gain = Math.min(size / rows, size / columns);
  const newRows = Math.round(rows * gain);
  const newColumns = Math.round(columns * gain);
  // `+ 0` turns the −0 that Math.round(−0.1) gives into 0.
  const padY = Math.round((size - newRows) / 2 - 0.1) + 0;
  const padX = Math.round((size - newColumns) / 2 - 0.1) + 0;
  const resized = resizeBilinear(grey, rows, columns, newRows, newColumns);
  const plane = size * size;
  const tensor = new Float32Array(3 * plane).fill(114 / 255);
  for (let r = 0; r < newRows; r++) {
    for (let c = 0; c < newColumns; c++) {
      const v = resized[r * newColumns + c] / 255;
      const o = (r + padY) * size + c + padX;
      tensor[o] = v;
      tensor[plane + o] = v;
      tensor[2 * plane + o] = v;
    }
  }
  return { tensor, size, gain, padX, padY };
}
