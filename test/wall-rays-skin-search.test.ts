/**
 * Issue #16: wallBand paints the band skipping pixels nearer the centre than their octant's inner
 * radius (paintBand, against the loop it replaced, kept here), and finds each ray's skin (its outermost trunk sample) starting at the last
 * sample that can round into the trunk's box (lastSampleInBox) instead of the image corner. The
 * masks stay the same only if no trunk pixel lies beyond that start: checked here against every
 * sample of every ray, on blobby trunks of many shapes, spacings and centres (the centroid, and
 * random points inside the box), with the sampling wallBand uses.
 */
import assert from 'node:assert/strict';
import { setBox } from '../src/image/morphology.ts';
import { createRng } from '../src/phantom/random.ts';
import { lastSampleInBox, paintBand } from '../src/segment/wall-rays.ts';
import { blobMask } from './support/random-mask.ts';

/** The ray's pixel at distance t (mm) from the centre, as wallBand's `at` computes it; −1 outside the image. */
function pixelAt(t: number, [cx, cy]: [number, number], [ux, uy]: [number, number], [sy, sx]: [number, number], rows: number, columns: number): number {
  const c = Math.round((cx + ux * t) / sx);
  const r = Math.round((cy + uy * t) / sy);
  return r < 0 || r >= rows || c < 0 || c >= columns ? -1 : r * columns + c;
}

/** paintBand as it was before issue #16: every trunk pixel's angle and radius. */
function referencePaintBand(band: Uint8Array, trunk: Uint8Array, rows: number, columns: number, [sy, sx]: [number, number], cx: number, cy: number, h: number, surface: Float64Array, fSmooth: Float64Array, tSmooth: Float64Array): void {
  const nr = surface.length;
  for (let p = 0; p < rows * columns; p++) {
    if (!trunk[p]) continue;
    const [r, c] = [Math.floor(p / columns), p % columns];
    const [dx, dy] = [c * sx - cx, r * sy - cy];
    const rho = Math.hypot(dx, dy);
    let a = Math.atan2(dy, dx);
    if (a < 0) a += 2 * Math.PI;
    const pos = (a / (2 * Math.PI)) * nr;
    const k0 = Math.floor(pos) % nr;
    const k1 = (k0 + 1) % nr;
    const w = pos - Math.floor(pos);
    const R = surface[k0] * (1 - w) + surface[k1] * w;
    const f = Math.max(fSmooth[k0], fSmooth[k1]);
    if (!Number.isFinite(f)) continue;
    const g = fSmooth[k0] * (1 - w) + fSmooth[k1] * w + (tSmooth[k0] * (1 - w) + tSmooth[k1] * w);
    const depth = R - rho;
    if (depth >= f - 0.5 * h && depth <= g + 0.5 * h) band[p] = 1;
  }
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

  it('paintBand marks the same pixels as the loop that took every trunk pixel’s angle', () => {
    const rng = createRng(23);
    let seed = 300;
    for (const [rows, columns] of [[60, 80], [97, 97]] as Array<[number, number]>) {
      for (const spacing of [[1, 1], [0.7, 0.7], [0.8, 1.3]] as Array<[number, number]>) {
        for (const nr of [720, 37, 8]) {
          const [sy, sx] = spacing;
          const h = Math.min(sx, sy) / 2;
          const trunk = blobMask(seed++, rows, columns, 0.8, false);
          const [cx, cy] = [(0.3 + 0.4 * rng.next()) * columns * sx, (0.3 + 0.4 * rng.next()) * rows * sy];
          // Rays like wallBand's: a skin radius, a thin fascia, a band from thin to most of the radius;
          // some rays without trunk (fascia Infinity, surface 0) or with NaN.
          const reach = 0.45 * Math.min(rows * sy, columns * sx);
          // Every other case has the same rays all round, where the skipped disc reaches the band's inner edge.
          const even = seed % 2 === 0;
          const surface = Float64Array.from({ length: nr }, () => reach * (even ? 0.8 : 0.6 + 0.4 * rng.next()));
          const fSmooth = Float64Array.from({ length: nr }, () => (even ? 2 : 3 * rng.next()));
          // Otherwise a thin band only in octant j (and the 3 rays beside it), reaching the centre elsewhere:
          // a pixel of another octant taken for one of j's would be skipped though in the band.
          const j = seed % 8;
          const thin = (k: number) => k >= Math.floor((j * nr) / 8) - 3 && k <= Math.ceil(((j + 1) * nr) / 8) + 3;
          const tSmooth = Float64Array.from({ length: nr }, (_, k) => (even ? 6 : thin(k) ? 4 * rng.next() : reach * (1 + rng.next())));
          if (seed % 3 === 0) [surface[0], fSmooth[0]] = [0, Infinity];
          if (seed % 5 === 0) tSmooth[nr >> 1] = NaN;
          const got = new Uint8Array(rows * columns);
          const expected = new Uint8Array(rows * columns);
          paintBand(got, trunk, rows, columns, spacing, cx, cy, h, surface, fSmooth, tSmooth);
          referencePaintBand(expected, trunk, rows, columns, spacing, cx, cy, h, surface, fSmooth, tSmooth);
          assert.deepEqual(got, expected, `${rows}×${columns} ${spacing} ${nr} rays, centre ${cx}, ${cy}`);
        }
      }
    }
  });
});
