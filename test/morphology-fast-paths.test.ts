/**
 * Issue #16 (segment-measure time): the morphology behind the default segmenter has tight loops
 * that must give, to the bit, what the straightforward code they replaced gave (the segmenter's
 * masks, and so its version, depend on it). The replaced code is kept here as the reference:
 * the Felzenszwalb–Huttenlocher transform run on both axes, and a flood fill that visits
 * neighbours through a callback.
 */
import assert from 'node:assert/strict';
import { boxMean3, connectedComponents, dilate, distanceToSet, distanceToZero, erode, fillHoles, label3d, squaredLimit, type Components } from '../src/image/morphology.ts';
import { createRng } from '../src/phantom/random.ts';
import { blobMask } from './support/random-mask.ts';

const INF = 1e20;

function referenceEdt1d(f: Float64Array, n: number, step: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  const s2 = step * step;
  let k = 0;
  v[0] = 0;
  z[0] = -INF;
  z[1] = INF;
  for (let q = 1; q < n; q++) {
    let s: number;
    for (;;) {
      const p = v[k];
      s = (f[q] + s2 * q * q - (f[p] + s2 * p * p)) / (2 * s2 * (q - p));
      if (s > z[k] || k === 0) break;
      k--;
    }
    if (s <= z[k] && k === 0) {
      v[0] = q;
      z[0] = -INF;
      z[1] = INF;
      continue;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = INF;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const diff = q - v[k];
    d[q] = s2 * diff * diff + f[v[k]];
  }
}

function referenceDistanceToZero(mask: Uint8Array, rows: number, columns: number, spacing: [number, number]): Float32Array {
  const [rowMm, colMm] = spacing;
  const n = Math.max(rows, columns);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  const tmp = new Float64Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) f[c] = mask[r * columns + c] ? INF : 0;
    referenceEdt1d(f, columns, colMm, d, v, z);
    for (let c = 0; c < columns; c++) tmp[r * columns + c] = d[c];
  }
  const out = new Float32Array(rows * columns);
  for (let c = 0; c < columns; c++) {
    for (let r = 0; r < rows; r++) f[r] = tmp[r * columns + c];
    referenceEdt1d(f, rows, rowMm, d, v, z);
    for (let r = 0; r < rows; r++) out[r * columns + c] = Math.sqrt(d[r]);
  }
  return out;
}

function referenceLabel(mask: Uint8Array, neighbours: (p: number, visit: (q: number) => void) => void): Components {
  const labels = new Int32Array(mask.length);
  const stack = new Int32Array(mask.length);
  const sizeList: number[] = [0];
  let count = 0;
  let top = 0;
  const visit = (q: number): void => {
    if (mask[q] && !labels[q]) {
      labels[q] = count;
      stack[top++] = q;
    }
  };
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    count++;
    top = 0;
    let size = 0;
    stack[top++] = start;
    labels[start] = count;
    while (top > 0) {
      const p = stack[--top];
      size++;
      neighbours(p, visit);
    }
    sizeList.push(size);
  }
  return { labels, count, sizes: Int32Array.from(sizeList) };
}

function referenceComponents(mask: Uint8Array, rows: number, columns: number, four: boolean): Components {
  return referenceLabel(mask, (p, visit) => {
    const r = (p / columns) | 0;
    const c = p - r * columns;
    for (let dr = -1; dr <= 1; dr++) {
      const rr = r + dr;
      if (rr < 0 || rr >= rows) continue;
      for (let dc = -1; dc <= 1; dc++) {
        if ((dr === 0 && dc === 0) || (four && dr !== 0 && dc !== 0)) continue;
        const cc = c + dc;
        if (cc >= 0 && cc < columns) visit(rr * columns + cc);
      }
    }
  });
}

function referenceLabel3d(mask: Uint8Array, width: number, height: number, depth: number): Components {
  const plane = width * height;
  return referenceLabel(mask, (p, visit) => {
    const z = Math.floor(p / plane);
    const x = (p - z * plane) % width;
    const y = (p - z * plane - x) / width;
    for (let dz = -1; dz <= 1; dz++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const [zz, yy, xx] = [z + dz, y + dy, x + dx];
          if (zz < 0 || zz >= depth || yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
          if (dz === 0 && dx !== 0 && dy !== 0) continue;
          visit(zz * plane + yy * width + xx);
        }
      }
    }
  });
}

