/**
 * The review page's pictures, drawn with @napi-rs/canvas: the measured axial slice with the mask
 * (translucent fill, solid outline) and a sagittal thick-slab reformat with the measured level's
 * line and the vertebrae the level finder identified. Pixel math is pure on typed arrays; only
 * the labels, lines and PNG encoding go through the canvas.
 */
import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { VertebraEvidence } from '../model/index.ts';

/** The SEG's display colour (sRGB 230/60/60), as on the Secondary Capture overlay. */
export const MASK_COLOUR: readonly [number, number, number] = [230, 60, 60];
export const MASK_FILL_OPACITY = 0.45;
/** Level line on the reformat (yellow), vertebra brackets and names (cyan). */
export const LEVEL_LINE_COLOUR = '#ffd400';
const VERTEBRA_COLOUR = '#3fd0ff';

export interface Window {
  center: number;
  width: number;
}
export const SOFT_TISSUE_WINDOW: Window = { center: 40, width: 400 };
export const REFORMAT_WINDOW: Window = { center: 300, width: 1200 };

const windowed = (hu: number, w: Window) => Math.round(Math.min(255, Math.max(0, ((hu - (w.center - w.width / 2)) / w.width) * 255)));

/** Windowed grey with the mask blended in (fill) and drawn solid on its edge: RGBA, row-major. */
export function axialRgba(hu: ArrayLike<number>, mask: Uint8Array | null, rows: number, columns: number, window: Window = SOFT_TISSUE_WINDOW): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(rows * columns * 4);
  const inMask = (r: number, c: number) => r >= 0 && c >= 0 && r < rows && c < columns && mask![r * columns + c] === 1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      const grey = windowed(hu[i], window);
      let rgb = [grey, grey, grey];
      if (mask && mask[i] === 1) {
        const edge = !inMask(r - 1, c) || !inMask(r + 1, c) || !inMask(r, c - 1) || !inMask(r, c + 1);
        const a = edge ? 1 : MASK_FILL_OPACITY;
        rgb = MASK_COLOUR.map((colour) => Math.round(grey + a * (colour - grey)));
      }
      rgba.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
    }
  }
  return rgba;
}

export interface SagittalInput {
  hu: Int16Array;
  rows: number;
  columns: number;
  /** z (mm) of each slice, inferior → superior (the volume's order). */
  slicesZMm: number[];
  pixelSpacingMm: [number, number];
}

/** The column through the spine: most voxels above 250 HU in the middle half of the columns. */
export function spineColumn({ hu, rows, columns, slicesZMm }: SagittalInput): number {
  const counts = new Float64Array(columns);
  const plane = rows * columns;
  for (let k = 0; k < slicesZMm.length; k++) {
    for (let r = 0; r < rows; r++) {
      const base = k * plane + r * columns;
      for (let c = columns >> 2; c < columns - (columns >> 2); c++) if (hu[base + c] > 250) counts[c]++;
    }
  }
  let best = columns >> 1;
  for (let c = 0; c < columns; c++) if (counts[c] > counts[best]) best = c;
  return best;
}

/**
 * Maximum intensity over a ±slabMm slab of columns around the spine: one row per slice with the
 * most superior slice on top, one column per CT row (anterior left, posterior right on HFS data).
 */
export function sagittalMip(input: SagittalInput, slabMm = 15): { grey: Uint8ClampedArray; width: number; height: number; centreColumn: number } {
  const { hu, rows, columns, slicesZMm, pixelSpacingMm } = input;
  const centreColumn = spineColumn(input);
  const half = Math.max(1, Math.round(slabMm / pixelSpacingMm[1]));
  const from = Math.max(0, centreColumn - half);
  const to = Math.min(columns - 1, centreColumn + half);
  const height = slicesZMm.length;
  const grey = new Uint8ClampedArray(rows * height);
  for (let k = 0; k < height; k++) {
    const outRow = height - 1 - k;
    for (let r = 0; r < rows; r++) {
      let max = -32768;
      const base = k * rows * columns + r * columns;
      for (let c = from; c <= to; c++) if (hu[base + c] > max) max = hu[base + c];
      grey[outRow * rows + r] = windowed(max, REFORMAT_WINDOW);
    }
  }
  return { grey, width: rows, height, centreColumn };
}

