/**
 * Issue #16 (analyze at the read floor): every slice of a series goes onto the working grid and
 * through the body mask, so both have fast paths. They must give what the general code gives:
 * the block average for block sizes 1 and 2 against the loop for any size, and the run-based
 * largest region against the pixel flood fill (`largestComponent`), ties included, and the
 * stack's body bits and centres against the per-pixel computation they replaced.
 */
import assert from 'node:assert/strict';
import type { VolumeGeometry } from '../src/dicom/types.ts';
import { largestComponent } from '../src/image/morphology.ts';
import { LargestRegionFinder } from '../src/image/runs.ts';
import { averageBlocks } from '../src/image/blocks.ts';
import { canonicalGrid, canonicalSlice } from '../src/level/canonical.ts';
import { BODY_HU, inBody, startStack } from '../src/level/stack.ts';
import { createRng } from '../src/phantom/random.ts';
import { blobMask } from './support/random-mask.ts';

function geometry(rows: number, columns: number, spacing: number, rowCosine: [number, number, number], columnCosine: [number, number, number]): VolumeGeometry {
  return { rows, columns, rowCosine, columnCosine, normal: [0, 0, rowCosine[0] * columnCosine[1] - rowCosine[1] * columnCosine[0]], plane: 'axial', pixelSpacingMm: [spacing, spacing], sliceSpacingMm: 1, sliceThicknessMm: 1, gantryTiltDeg: 0 };
}

/** HU with a share of padding, air and dense values, odd sums included (rounding of .5 cases). */
function randomHu(seed: number, voxels: number, padding: number): Int16Array {
  const rng = createRng(seed);
  return Int16Array.from({ length: voxels }, () => {
    const u = rng.next();
    if (u < 0.1) return padding;
    if (u < 0.3) return -1000 - Math.floor(rng.next() * 24);
    return Math.floor(rng.next() * 3000) - 1000;
  });
}


function regionMask(finder: LargestRegionFinder, mask: Uint8Array): Uint8Array {
  const runs = finder.find(mask);
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < runs.count; i++) {
    if (runs.region[i] !== runs.largest) continue;
    out.fill(1, runs.runRow[i] * finder.columns + runs.runStart[i], runs.runRow[i] * finder.columns + runs.runEnd[i]);
  }
  return out;
}

describe('working grid fast paths (issue #16)', () => {
  const orientations: Array<[string, [number, number, number], [number, number, number]]> = [
    ['supine', [1, 0, 0], [0, 1, 0]],
    ['prone', [-1, 0, 0], [0, -1, 0]],
    ['rotated 30°', [Math.cos(Math.PI / 6), Math.sin(Math.PI / 6), 0], [-Math.sin(Math.PI / 6), Math.cos(Math.PI / 6), 0]],
  ];
  for (const spacing of [1.6, 0.75, 0.5]) {
    for (const [name, row, column] of orientations) {
      it(`block average at ${spacing} mm (${name}) equals the general loop`, () => {
        const grid = canonicalGrid(geometry(90, 70, spacing, row, column));
        assert.equal(grid.factor, spacing === 1.6 ? 1 : spacing === 0.75 ? 2 : 3);
        const padding = -2000;
        const hu = randomHu(Math.round(spacing * 100), 2 * 90 * 70, padding);
        for (const base of [0, 90 * 70]) {
          const fast = canonicalSlice(hu, base, padding, grid);
          const general = new Int16Array(grid.width * grid.height);
          averageBlocks(hu, base, padding, grid, general);
          assert.deepEqual(fast, general);
          assert.ok(fast.some((v) => v !== -1000), 'the slice is not all air');
        }
      });
    }
  }

  it('the largest region of runs is the flood fill’s, on masks of every density', () => {
    for (const [rows, columns] of [[40, 57], [1, 30], [30, 1], [64, 64]]) {
      const finder = new LargestRegionFinder(rows, columns);
      for (let seed = 1; seed <= 40; seed++) {
        const mask = blobMask(seed, rows, columns, 0.35 + (seed % 8) * 0.03);
        assert.deepEqual(regionMask(finder, mask), largestComponent(mask, rows, columns), `${rows}×${columns} seed ${seed}`);
      }
    }
  });

  it('regions touching only diagonally are one; equal regions: the first in row-major order wins; empty: none', () => {
    const finder = new LargestRegionFinder(4, 6);
    // Two diagonal pixels (one region of 2), a lone pixel and a later pair of 2: the diagonal pair comes first.
    const diagonal = new Uint8Array(24);
    for (const p of [0, 4, 7, 21, 22]) diagonal[p] = 1;
    assert.deepEqual(regionMask(finder, diagonal), largestComponent(diagonal, 4, 6));
    assert.deepEqual([...regionMask(finder, diagonal)].map((v, i) => (v ? i : -1)).filter((i) => i >= 0), [0, 7]);
    assert.equal(finder.find(new Uint8Array(24)).largest, -1);
    assert.throws(() => finder.find(new Uint8Array(25)), RangeError);
  });

  it('the stack’s body bits and centres equal the per-pixel computation', () => {
    const g = geometry(128, 128, 1.2, [1, 0, 0], [0, 1, 0]);
    const builder = startStack(g, [{ zMm: 0 }, { zMm: 1 }, { zMm: 2 }]);
    const { width, height, mm } = builder.grid;
    const plane = width * height;
    const slices = [0, 1, 2].map((k) => {
      const mask = blobMask(100 + k, height, width, k === 2 ? 0.0 : 0.6);
      return Int16Array.from(mask, (v) => (v ? 40 : -1000));
    });
    slices.forEach((slice, k) => builder.addGridSlice(k, slice));
    const stack = builder.finish();
    for (let k = 0; k < 3; k++) {
      const body = largestComponent(Uint8Array.from(slices[k], (v) => (v > BODY_HU ? 1 : 0)), height, width);
      let [n, sx, sy] = [0, 0, 0];
      for (let p = 0; p < plane; p++) {
        assert.equal(inBody(stack.body, k * plane + p), body[p] === 1, `slice ${k} pixel ${p}`);
        if (!body[p]) continue;
        n++;
        sx += p % width;
        sy += Math.floor(p / width);
      }
      const centred = n * mm * mm > 2000;
      assert.equal(k < 2, centred, 'slices 0 and 1 have a body, slice 2 none');
      assert.deepEqual([stack.centreX[k], stack.centreY[k]], centred ? [sx / n, sy / n] : [Number.NaN, Number.NaN]);
    }
  });
});
