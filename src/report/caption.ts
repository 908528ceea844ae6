/**
 * The overlay caption drawn with @napi-rs/canvas (Skia, prebuilt binary) in the system's DejaVu
 * Sans: white text on a black box, returned as a greyscale coverage map the overlay writer copies
 * into its RGB pixels. Replaces the hand-written 5×7 bitmap font the overlay used before.
 */
import { createRequire } from 'node:module';

/**
 * Skia is loaded when a caption is first drawn: `analyze` writes no overlay by default and would
 * otherwise load it at start (~35 ms). The report writer is synchronous, hence a require.
 */
const requireModule = createRequire(import.meta.url);
const skia = (): typeof import('@napi-rs/canvas') => requireModule('@napi-rs/canvas');

export interface CaptionLayout {
  /** Font size (px) and the box's place and size on the image (px). */
  fontPx: number;
  margin: number;
  pad: number;
  boxWidth: number;
  boxHeight: number;
}

const FONT_FAMILY = '"DejaVu Sans", "Liberation Sans", sans-serif';
const fontOf = (px: number) => `bold ${px}px ${FONT_FAMILY}`;

/** Whether any font is installed for Skia to draw with (a bare container may have none). */
export function captionFontAvailable(): boolean {
  return skia().GlobalFonts.families.length > 0;
}

function textWidthPx(caption: string, fontPx: number): number {
  const context = skia().createCanvas(1, 1).getContext('2d');
  context.font = fontOf(fontPx);
  return Math.ceil(context.measureText(caption).width);
}

/**
 * 16 px text on a 512-column image (columns / 32), smaller as the image narrows (never under 8 px);
 * null when even 8 px does not fit or no font is installed: the caption is then left out.
 */
export function captionLayout(caption: string, columns: number, rows: number): CaptionLayout | null {
  if (!captionFontAvailable()) return null;
  for (let fontPx = Math.max(8, Math.floor(columns / 32)); fontPx >= 8; fontPx -= 2) {
    const margin = Math.round(fontPx / 2);
    const pad = Math.round(fontPx / 4);
    const boxWidth = textWidthPx(caption, fontPx) + 2 * pad;
    const boxHeight = Math.ceil(fontPx * 1.25) + 2 * pad;
    if (boxWidth + 2 * margin <= columns && boxHeight + 2 * margin <= rows) return { fontPx, margin, pad, boxWidth, boxHeight };
  }
  return null;
}

/** The caption box as boxWidth × boxHeight grey levels (0 black box … 255 full text coverage). */
export function renderCaption(caption: string, layout: CaptionLayout): Uint8Array {
  const canvas = skia().createCanvas(layout.boxWidth, layout.boxHeight);
  const context = canvas.getContext('2d');
  context.fillStyle = '#000';
  context.fillRect(0, 0, layout.boxWidth, layout.boxHeight);
  context.fillStyle = '#fff';
  context.font = fontOf(layout.fontPx);
  context.textBaseline = 'top';
  context.fillText(caption, layout.pad, layout.pad + Math.round(layout.fontPx * 0.1));
  const rgba = context.getImageData(0, 0, layout.boxWidth, layout.boxHeight).data;
  const grey = new Uint8Array(layout.boxWidth * layout.boxHeight);
  for (let i = 0; i < grey.length; i++) grey[i] = rgba[i * 4];
  return grey;
}
