/**
 * Image math shared by the level finder, the segmenter and the measurements, on row-major typed
 * arrays (masks are 0/1 Uint8Array): connected components in 2D and 3D, hole filling, binary
 * morphology and a 3×3 mean. Erosion and dilation go through an exact Euclidean distance transform
 * in millimetres, so radii mean the same thing at every pixel spacing and cost O(pixels) whatever
 * the radius. Components are found on runs (8-connected) or with an explicit stack, so large
 * masks cannot overflow the call stack. The 2D paths the segmenter takes a dozen times per slice
 * are written as plain loops over reused buffers and confined to the box of the pixels that can
 * matter (issue #16): a transform, a fill or a dilation costs the region, not the 512² image. They
 * must give the segmenter's masks to the bit, which test/morphology-fast-paths.test.ts (against
 * the straightforward code) and test/anatomic-masks-unchanged.test.ts (digests of the masks) hold
 * them to.
 */

import { LargestRegionFinder } from './runs.ts';

const INF = 1e20;

/**
 * 1-D squared distance transform (Felzenszwalb & Huttenlocher) of f over the samples lo..hi
 * (inclusive, absolute indices into f and d), sample spacing `step`. `g` is scratch for
 * f[q] + step²·q², each parabola's value at 0, computed once per sample instead of once per
 * comparison (the same sums, so the same results to the bit).
 */
