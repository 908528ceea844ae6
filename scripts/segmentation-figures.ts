/**
 * Pictures for docs/segmentation.md: the phantom (seed 1, HFS, 512²) at T12, L1, L2 and L3, soft-
 * tissue window, the anatomic mask outlined in red, the muscle truth in green, psoas truth in blue,
 * kidneys and crura in yellow. Cropped to the posterior half where the rules act; each < 300 KB.
 * usage: node --import=tsx scripts/segmentation-figures.ts [outDir]   (default docs/img)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planPhantom, renderPhantomSlice, TISSUE } from '../src/phantom/index.ts';
import { segmentAnatomic } from '../src/segment/anatomic.ts';
import { encodePng } from '../src/review/pictures.ts';

type Rgb = [number, number, number];
const WINDOW: [number, number] = [-160, 240];

/** Greyscale HU with the outline of each mask drawn in its colour, `scale`× nearest-neighbour, cropped to rows r0..r1, columns c0..c1. */
function outlinePng(hu: Int16Array, columns: number, crop: [number, number, number, number], overlays: Array<[Uint8Array, Rgb]>, scale: number): Buffer {
  const [r0, r1, c0, c1] = crop;
  const width = (c1 - c0) * scale;
  const height = (r1 - r0) * scale;
  const rgba = new Uint8ClampedArray(width * height * 4);
  const on = (m: Uint8Array, r: number, c: number) => r >= r0 && r < r1 && c >= c0 && c < c1 && m[r * columns + c] === 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const r = r0 + Math.floor(y / scale);
      const c = c0 + Math.floor(x / scale);
      const g = Math.round(255 * Math.min(1, Math.max(0, (hu[r * columns + c] - WINDOW[0]) / (WINDOW[1] - WINDOW[0]))));
      let rgb: Rgb = [g, g, g];
      for (const [m, colour] of overlays) {
        if (!on(m, r, c)) continue;
        const sy = y % scale;
        const sx = x % scale;
        const edge = (sy === 0 && !on(m, r - 1, c)) || (sy === scale - 1 && !on(m, r + 1, c)) || (sx === 0 && !on(m, r, c - 1)) || (sx === scale - 1 && !on(m, r, c + 1));
        if (edge) rgb = colour;
      }
      const o = (y * width + x) * 4;
      rgba[o] = rgb[0];
      rgba[o + 1] = rgb[1];
      rgba[o + 2] = rgb[2];
      rgba[o + 3] = 255;
    }
  }
  return encodePng(rgba, width, height);
}

const outDir = process.argv[2] ?? join(import.meta.dirname, '..', 'docs', 'img');
const plan = planPhantom({ orientation: 'HFS', arms: true, table: true, seed: 1, rows: 512, columns: 512, fromLevel: 'L5' });
for (const level of ['T12', 'L1', 'L2', 'L3'] as const) {
  const s = renderPhantomSlice(plan, plan.truth.vertebrae.find((v) => v.name === level)!.nearestSliceIndex!);
  const iop = s.imageOrientationPatient;
  const result = segmentAnatomic({ hu: s.hu, rows: s.rows, columns: s.columns, pixelSpacingMm: s.pixelSpacingMm, rowCosine: [iop[0], iop[1], iop[2]], columnCosine: [iop[3], iop[4], iop[5]], level });
  const psoas = s.labels.map((l) => (l === TISSUE.MUSCLE_PSOAS ? 1 : 0));
  const organs = s.labels.map((l) => (l === TISSUE.KIDNEY || l === TISSUE.CRUS ? 1 : 0));
  const png = outlinePng(s.hu, s.columns, [200, 400, 90, 430], [[organs, [230, 200, 0]], [s.muscleMask, [0, 200, 0]], [psoas, [70, 130, 255]], [result.mask, [255, 40, 40]]], 2);
  const file = join(outDir, `segmentation-phantom-${level}.png`);
  writeFileSync(file, png);
  console.log(`${file}: ${(png.length / 1024).toFixed(0)} KB; flags ${JSON.stringify(result.reviewFlags)}`);
}