function referenceFillHoles(mask: Uint8Array, rows: number, columns: number): Uint8Array {
  const outside = new Uint8Array(mask.length);
  const todo: number[] = [];
  const seed = (p: number) => {
    if (!mask[p] && !outside[p]) {
      outside[p] = 1;
      todo.push(p);
    }
  };
  for (let c = 0; c < columns; c++) {
    seed(c);
    seed((rows - 1) * columns + c);
  }
  for (let r = 0; r < rows; r++) {
    seed(r * columns);
    seed(r * columns + columns - 1);
  }
  while (todo.length > 0) {
    const p = todo.pop()!;
    const r = Math.floor(p / columns);
    const c = p % columns;
    if (r > 0) seed(p - columns);
    if (r < rows - 1) seed(p + columns);
    if (c > 0) seed(p - 1);
    if (c < columns - 1) seed(p + 1);
  }
  return Uint8Array.from(outside, (o) => 1 - o);
}

function referenceBoxMean3(hu: Int16Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(hu.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      let sum = 0;
      let n = 0;
      for (let dr = -1; dr <= 1; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          const [rr, cc] = [r + dr, c + dc];
          if (rr < 0 || rr >= rows || cc < 0 || cc >= columns) continue;
          sum += hu[rr * columns + cc];
          n++;
        }
      }
      out[r * columns + c] = sum / n;
    }
  }
  return out;
}

/** Blobby masks (thresholded smoothed noise) at several densities, plus salt noise and full/empty rows. */
function randomMask(seed: number, rows: number, columns: number, density: number, salt: boolean): Uint8Array {
  const mask = blobMask(seed, rows, columns, density, salt);
  // A full row and an empty row, and a full column: the row pass's special cases.
  if (rows > 4) {
    mask.fill(1, 2 * columns, 3 * columns);
    mask.fill(0, 4 * columns, 5 * columns);
    for (let r = 0; r < rows; r++) mask[r * columns + (columns >> 1)] = 1;
  }
  return mask;
}

const shapes: Array<[number, number]> = [[1, 1], [1, 17], [23, 1], [37, 53], [64, 64], [97, 31]];
const spacings: Array<[number, number]> = [[1, 1], [0.977, 0.977], [0.7, 1.3], [3, 3], [1.5, 0.5]];
const densities = [0, 0.3, 0.5, 0.7, 1];

/** Sets of a few blobs (or none) inside a random sub-rectangle: small sets in a large image, the case distanceToSet skips work for. */
function sparseSets(seed: number, rows: number, columns: number, count: number): Uint8Array[] {
  const rng = createRng(seed);
  const sets: Uint8Array[] = [new Uint8Array(rows * columns), new Uint8Array(rows * columns).fill(1)];
  for (let k = 0; k < count; k++) {
    const blobs = randomMask(seed + k, rows, columns, 0.2 + 0.6 * rng.next(), k % 4 === 0);
    const [r0, c0] = [Math.floor(rng.next() * rows), Math.floor(rng.next() * columns)];
    const [r1, c1] = [r0 + Math.floor(rng.next() * Math.min(12, rows - r0)), c0 + Math.floor(rng.next() * Math.min(12, columns - c0))];
    sets.push(blobs.map((b, i) => (Math.floor(i / columns) >= r0 && Math.floor(i / columns) <= r1 && i % columns >= c0 && i % columns <= c1 ? b : 0)));
  }
  return sets;
}

function sameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const at = a.findIndex((x, i) => x !== e[i]);
  assert.equal(at, -1, `${what}: differs at ${at}: ${actual[at]} vs ${expected[at]}`);
}