function edt1d(f: Float64Array, lo: number, hi: number, step: number, d: Float64Array, v: Int32Array, z: Float64Array, g: Float64Array): void {
  const s2 = step * step;
  const twoS2 = 2 * s2;
  for (let q = lo; q <= hi; q++) g[q] = f[q] + s2 * q * q;
  let k = 0;
  v[0] = lo;
  z[0] = -INF;
  z[1] = INF;
  for (let q = lo + 1; q <= hi; q++) {
    const gq = g[q];
    let s: number;
    for (;;) {
      const p = v[k];
      s = (gq - g[p]) / (twoS2 * (q - p));
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
  for (let q = lo; q <= hi; q++) {
    while (z[k + 1] < q) k++;
    const diff = q - v[k];
    d[q] = s2 * diff * diff + f[v[k]];
  }
}

/**
 * The column pass of distanceToZero for one column (row pass results, f ≥ 0), into d. A sample
 * with f = 0 is its own nearest, and no parabola from beyond it is lowest on its far side (the
 * crossing with it lies past the midpoint), nor is it ever popped from the envelope: so the
 * transform splits at those samples into independent stretches, each run as edt1d would run it
 * within the whole column (same sums, same order; absolute indices). Stretches without a set
 * sample, the bulk of most columns, cost nothing.
 */
function columnPass(f: Float64Array, lo: number, hi: number, step: number, d: Float64Array, v: Int32Array, z: Float64Array, g: Float64Array): void {
  let from = lo;
  let sawZero = false;
  for (let q = lo; q <= hi; q++) {
    if (f[q] !== 0) continue;
    d[q] = 0;
    // Samples between `from` and q are set (or `from` is the first sample and set).
    if (q - from >= (sawZero ? 2 : 1)) edt1d(f, from, q, step, d, v, z, g);
    from = q;
    sawZero = true;
  }
  if (!sawZero || from < hi) edt1d(f, from, hi, step, d, v, z, g);
}

/**
 * The row pass of distanceToZero for one row of a 0/1 mask: where the row has a zero, the lower
 * envelope of its parabolas is the nearest zero's (the others lie ≥ 1e20 above), so the squared
 * distance is step²·gap² with the gap found by two scans. A row without a zero is the transform of
 * a constant row, `allSet` (the same for every such row; its values come from edt1d's own rounding
 * of 1e20 + step²·q², so they are copied rather than reasoned about).
 */
function binaryRowPass(mask: Uint8Array, base: number, lo: number, hi: number, step: number, allSet: Float64Array, out: Float64Array, outBase: number): void {
  const s2 = step * step;
  let last = -1;
  for (let c = lo; c <= hi; c++) {
    if (mask[base + c] === 0) last = c;
    // Squared gap to the zero on the left, or +Infinity until one is seen (set on the way back).
    out[outBase + c] = last < 0 ? Infinity : s2 * (c - last) * (c - last);
  }
  if (last < 0) {
    out.set(allSet.subarray(lo, hi + 1), outBase + lo);
    return;
  }
  let next = -1;
  for (let c = hi; c >= lo; c--) {
    if (mask[base + c] === 0) next = c;
    if (next < 0) continue;
    const right = s2 * (next - c) * (next - c);
    const at = outBase + c;
    if (right < out[at]) out[at] = right;
  }
}

/**
 * Distance (mm) from every pixel to the nearest pixel where mask is 0. Pixels outside the image
 * count as non-zero, so a region touching the border is not eroded from the border side.
 * Exact: two separable passes; the row pass on the binary mask works on gaps (binaryRowPass) and
 * writes column-major, so the column pass reads each column contiguously.
 */
export function distanceToZero(mask: Uint8Array, rows: number, columns: number, spacing: [number, number]): Float32Array {
  const out = new Float32Array(rows * columns);
  const box = setBoxWithMargin(mask, rows, columns);
  if (box) transformInBox(mask, rows, columns, spacing, box, { distances: out });
  return out;
}

/**
 * Distance (mm) from every pixel to the nearest set pixel of `set`, for callers that only ask
 * whether it is within `withinMm` (dilation, "near the core"): exactly distanceToZero(invert(set))
 * wherever that is ≤ withinMm, and +Infinity at pixels beyond the set's bounding box widened by
 * more than withinMm (all of which lie further than withinMm: skipping them is what saves the
 * time, as a small set in a 512² image otherwise costs a whole-image transform). Other pixels get
 * their exact distance. Why the box alone gives the same sums is told at transformInBox.
 */
export function distanceToSet(set: Uint8Array, rows: number, columns: number, spacing: [number, number], withinMm: number): Float32Array {
  const out = new Float32Array(rows * columns);
  const box = setBoxWithin(set, rows, columns, spacing, withinMm);
  if (!box) return out.fill(Infinity);
  transformInBox(invertedInBox(set, rows, columns, box), rows, columns, spacing, box, { distances: out });
  fillOutsideBox(out, rows, columns, box, Infinity);
  return out;
}

/**
 * The set pixels' box (widened by one) widened by one row/column beyond ceil(withinMm / step):
 * every pixel outside lies further than withinMm from the set, by more than a step. Null when
 * nothing is set.
 */
function setBoxWithin(set: Uint8Array, rows: number, columns: number, spacing: [number, number], withinMm: number): PixelBox | null {
  const tight = setBoxWithMargin(set, rows, columns);
  if (!tight) return null;
  const marginRows = Math.ceil(withinMm / spacing[0]) + 1;
  const marginColumns = Math.ceil(withinMm / spacing[1]) + 1;
  return [Math.max(0, tight[0] - marginRows), Math.min(rows - 1, tight[1] + marginRows), Math.max(0, tight[2] - marginColumns), Math.min(columns - 1, tight[3] + marginColumns)];
}

/** Sets every pixel of `image` outside `box` to `value` (row stretches, so no pixel is written twice). */
function fillOutsideBox(image: Float32Array, rows: number, columns: number, [top, bottom, left, right]: PixelBox, value: number): void {
  image.fill(value, 0, top * columns);
  for (let r = top; r <= bottom; r++) {
    image.fill(value, r * columns, r * columns + left);
    image.fill(value, r * columns + right + 1, (r + 1) * columns);
  }
  image.fill(value, (bottom + 1) * columns, rows * columns);
}

/** [top, bottom, left, right], inclusive. */
export type PixelBox = [number, number, number, number];

/**
 * The exact transform of distanceToZero on rows top..bottom × columns left..right of `mask`, into
 * `out` there (absolute indices; mask is read only inside the box). Same sums as the whole image
 * when (a) every set pixel's nearest zero along its row lies in the box, and (b) along each column,
 * the rows outside the box are either zero-free stretches already cut off by a zero inside the box,
 * or rows whose row pass found no zero at all (value ≈ 1e20, the same for every such row of a
 * column): such parabolas are never the lowest within the image (they cross any finite one more
 * than 1e15 samples away), they only ever sit below the first finite parabola of a stretch, which
 * no later one can pop, or above the last one, at a crossing beyond the image. distanceToZero's
 * box (set pixels + 1) meets (a) and (b) trivially; distanceToSet's (the zeros' box + margin) meets
 * (a) since every zero of a row is inside it and (b) since rows without a zero are zero-free.
 */
function transformInBox(mask: Uint8Array, rows: number, columns: number, spacing: [number, number], box: PixelBox, sink: DistanceSink): void {
  const [rowMm, colMm] = spacing;
  const [top, bottom, left, right] = box;
  const { f, g, v, z, allSet, byColumn, tile } = scratchFor(rows, columns);
  f.fill(INF, 0, columns);
  edt1d(f, 0, columns - 1, colMm, allSet, v, z, g);
  // Column-major: column c occupies byColumn[c·rows … c·rows + rows). Rows go through `tile` a
  // block at a time, so the transposed writes fill whole cache lines.
  for (let r0 = top; r0 <= bottom; r0 += TILE) {
    const h = Math.min(TILE, bottom + 1 - r0);
    for (let i = 0; i < h; i++) binaryRowPass(mask, (r0 + i) * columns, left, right, colMm, allSet, tile, i * columns);
    for (let c = left, at = left * rows + r0; c <= right; c++, at += rows) for (let i = 0; i < h; i++) byColumn[at + i] = tile[i * columns + c];
  }
  for (let c0 = left; c0 <= right; c0 += TILE) {
    const w = Math.min(TILE, right + 1 - c0);
    for (let j = 0; j < w; j++) columnPass(byColumn.subarray((c0 + j) * rows, (c0 + j + 1) * rows), top, bottom, rowMm, tile.subarray(j * rows, (j + 1) * rows), v, z, g);
    writeTile(tile, rows, columns, top, bottom, c0, w, sink);
  }
}

/**
 * Where transformInBox puts its results: the distances, or (erosion, dilation) straight away the
 * 0/1 answer to "distance ≤ limitMm" (`within`) or "> limitMm", compared as the Float32 distance
 * would have been, so no distance image is made and read back.
 */
type DistanceSink = { distances: Float32Array } | { bytes: Uint8Array; /** squaredLimit(limitMm) */ limit: number; within: boolean };

/** The squared distances of columns c0 … c0 + w − 1 (rows top … bottom) in `tile`, into the sink. */
function writeTile(tile: Float64Array, rows: number, columns: number, top: number, bottom: number, c0: number, w: number, sink: DistanceSink): void {
  if ('distances' in sink) {
    const out = sink.distances;
    for (let r = top; r <= bottom; r++) for (let j = 0; j < w; j++) out[r * columns + c0 + j] = Math.sqrt(tile[j * rows + r]);
    return;
  }
  const { bytes, limit, within } = sink;
  for (let r = top; r <= bottom; r++) {
    for (let j = 0; j < w; j++) bytes[r * columns + c0 + j] = tile[j * rows + r] <= limit === within ? 1 : 0;
  }
}

const bits = new BigUint64Array(1);
const bitsAsDouble = new Float64Array(bits.buffer);

/**
 * The largest squared distance t whose Float32 distance, fround(√t), is ≤ limitMm (limitMm ≥ 0):
 * t ≤ that ⇔ fround(√t) ≤ limitMm, since √ and fround never decrease. So erode and dilate compare
 * the squared distance once instead of taking a root and a rounding per pixel, and answer as the
 * Float32 distance image did. Found by bisection on the bit patterns of non-negative doubles,
 * which order as the doubles do.
 */
export function squaredLimit(limitMm: number): number {
  if (limitMm === Infinity) return Infinity;
  let lo = 0n; // fround(√0) = 0 ≤ limitMm
  let hi = 0x7ff0000000000000n; // +Infinity: fround(√∞) = ∞ > limitMm
  while (hi - lo > 1n) {
    const mid = (lo + hi) >> 1n;
    bits[0] = mid;
    if (Math.fround(Math.sqrt(bitsAsDouble[0])) <= limitMm) lo = mid;
    else hi = mid;
  }
  bits[0] = lo;
  return bitsAsDouble[0];
}

/** 0 where `set` is set, 1 elsewhere, inside `box` only (a reused buffer: the rest is stale and never read). */
function invertedInBox(set: Uint8Array, rows: number, columns: number, box: PixelBox): Uint8Array {
  if (invertScratch.length < rows * columns) invertScratch = new Uint8Array(rows * columns);
  const [top, bottom, left, right] = box;
  for (let r = top; r <= bottom; r++) {
    for (let i = r * columns + left, end = r * columns + right; i <= end; i++) invertScratch[i] = set[i] ? 0 : 1;
  }
  return invertScratch;
}

let invertScratch = new Uint8Array(0);

/**
 * Rows top..bottom and columns left..right (inclusive) holding every set pixel, widened by one
 * pixel inside the image; null for a mask without one. Outside, every distance is 0; inside, a
 * set pixel's nearest zero along its row, and every stretch of set samples along a column, lie
 * within the box (the widening rows and columns are all zero, or the image ends there), so
 * distanceToZero computes the box alone with the same sums, on absolute indices.
 */
function setBoxWithMargin(mask: Uint8Array, rows: number, columns: number): PixelBox | null {
  const box = setBox(mask, rows, columns);
  if (!box) return null;
  const [top, bottom, left, right] = box;
  return [Math.max(0, top - 1), Math.min(rows - 1, bottom + 1), Math.max(0, left - 1), Math.min(columns - 1, right + 1)];
}

/**
 * [top, bottom, left, right] (inclusive) of the set pixels, null when none. Reads as little as it
 * can: empty rows from each end, then per row only the columns outside the span found so far.
 */
export function setBox(mask: Uint8Array, rows: number, columns: number): PixelBox | null {
  let top = 0;
  while (top < rows && rowIsEmpty(mask, top * columns, columns)) top++;
  if (top === rows) return null;
  let bottom = rows - 1;
  while (rowIsEmpty(mask, bottom * columns, columns)) bottom--;
  let left = columns;
  let right = -1;
  for (let r = top; r <= bottom; r++) {
    const base = r * columns;
    for (let c = 0; c < left; c++) {
      if (mask[base + c] !== 0) {
        left = c;
        break;
      }
    }
    for (let c = columns - 1; c > right; c--) {
      if (mask[base + c] !== 0) {
        right = c;
        break;
      }
    }
  }
  return [top, bottom, left, right];
}

/** Whether row `base … base + columns` of mask is all zero; four bytes at a time where the row is aligned to them. */
function rowIsEmpty(mask: Uint8Array, base: number, columns: number): boolean {
  let i = base;
  const end = base + columns;
  if ((mask.byteOffset + base) % 4 === 0 && columns >= 16) {
    const words = new Uint32Array(mask.buffer, mask.byteOffset + base, columns >> 2);
    for (let w = 0; w < words.length; w++) if (words[w] !== 0) return false;
    i = base + (words.length << 2);
  }
  for (; i < end; i++) if (mask[i] !== 0) return false;
  return true;
}

/** Rows (or columns) per block of distanceToZero's transposes. */
const TILE = 8;

interface EdtScratch {
  rows: number;
  columns: number;
  f: Float64Array;
  g: Float64Array;
  v: Int32Array;
  z: Float64Array;
  allSet: Float64Array;
  byColumn: Float64Array;
  tile: Float64Array;
}

let scratch: EdtScratch | null = null;

/** Work buffers of distanceToZero, kept while the image size stays (a slice takes a dozen transforms). */
function scratchFor(rows: number, columns: number): EdtScratch {
  if (scratch && scratch.rows === rows && scratch.columns === columns) return scratch;
  const n = Math.max(rows, columns);
  scratch = { rows, columns, f: new Float64Array(n), g: new Float64Array(n), v: new Int32Array(n), z: new Float64Array(n + 1), allSet: new Float64Array(columns), byColumn: new Float64Array(rows * columns), tile: new Float64Array(TILE * n) };
  return scratch;
}

export function invert(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] ? 0 : 1;
  return out;
}

/**
 * Pixels further than radiusMm from every zero of mask. The answer is written by the transform
 * itself (outside the set pixels' box the distance is 0, so 0 there as the zeroed array has it).
 */
export function erode(mask: Uint8Array, rows: number, columns: number, spacing: [number, number], radiusMm: number): Uint8Array {
  if (!(radiusMm >= 0)) return thresholded(distanceToZero(mask, rows, columns, spacing), (d) => d > radiusMm);
  const out = new Uint8Array(mask.length);
  const box = setBoxWithMargin(mask, rows, columns);
  if (box) transformInBox(mask, rows, columns, spacing, box, { bytes: out, limit: squaredLimit(radiusMm), within: false });
  return out;
}

/**
 * Pixels within radiusMm of a set pixel of mask: the transform runs on the set's box widened by
 * the radius only (setBoxWithin; further out nothing is within it, 0 as the zeroed array has it).
 */
export function dilate(mask: Uint8Array, rows: number, columns: number, spacing: [number, number], radiusMm: number): Uint8Array {
  if (!(radiusMm >= 0)) return thresholded(distanceToZero(invert(mask), rows, columns, spacing), (d) => d <= radiusMm);
  const out = new Uint8Array(mask.length);
  const box = setBoxWithin(mask, rows, columns, spacing, radiusMm);
  if (box) transformInBox(invertedInBox(mask, rows, columns, box), rows, columns, spacing, box, { bytes: out, limit: squaredLimit(radiusMm), within: true });
  return out;
}

/** 1 where test(distance) holds (erode and dilate with a negative or NaN radius, as they always answered). */
function thresholded(distances: Float32Array, test: (d: number) => boolean): Uint8Array {
  return Uint8Array.from(distances, (d) => (test(d) ? 1 : 0));
}

export function close(mask: Uint8Array, rows: number, columns: number, spacing: [number, number], radiusMm: number): Uint8Array {
  return erode(dilate(mask, rows, columns, spacing, radiusMm), rows, columns, spacing, radiusMm);
}

export interface Components {
  /** 0 = background, 1..count = component. */
  labels: Int32Array;
  count: number;
  /** sizes[label] = pixel count (sizes[0] unused). */
  sizes: Int32Array;
}

/**
 * Labels the non-zero pixels of `mask` by flood fill, in index order: `neighbours(p, visit)` calls
 * `visit(q)` for each neighbour q of p (the connectivity). Used for 3D (once per series); 2D has
 * its own loop in connectedComponents, with the same start and stack order.
 */
function labelByFlood(mask: Uint8Array, neighbours: (p: number, visit: (q: number) => void) => void): Components {
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

/**
 * Connected components of the non-zero pixels (8-connected unless `four`), numbered in the order
 * of each one's first pixel (row-major), as a flood fill started at each unlabelled pixel in turn
 * numbers them. 8-connected (all the segmenter asks for: several 512² masks per slice) they are
 * found on runs (componentsOnRuns); 4-connected (nothing in src asks for it now) by labelByFlood.
 */
export function connectedComponents(mask: Uint8Array, rows: number, columns: number, four = false): Components {
  if (!four) return componentsOnRuns(mask, rows, columns);
  return labelByFlood(mask, (p, visit) => {
    const c = p % columns;
    if (p >= columns) visit(p - columns);
    if (c > 0) visit(p - 1);
    if (c < columns - 1) visit(p + 1);
    if (p < (rows - 1) * columns) visit(p + columns);
  });
}

/**
 * 8-connected components from the runs of set pixels joined by union-find (LargestRegionFinder,
 * which names each region by its first run, so regions come in the order of their first pixel):
 * the labels, count and sizes of the flood fill, painted a run at a time instead of a pixel and
 * its eight neighbours at a time.
 */
function componentsOnRuns(mask: Uint8Array, rows: number, columns: number): Components {
  if (!runFinder || runFinder.rows !== rows || runFinder.columns !== columns) {
    runFinder = new LargestRegionFinder(rows, columns);
    labelOfRun = new Int32Array(rows * Math.ceil(columns / 2));
  }
  const { count: runs, runRow, runStart, runEnd, region } = runFinder.find(mask);
  const labels = new Int32Array(mask.length);
  const sizeList: number[] = [0];
  let count = 0;
  for (let i = 0; i < runs; i++) {
    // A region's first run comes before its other runs: its label is known when they come.
    let label: number;
    if (region[i] === i) {
      label = ++count;
      labelOfRun[i] = label;
      sizeList.push(0);
    } else label = labelOfRun[region[i]];
    const base = runRow[i] * columns;
    labels.fill(label, base + runStart[i], base + runEnd[i]);
    sizeList[label] += runEnd[i] - runStart[i];
  }
  return { labels, count, sizes: Int32Array.from(sizeList) };
}

let runFinder: LargestRegionFinder | null = null;
let labelOfRun = new Int32Array(0);

/**
 * 3D components of mask (width × height × depth, slice-major): 4-connected within a slice and
 * 3×3-connected to the slices above and below, so a rib running obliquely through thick slices,
 * whose cross-sections shift sideways from one slice to the next, stays one piece.
 */
export function label3d(mask: Uint8Array, width: number, height: number, depth: number): Components {
  const plane = width * height;
  return labelByFlood(mask, (p, visit) => {
    const z = Math.floor(p / plane);
    const inPlane = p - z * plane;
    const x = inPlane % width;
    const y = (inPlane - x) / width;
    for (let dz = -1; dz <= 1; dz++) {
      const zz = z + dz;
      if (zz < 0 || zz >= depth) continue;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          if (dz === 0 && dx !== 0 && dy !== 0) continue;
          visit(zz * plane + yy * width + xx);
        }
      }
    }
  });
}

