/**
 * Issue #16: the WebAssembly SIMD kernels (src/image/simd.wat) give exactly what the JavaScript
 * loops give, on random values over every edge they have: lengths that are not a multiple of 8
 * (the scalar tail), stored values and intercepts that clamp, Int32 extremes, padding bounds that
 * are fractional, reversed or beyond Int32, odd image sizes, grids that change from call to call,
 * and the working grid's halved-slice table against its source table in every orientation.
 * The committed module must be the compilation of the committed text.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PADDING_HU, storedToHounsfield } from '../src/dicom/hu.ts';
import { averageBlocks, averageOntoBlockGrid, type BlockGrid } from '../src/image/blocks.ts';
import { halveSimd, huFromStoredSimd, useSimdKernels } from '../src/image/simd.ts';
import { SIMD_MODULE_BASE64 } from '../src/image/simd-module.ts';
import { createRng } from '../src/phantom/random.ts';
import { canonicalGrid } from '../src/level/canonical.ts';
// @ts-expect-error: a plain JavaScript build script without type declarations
import { compileWat, moduleSource } from '../scripts/build-wasm.mjs';

function referenceHu(stored: Int32Array, intercept: number, low: number, high: number): Int16Array {
  const out = new Int16Array(stored.length);
  for (let i = 0; i < stored.length; i++) {
    const v = stored[i];
    if (v >= low && v <= high) out[i] = PADDING_HU;
    else {
      const hu = v + intercept;
      out[i] = hu > 32767 ? 32767 : hu < -32768 ? -32768 : hu;
    }
  }
  return out;
}

function referenceHalve(hu: Int16Array, base: number, rows: number, columns: number, padding: number): Int16Array {
  const w = columns >> 1;
  const out = new Int16Array((rows >> 1) * w);
  const air = (v: number) => (v === padding ? -1000 : v);
  for (let r = 0; r < rows >> 1; r++) {
    for (let c = 0; c < w; c++) {
      const i = base + 2 * r * columns + 2 * c;
      out[r * w + c] = Math.round((air(hu[i]) + air(hu[i + 1]) + air(hu[i + columns]) + air(hu[i + columns + 1])) / 4);
    }
  }
  return out;
}

function randomStored(rng: ReturnType<typeof createRng>, n: number): Int32Array {
  return Int32Array.from({ length: n }, () => {
    const u = rng.next();
    if (u < 0.05) return [2 ** 31 - 1, -(2 ** 31), 1048576, 1048577, -1048576, -1048577, 32767, -32768][Math.floor(rng.next() * 8)];
    if (u < 0.15) return Math.floor(rng.next() * 2 ** 32) - 2 ** 31;
    if (u < 0.35) return Math.floor(rng.next() * 65536) - 32768;
    return Math.floor(rng.next() * 4096);
  });
}

function randomHu(rng: ReturnType<typeof createRng>, n: number, padding: number): Int16Array {
  return Int16Array.from({ length: n }, () => {
    const u = rng.next();
    if (u < 0.15) return padding;
    if (u < 0.2) return rng.next() < 0.5 ? 32767 : -32768;
    return Math.floor(rng.next() * 4000) - 1024;
  });
}

describe('SIMD kernels (issue #16)', () => {
  before(function () {
    if (!useSimdKernels(true)) this.skip();
  });
  after(() => useSimdKernels(true));

  it('the committed module is the compilation of src/image/simd.wat', async () => {
    const bytes: Buffer = await compileWat(readFileSync(new URL('../src/image/simd.wat', import.meta.url), 'utf8'));
    assert.equal(SIMD_MODULE_BASE64, bytes.toString('base64'), 'run npm run build:wasm');
    assert.equal(readFileSync(new URL('../src/image/simd-module.ts', import.meta.url), 'utf8'), moduleSource(bytes));
  });

  it('stored → HU equals the scalar loop: clamping, Int32 extremes, padding bounds, every tail length', () => {
    const rng = createRng(16);
    const bounds: Array<[number, number]> = [[1, 0], [0, 0], [-2000, -2000], [-0.5, 10.5], [10, -10], [-(2 ** 40), -30000], [30000, 2 ** 40], [-(2 ** 31), -(2 ** 31)], [2 ** 31 - 1, 2 ** 31 - 1]];
    const intercepts = [0, -1024, 1024, -(2 ** 19) + 1, 2 ** 19 - 1, 40000, -40000];
    for (let trial = 0; trial < 120; trial++) {
      const n = trial < 17 ? trial : 1 + Math.floor(rng.next() * 3000);
      const stored = randomStored(rng, n);
      const intercept = intercepts[trial % intercepts.length];
      const [low, high] = bounds[trial % bounds.length];
      const out = new Int16Array(n).fill(7);
      assert.ok(huFromStoredSimd(stored, intercept, low, high, out));
      assert.deepEqual(out, referenceHu(stored, intercept, low, high), `n ${n}, intercept ${intercept}, padding ${low}..${high}`);
    }
  });

  it('stored → HU declines what it cannot do exactly (the scalar loop then runs)', () => {
    const out = new Int16Array(4).fill(7);
    assert.equal(huFromStoredSimd(Int32Array.of(1, 2, 3, 4), 0.5, 1, 0, out), false);
    assert.equal(huFromStoredSimd(Int32Array.of(1, 2, 3, 4), 2 ** 19, 1, 0, out), false);
    assert.equal(huFromStoredSimd(Int32Array.of(1, 2, 3, 4), 0, Number.NaN, 0, out), false);
    assert.deepEqual(out, Int16Array.of(7, 7, 7, 7), 'nothing written');
  });

  it('2 × 2 block means equal the scalar loop on odd and even sizes, with the padding counted as air', () => {
    const rng = createRng(61);
    for (let trial = 0; trial < 80; trial++) {
      const rows = 2 + Math.floor(rng.next() * 40);
      const columns = 2 + Math.floor(rng.next() * 70);
      const padding = trial % 3 === 0 ? -2000 : PADDING_HU;
      const base = trial % 2 === 0 ? 0 : 37;
      const hu = randomHu(rng, base + rows * columns, padding);
      assert.deepEqual(halveSimd(hu, base, rows, columns, padding), referenceHalve(hu, base, rows, columns, padding), `${rows}×${columns}`);
    }
    assert.equal(halveSimd(new Int16Array(4), 0, 2, 2, 40000), null, 'a padding outside Int16 is left to the scalar loop');
  });

  /** The halved-slice table of a grid, derived here from its source table (null: a block off the even rows or columns). */
  function halvedOf(grid: BlockGrid): BlockGrid['halved'] | null {
    const index = new Int32Array(grid.sourceIndex.length).fill(-1);
    let rows = 0;
    for (let p = 0; p < index.length; p++) {
      const s = grid.sourceIndex[p];
      if (s < 0) continue;
      const row = Math.floor(s / grid.sourceColumns);
      const column = s % grid.sourceColumns;
      if (row % 2 || column % 2) return null;
      index[p] = (row / 2) * Math.floor(grid.sourceColumns / 2) + column / 2;
      rows = Math.max(rows, row + 2);
    }
    return { index, rows };
  }

  it('the working grid carries the halved-slice table its source table implies (every orientation)', () => {
    const orientations: Array<[[number, number, number], [number, number, number]]> = [
      [[1, 0, 0], [0, 1, 0]],
      [[-1, 0, 0], [0, -1, 0]],
      [[0, 1, 0], [1, 0, 0]],
      [[Math.cos(0.5), Math.sin(0.5), 0], [-Math.sin(0.5), Math.cos(0.5), 0]],
    ];
    for (const [rowCosine, columnCosine] of orientations) {
      for (const [rows, columns, spacing] of [[512, 512, 0.75], [91, 77, 0.7], [64, 64, 1.6]]) {
        const normal: [number, number, number] = [0, 0, rowCosine[0] * columnCosine[1] - rowCosine[1] * columnCosine[0]];
        const grid = canonicalGrid({ rows, columns, rowCosine, columnCosine, normal, plane: 'axial', pixelSpacingMm: [spacing, spacing], sliceSpacingMm: 1, sliceThicknessMm: 1, gantryTiltDeg: 0 });
        if (grid.factor !== 2) {
          assert.equal(grid.halved, undefined);
          continue;
        }
        assert.deepEqual(grid.halved, halvedOf(grid), `${rows}×${columns} ${rowCosine.join(',')}`);
      }
    }
  });

  it('HU and the working grid give the same with the kernels on and off, grids alternating', () => {
    const rng = createRng(7);
    const rows = 64;
    const columns = 58;
    const hu = randomHu(rng, rows * columns * 2, PADDING_HU);
    const plain: BlockGrid = { width: 29, height: 32, factor: 2, sourceColumns: columns, sourceIndex: Int32Array.from({ length: 29 * 32 }, (_, p) => 2 * Math.floor(p / 29) * columns + 2 * (p % 29)) };
    const identity = { ...plain, halved: halvedOf(plain)! };
    // Mirrored and cut (−1 outside); and blocks on odd columns, which the halved slice has not (no table: the scalar loop).
    const mirroredIndex = plain.sourceIndex.map((_, p) => (p % 29 === 0 ? -1 : 2 * Math.floor(p / 29) * columns + 2 * (28 - (p % 29))));
    const mirrored = { ...plain, sourceIndex: mirroredIndex, halved: halvedOf({ ...plain, sourceIndex: mirroredIndex })! };
    const oddIndex = Int32Array.from({ length: 28 * 32 }, (_, p) => 2 * Math.floor(p / 28) * columns + 2 * (p % 28) + 1);
    assert.equal(halvedOf({ ...plain, width: 28, sourceIndex: oddIndex }), null);
    const odd: BlockGrid = { ...plain, width: 28, sourceIndex: oddIndex };
    for (const grid of [identity, mirrored, odd, identity, plain, mirrored]) {
      for (const base of [0, rows * columns]) {
        const expected = new Int16Array(grid.width * grid.height);
        averageBlocks(hu, base, PADDING_HU, grid, expected);
        useSimdKernels(false);
        const scalar = averageOntoBlockGrid(hu, base, PADDING_HU, grid, new Int16Array(expected.length));
        useSimdKernels(true);
        const simd = averageOntoBlockGrid(hu, base, PADDING_HU, grid, new Int16Array(expected.length));
        assert.deepEqual(scalar, expected);
        assert.deepEqual(simd, expected);
      }
    }
    const stored = randomStored(rng, 4099);
    for (const params of [{ slope: 1, intercept: -1024 }, { slope: 1, intercept: 0, padding: { value: -2000, rangeLimit: -1000 } }]) {
      useSimdKernels(false);
      const scalar = new Int16Array(4102);
      storedToHounsfield(stored, params, scalar, 3);
      useSimdKernels(true);
      const simd = new Int16Array(4102);
      storedToHounsfield(stored, params, simd, 3);
      assert.deepEqual(simd, scalar);
    }
  });
});
