/**
 * Issue #16: wallBand finds each ray's skin (its outermost trunk sample) starting at the last
 * sample that can round into the trunk's box (lastSampleInBox) instead of the image corner. The
 * masks stay the same only if no trunk pixel lies beyond that start: checked here against every
 * sample of every ray, on blobby trunks of many shapes, spacings and centres (the centroid, and
 * random points inside the box), with the sampling wallBand uses.
 */
import assert from 'node:assert/strict';
import { setBox } from '../src/image/morphology.ts';
import { createRng } from '../src/phantom/random.ts';
import { lastSampleInBox } from '../src/segment/wall-rays.ts';
import { blobMask } from './support/random-mask.ts';

/** The ray's pixel at distance t (mm) from the centre, as wallBand's `at` computes it; −1 outside the image. */
function pixelAt(t: number, [cx, cy]: [number, number], [ux, uy]: [number, number], [sy, sx]: [number, number], rows: number, columns: number): number {
  const c = Math.round((cx + ux * t) / sx);
  const r = Math.round((cy + uy * t) / sy);
  return r < 0 || r >= rows || c < 0 || c >= columns ? -1 : r * columns + c;
}

function referenceBox(mask: Uint8Array, rows: number, columns: number): [number, number, number, number] | null {
  let [top, bottom, left, right] = [rows, -1, columns, -1];
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const [r, c] = [Math.floor(i / columns), i % columns];
    [top, bottom, left, right] = [Math.min(top, r), Math.max(bottom, r), Math.min(left, c), Math.max(right, c)];
  }
  return bottom < 0 ? null : [top, bottom, left, right];
}

describe('wall rays: the skin search starts inside the trunk box (issue #16)', () => {
  it('setBox equals the box of the set pixels', () => {
    let seed = 40;
    for (const [rows, columns] of [[1, 1], [1, 19], [17, 1], [33, 47], [64, 64]] as Array<[number, number]>) {
      for (const density of [0, 0.02, 0.3, 0.6, 1]) {
        const mask = blobMask(seed++, rows, columns, density, seed % 2 === 0);
        assert.deepEqual(setBox(mask, rows, columns), referenceBox(mask, rows, columns), `${rows}×${columns} ${density}`);
      }
    }
  });

  it('no trunk pixel lies beyond lastSampleInBox on any ray', () => {
    const rng = createRng(11);
    let seed = 100;
    for (const [rows, columns] of [[48, 64], [64, 40], [90, 90]] as Array<[number, number]>) {
      for (const spacing of [[1, 1], [0.7, 0.7], [0.8, 1.3], [3, 3]] as Array<[number, number]>) {
        const trunk = blobMask(seed++, rows, columns, 0.35, false);
        const box = setBox(trunk, rows, columns);
        if (!box) continue;
        const [sy, sx] = spacing;
        const h = Math.min(sx, sy) / 2;
        const samples = Math.ceil(Math.hypot(rows * sy, columns * sx) / h) + 1;
        const centres: Array<[number, number]> = Array.from({ length: 4 }, () => [(box[2] + rng.next() * (box[3] - box[2])) * sx, (box[0] + rng.next() * (box[1] - box[0])) * sy]);
        for (const centre of centres) {
          for (let k = 0; k < 360; k++) {
            const u: [number, number] = [Math.cos((2 * Math.PI * k) / 360), Math.sin((2 * Math.PI * k) / 360)];
            const from = lastSampleInBox(box, centre, u, spacing, h, samples);
            for (let s = from + 1; s < samples; s++) {
              const p = pixelAt(s * h, centre, u, spacing, rows, columns);
              assert.ok(p < 0 || !trunk[p], `${rows}×${columns} ${spacing} centre ${centre} ray ${k}: trunk at sample ${s} beyond ${from}`);
            }
          }
        }
      }
    }
  });
});