/** The largest component (all zeros when the mask is empty). */
export function largestComponent(mask: Uint8Array, rows: number, columns: number): Uint8Array {
  const { labels, count, sizes } = connectedComponents(mask, rows, columns);
  const out = new Uint8Array(mask.length);
  if (count === 0) return out;
  let best = 1;
  for (let l = 2; l <= count; l++) if (sizes[l] > sizes[best]) best = l;
  for (let i = 0; i < mask.length; i++) out[i] = labels[i] === best ? 1 : 0;
  return out;
}

/** Drop components smaller than minPixels (8-connected). */
export function removeSmallComponents(mask: Uint8Array, rows: number, columns: number, minPixels: number): Uint8Array {
  const { labels, sizes } = connectedComponents(mask, rows, columns);
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = labels[i] && sizes[labels[i]] >= minPixels ? 1 : 0;
  return out;
}

let sharedStack = new Int32Array(0);

/** The work stack of the 2D flood fills (each pixel is pushed at most once), kept between calls. */
function floodStack(pixels: number): Int32Array {
  if (sharedStack.length < pixels) sharedStack = new Int32Array(pixels);
  return sharedStack;
}

/**
 * Set every background pixel that is not 4-connected to the image border. The fill runs only in
 * the set pixels' box widened by one: outside it every pixel is background with a straight path to
 * the border, and any path from inside leaves through the box's outer ring, whose background
 * pixels are such pixels (or on the border): so the same pixels come out as filling the whole image.
 */