/** Picture row of a z position on a reformat of `height` rows spanning the slices' z range, top superior. */
export function rowOfZ(zMm: number, slicesZMm: number[], height: number): number {
  const top = slicesZMm[slicesZMm.length - 1];
  const bottom = slicesZMm[0];
  if (top === bottom) return 0;
  return Math.round(((top - zMm) / (top - bottom)) * (height - 1));
}

export function encodePng(rgba: Uint8ClampedArray, width: number, height: number): Buffer {
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  image.data.set(rgba);
  context.putImageData(image, 0, 0);
  return canvas.toBuffer('image/png');
}

export interface ReformatPicture {
  png: Buffer;
  width: number;
  height: number;
  /** z (mm) of the top and bottom picture rows: what the page maps clicks with. */
  topZMm: number;
  bottomZMm: number;
  levelRow: number;
}

function drawVertebrae(context: SKRSContext2D, vertebrae: VertebraEvidence[], toRow: (z: number) => number, width: number): void {
  context.strokeStyle = VERTEBRA_COLOUR;
  context.fillStyle = VERTEBRA_COLOUR;
  context.lineWidth = 1;
  context.font = 'bold 12px "DejaVu Sans", sans-serif';
  context.textBaseline = 'middle';
  const x = width - 34;
  for (const v of vertebrae) {
    const top = toRow(v.superiorMm);
    const bottom = toRow(v.inferiorMm);
    context.beginPath();
    context.moveTo(x + 6, top + 0.5);
    context.lineTo(x, top + 0.5);
    context.lineTo(x, bottom + 0.5);
    context.lineTo(x + 6, bottom + 0.5);
    context.stroke();
    if (v.name) context.fillText(v.name, x + 8, (top + bottom) / 2);
  }
}

/**
 * The sagittal reformat, stretched to square millimetres, with the level line at `levelZMm` and
 * a bracket and name for each vertebra the level finder identified.
 */
export function reformatPicture(input: SagittalInput, levelZMm: number, vertebrae: VertebraEvidence[]): ReformatPicture {
  const mip = sagittalMip(input);
  const { slicesZMm, pixelSpacingMm } = input;
  const extentMm = Math.abs(slicesZMm[slicesZMm.length - 1] - slicesZMm[0]);
  // At least 512 px wide, so small matrices stay readable; square millimetres.
  const scale = Math.max(1, 512 / mip.width);
  const width = Math.round(mip.width * scale);
  const height = Math.max(mip.height, Math.round((extentMm / pixelSpacingMm[0]) * scale) + 1);
  const base = createCanvas(mip.width, mip.height);
  const baseContext = base.getContext('2d');
  const image = baseContext.createImageData(mip.width, mip.height);
  for (let i = 0; i < mip.grey.length; i++) image.data.set([mip.grey[i], mip.grey[i], mip.grey[i], 255], i * 4);
  baseContext.putImageData(image, 0, 0);
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  context.imageSmoothingEnabled = true;
  context.drawImage(base, 0, 0, mip.width, mip.height, 0, 0, width, height);
  const toRow = (z: number) => rowOfZ(z, slicesZMm, height);
  drawVertebrae(context, vertebrae, toRow, width);
  const levelRow = toRow(levelZMm);
  context.fillStyle = LEVEL_LINE_COLOUR;
  context.fillRect(0, levelRow, width - 40, 1);
  return { png: canvas.toBuffer('image/png'), width, height, topZMm: slicesZMm[slicesZMm.length - 1], bottomZMm: slicesZMm[0], levelRow };
}