describe('morphology fast paths (issue #16)', () => {
  it('distanceToZero equals the two-axis Felzenszwalb–Huttenlocher transform to the bit', () => {
    let seed = 1;
    for (const [rows, columns] of shapes) {
      for (const spacing of spacings) {
        for (const density of densities) {
          for (const salt of [false, true]) {
            const mask = randomMask(seed++, rows, columns, density, salt);
            sameBits(distanceToZero(mask, rows, columns, spacing), referenceDistanceToZero(mask, rows, columns, spacing), `${rows}×${columns} ${spacing} ${density} ${salt}`);
          }
        }
      }
    }
  });

  it('distanceToZero on masks set only inside a sub-rectangle (touching a border or not) equals the reference', () => {
    const rng = createRng(4242);
    let seed = 3000;
    for (const [rows, columns] of [[1, 9], [9, 1], [40, 40], [61, 37]] as Array<[number, number]>) {
      for (let k = 0; k < 12; k++) {
        const blobs = randomMask(seed++, rows, columns, 0.4 + 0.5 * rng.next(), k % 3 === 0);
        const [r0, c0] = [Math.floor(rng.next() * rows), Math.floor(rng.next() * columns)];
        const [r1, c1] = [r0 + Math.floor(rng.next() * (rows - r0)), c0 + Math.floor(rng.next() * (columns - c0))];
        const mask = blobs.map((b, i) => (Math.floor(i / columns) >= r0 && Math.floor(i / columns) <= r1 && i % columns >= c0 && i % columns <= c1 ? b : 0));
        for (const spacing of spacings) sameBits(distanceToZero(mask, rows, columns, spacing), referenceDistanceToZero(mask, rows, columns, spacing), `box ${rows}×${columns} [${r0}..${r1}]×[${c0}..${c1}] ${spacing}`);
      }
    }
  });

  it('distanceToZero on a 512² body-like mask and its inverse (the segmenter’s sizes)', () => {
    const mask = randomMask(99, 512, 512, 0.5, false);
    for (let i = 0; i < mask.length; i++) {
      const r = Math.floor(i / 512) - 256;
      const c = (i % 512) - 256;
      if (r * r + c * c < 150 * 150) mask[i] = 1;
    }
    for (const m of [mask, Uint8Array.from(mask, (x) => 1 - x)]) sameBits(distanceToZero(m, 512, 512, [0.977, 0.977]), referenceDistanceToZero(m, 512, 512, [0.977, 0.977]), '512²');
  });

  it('connectedComponents (8 and 4) and fillHoles equal the flood fill with callbacks', () => {
    let seed = 500;
    for (const [rows, columns] of shapes) {
      for (const density of densities) {
        for (const salt of [false, true]) {
          const mask = randomMask(seed++, rows, columns, density, salt);
          for (const four of [false, true]) assert.deepEqual(connectedComponents(mask, rows, columns, four), referenceComponents(mask, rows, columns, four), `${rows}×${columns} ${density} four=${four}`);
          assert.deepEqual(fillHoles(mask, rows, columns), referenceFillHoles(mask, rows, columns), `fillHoles ${rows}×${columns} ${density}`);
        }
      }
    }
  });

  it('boxMean3 equals the bounds-checked 3×3 loop to the bit (edges, extremes of int16)', () => {
    const rng = createRng(77);
    for (const [rows, columns] of shapes) {
      const hu = Int16Array.from({ length: rows * columns }, () => (rng.next() < 0.05 ? (rng.next() < 0.5 ? -32768 : 32767) : Math.floor(rng.next() * 4000) - 1024));
      sameBits(boxMean3(hu, rows, columns, [0.8, 0.8]), referenceBoxMean3(hu, rows, columns), `boxMean3 ${rows}×${columns}`);
    }
  });

  it('label3d equals the flood fill with callbacks', () => {
    let seed = 900;
    for (const [w, h, d] of [[1, 1, 1], [7, 5, 3], [20, 16, 6], [33, 9, 4]]) {
      for (const density of [0.3, 0.5, 0.7]) {
        const mask = randomMask(seed++, h * d, w, density, seed % 2 === 0);
        assert.deepEqual(label3d(mask, w, h, d), referenceLabel3d(mask, w, h, d), `${w}×${h}×${d} ${density}`);
      }
    }
  });

  it('distanceToSet equals the transform of the inverse to the bit wherever that is within the limit, and exceeds the limit elsewhere', () => {
    let seed = 5000;
    for (const [rows, columns] of [[1, 30], [30, 1], [40, 40], [61, 37], [37, 90]] as Array<[number, number]>) {
      for (const spacing of spacings) {
        for (const set of sparseSets(seed, rows, columns, 6)) {
          const reference = referenceDistanceToZero(Uint8Array.from(set, (x) => 1 - x), rows, columns, spacing);
          for (const withinMm of [0, 0.5, 1, 2.9, 4, 12]) {
            const got = distanceToSet(set, rows, columns, spacing, withinMm);
            for (let i = 0; i < got.length; i++) {
              const what = `${rows}×${columns} ${spacing} within ${withinMm} at ${i}: ${got[i]} vs ${reference[i]}`;
              if (reference[i] <= withinMm) assert.ok(Object.is(got[i], reference[i]), what);
              else assert.ok(got[i] > withinMm, what);
            }
          }
        }
        seed += 10;
      }
    }
  });

  it('dilate and erode equal thresholding the whole-image transforms (the old dilate and erode)', () => {
    let seed = 7000;
    for (const [rows, columns] of [[1, 30], [40, 40], [61, 37], [128, 96]] as Array<[number, number]>) {
      for (const spacing of spacings) {
        for (const mask of [...sparseSets(seed, rows, columns, 4), randomMask(seed + 99, rows, columns, 0.3, false), randomMask(seed + 98, rows, columns, 0.7, false)]) {
          const toSet = referenceDistanceToZero(Uint8Array.from(mask, (x) => 1 - x), rows, columns, spacing);
          const toZero = referenceDistanceToZero(mask, rows, columns, spacing);
          // fround(√2): a diagonal step is √2 in double but that Float32 value as a distance image held it.
          for (const radiusMm of [0, 0.5, 1, Math.fround(Math.SQRT2), 3, 4, 7.5, -1, NaN]) {
            assert.deepEqual(dilate(mask, rows, columns, spacing, radiusMm), Uint8Array.from(toSet, (d) => (d <= radiusMm ? 1 : 0)), `dilate ${rows}×${columns} ${spacing} r ${radiusMm}`);
            assert.deepEqual(erode(mask, rows, columns, spacing, radiusMm), Uint8Array.from(toZero, (d) => (d > radiusMm ? 1 : 0)), `erode ${rows}×${columns} ${spacing} r ${radiusMm}`);
          }
        }
        seed += 10;
      }
    }
  });

  it('connectedComponents and fillHoles on sets inside a sub-rectangle and on a 512² body-like mask (runs; the fill kept to the box)', () => {
    const masks: Array<[Uint8Array, number, number]> = [];
    let seed = 9000;
    for (const [rows, columns] of [[1, 30], [30, 1], [40, 40], [61, 37]] as Array<[number, number]>) {
      for (const set of sparseSets(seed, rows, columns, 8)) masks.push([set, rows, columns]);
      // Dense blobs with holes, cut to a rectangle that touches the border or not.
      const dense = randomMask(seed, rows, columns, 0.8, false);
      for (const set of sparseSets(seed + 50, rows, columns, 4)) masks.push([set.map((x, i) => (x || (dense[i] && i % 7 !== 0) ? 1 : 0)), rows, columns]);
      seed += 100;
    }
    const body = randomMask(98, 512, 512, 0.55, false);
    for (let i = 0; i < body.length; i++) if (((Math.floor(i / 512) - 250) / 160) ** 2 + (((i % 512) - 260) / 210) ** 2 > 1) body[i] = 0;
    masks.push([body, 512, 512]);
    for (const [mask, rows, columns] of masks) {
      assert.deepEqual(connectedComponents(mask, rows, columns), referenceComponents(mask, rows, columns, false), `components ${rows}×${columns}`);
      assert.deepEqual(fillHoles(mask, rows, columns), referenceFillHoles(mask, rows, columns), `fillHoles ${rows}×${columns}`);
    }
  });

  it('squaredLimit is the last squared distance whose Float32 root is within the limit', () => {
    const next = (x: number, step: 1n | -1n) => {
      const bits = new BigUint64Array(new Float64Array([x]).buffer);
      bits[0] += step;
      return new Float64Array(bits.buffer)[0];
    };
    const rng = createRng(31);
    const limits = [0, 1e-300, 0.5, 1, Math.SQRT2, Math.fround(Math.SQRT2), 3, 4, 4.000001, 7.5, 12.48, 1e10, ...Array.from({ length: 40 }, () => rng.next() * 50)];
    for (const limitMm of limits) {
      const t = squaredLimit(limitMm);
      assert.ok(Math.fround(Math.sqrt(t)) <= limitMm, `${limitMm}: ${t} itself`);
      assert.ok(Math.fround(Math.sqrt(next(t, 1n))) > limitMm, `${limitMm}: the next double above ${t}`);
      if (t > 0) assert.ok(Math.fround(Math.sqrt(next(t, -1n))) <= limitMm, `${limitMm}: the double below ${t}`);
    }
    assert.equal(squaredLimit(Infinity), Infinity);
  });
});