export function fillHoles(mask: Uint8Array, rows: number, columns: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  const box = setBoxWithMargin(mask, rows, columns);
  if (!box) return out;
  const [top, bottom, left, right] = box;
  // out starts as "not reached from the border" inside the box; 0 outside it stops the fill there.
  for (let r = top; r <= bottom; r++) out.fill(1, r * columns + left, r * columns + right + 1);
  const stack = floodStack(mask.length);
  let sp = 0;
  for (let c = left; c <= right; c++) {
    sp = seedOutside(mask, out, stack, sp, top * columns + c);
    sp = seedOutside(mask, out, stack, sp, bottom * columns + c);
  }
  for (let r = top; r <= bottom; r++) {
    sp = seedOutside(mask, out, stack, sp, r * columns + left);
    sp = seedOutside(mask, out, stack, sp, r * columns + right);
  }
  while (sp > 0) {
    const p = stack[--sp];
    const r = (p / columns) | 0;
    const c = p - r * columns;
    if (r > 0) sp = seedOutside(mask, out, stack, sp, p - columns);
    if (r < rows - 1) sp = seedOutside(mask, out, stack, sp, p + columns);
    if (c > 0) sp = seedOutside(mask, out, stack, sp, p - 1);
    if (c < columns - 1) sp = seedOutside(mask, out, stack, sp, p + 1);
  }
  return out;
}

