/**
 * A CT slice with a muscle mask over it, as PNG (drawn with @napi-rs/canvas): the batch's
 * thumbnails and validate's case pictures. Soft-tissue window; the mask is tinted red, and a
 * second mask (validate: the reader's) is outlined in cyan, so differences show at a glance.
 */
import { createCanvas } from '@napi-rs/canvas';

export interface SlicePicture {
  hu: ArrayLike<number>;
  rows: number;
  columns: number;
  pixelSpacingMm: [number, number];
  mask?: Uint8Array;
  /** Drawn as an outline (pixels of the mask with a neighbour outside it). */
  outline?: Uint8Array;
  /** Longest side of the picture in pixels (default 256). */
  size?: number;
  window?: { centerHu: number; widthHu: number };
}

const MASK_RGB = [230, 60, 60];
const OUTLINE_RGB = [40, 220, 230];

function isEdge(mask: Uint8Array, rows: number, columns: number, i: number): boolean {
  if (!mask[i]) return false;
  const r = Math.floor(i / columns);
  const c = i % columns;
  return r === 0 || c === 0 || r === rows - 1 || c === columns - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - columns] || !mask[i + columns];
}

/** RGBA of the slice at its own resolution: grey by window, mask blended, outline on top. */
export function sliceRgba(picture: SlicePicture): Uint8ClampedArray {
  const { hu, rows, columns, mask, outline } = picture;
  const { centerHu, widthHu } = picture.window ?? { centerHu: 40, widthHu: 400 };
  const low = centerHu - widthHu / 2;
  const rgba = new Uint8ClampedArray(rows * columns * 4);
  for (let i = 0; i < rows * columns; i++) {
    const grey = Math.max(0, Math.min(255, ((hu[i] - low) / widthHu) * 255));
    let rgb = [grey, grey, grey];
    if (mask?.[i]) rgb = rgb.map((g, k) => 0.55 * g + 0.45 * MASK_RGB[k]);
    if (outline && isEdge(outline, rows, columns, i)) rgb = OUTLINE_RGB;
    rgba.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  }
  return rgba;
}

export function renderSlicePng(picture: SlicePicture): Buffer {
  const { rows, columns, pixelSpacingMm } = picture;
  const full = createCanvas(columns, rows);
  const context = full.getContext('2d');
  const image = context.createImageData(columns, rows);
  image.data.set(sliceRgba(picture));
  context.putImageData(image, 0, 0);
  // Physical aspect: PixelSpacing is [between rows, between columns].
  const heightMm = rows * pixelSpacingMm[0];
  const widthMm = columns * pixelSpacingMm[1];
  const size = picture.size ?? 256;
  const scale = size / Math.max(heightMm, widthMm);
  const out = createCanvas(Math.max(1, Math.round(widthMm * scale)), Math.max(1, Math.round(heightMm * scale)));
  const outContext = out.getContext('2d');
  outContext.imageSmoothingEnabled = true;
  outContext.drawImage(full, 0, 0, out.width, out.height);
  return out.toBuffer('image/png');
}