/** Pushes pixel p when it is background not yet reached; returns the new stack top. */
function seedOutside(mask: Uint8Array, out: Uint8Array, stack: Int32Array, top: number, p: number): number {
  if (mask[p] || !out[p]) return top;
  out[p] = 0;
  stack[top] = p;
  return top + 1;
}

/**
 * 3×3 mean of the HU values, so ray decisions follow tissue rather than single noisy pixels. Only
 * on fine grids: on coarse ones (≥ 1.5 mm) the kernel would blur thin bone (laminae, ribs) below
 * the bone threshold, and such images are smooth already.
 */
export function boxMean3(hu: Int16Array, rows: number, columns: number, spacing?: [number, number]): Float32Array {
  const out = new Float32Array(hu.length);
  if (spacing && Math.min(spacing[0], spacing[1]) >= 1.5) {
    out.set(hu);
    return out;
  }
  for (let r = 0; r < rows; r++) {
    const interiorRow = r > 0 && r < rows - 1;
    for (let c = 0; c < columns; c++) {
      const p = r * columns + c;
      if (interiorRow && c > 0 && c < columns - 1) {
        // Integer sums are exact in any order, so the unrolled interior equals the general loop.
        const up = p - columns;
        const down = p + columns;
        out[p] = (hu[up - 1] + hu[up] + hu[up + 1] + hu[p - 1] + hu[p] + hu[p + 1] + hu[down - 1] + hu[down] + hu[down + 1]) / 9;
        continue;
      }
      out[p] = edgeMean3(hu, rows, columns, r, c);
    }
  }
  return out;
}

/** The 3×3 mean at an edge pixel, over the neighbours inside the image. */
function edgeMean3(hu: Int16Array, rows: number, columns: number, r: number, c: number): number {
  let sum = 0;
  let n = 0;
  for (let dr = -1; dr <= 1; dr++) {
    const rr = r + dr;
    if (rr < 0 || rr >= rows) continue;
    for (let dc = -1; dc <= 1; dc++) {
      const cc = c + dc;
      if (cc < 0 || cc >= columns) continue;
      sum += hu[rr * columns + cc];
      n++;
    }
  }
  return sum / n;
}

export function countOnes(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}
