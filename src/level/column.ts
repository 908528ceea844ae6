/**
 * Finds the spinal canal on every slice and follows it along z. The canal is the one place where
 * soft tissue (cord, CSF, epidural fat) sits between bone in front (the vertebral body) and bone
 * behind (the laminae), with bone on both sides (pedicles): a contrast-filled aorta or a kidney
 * never has that ring round it. Single slices are noisy (discs and gaps between laminae break the
 * ring), so votes are pooled over z-chunks and the track is carried from the strongest chunk
 * outward, never jumping more than a vertebra's width between chunks.
 */
import { inBody, type WorkStack } from './stack.ts';

export const BONE_HU = 180;
const SOFT_MIN_HU = -150;
const SOFT_MAX_HU = 130;
const WINDOW_HALF_MM = 50;
const CHUNK_STEP_MM = 10;
const CHUNK_HALF_MM = 15;
const MAX_STEP_MM = 20;
const MAX_MISSES = 2;

export interface ColumnTrack {
  /** Canal centre per slice (working-grid column, row); NaN where no column was found. */
  canalX: Float64Array;
  canalY: Float64Array;
  /** z range (mm) where the column was followed. */
  fromMm: number;
  toMm: number;
  /** Peak vote strength per chunk (diagnostics). */
  chunkScores: number[];
}

/** Buffers kept from one slice to the next (every entry a slice uses is written first, flags are cleared after use). */
export interface CandidateWork {
  /** Per window column: the row of the last bone pixel met going down. */
  boneAbove: Int32Array;
  /** Window pixels (w per row) with bone close enough in front and behind, 1; all 0 between slices. */
  between: Uint8Array;
  /** The slice's candidates, before they are copied out at their count. */
  found: Int32Array;
}

export function candidateWork(width: number, height: number): CandidateWork {
  return { boneAbove: new Int32Array(width), between: new Uint8Array(width * height), found: new Int32Array(width * height) };
}

const FAR = 1 << 30;

/** Is there bone on row `rowBase` (slice HU) within `reach` pixels of column x, on the side `step` (−1 or +1), inside [lo, hi]? */
function boneWithin(hu: Int16Array, rowBase: number, x: number, step: number, reach: number, lo: number, hi: number): boolean {
  for (let d = 1; d <= reach; d++) {
    const xx = x + step * d;
    if (xx < lo || xx > hi) return false;
    if (hu[rowBase + xx] >= BONE_HU) return true;
  }
  return false;
}

/**
 * A row below which no pixel of columns [x0, x1] of slice k is in the body (−1 when none is): the
 * last row with a set byte of body bits over those columns (the bytes may reach a little wider).
 */
function lastBodyRow(stack: WorkStack, k: number, x0: number, x1: number): number {
  const { width, height, body } = stack;
  const base = k * width * height;
  for (let j = height - 1; j >= 0; j--) {
    const to = (base + j * width + x1) >> 3;
    for (let i = (base + j * width + x0) >> 3; i <= to; i++) if (body[i] !== 0) return j;
  }
  return -1;
}

/**
 * Marks in `between` the window pixels (rows j0 to rowEnd − 1) whose nearest bone in front in
 * their column is within `anterior` rows and nearest bone behind within `posterior` rows: the
 * pixels strictly between two bone pixels of a column, near enough to both, with the bone behind
 * above rowEnd. Returns the first and last row marked.
 */
function markBetweenBone(hu: Int16Array, width: number, rowEnd: number, x0: number, w: number, j0: number, anterior: number, posterior: number, work: CandidateWork): [number, number] {
  const { boneAbove, between } = work;
  boneAbove.fill(-FAR, 0, w);
  let first = rowEnd;
  let last = -1;
  // Rows in front of j0 matter only as far as bone there can be in reach of row j0.
  for (let j = Math.max(0, j0 - anterior); j < rowEnd; j++) {
    for (let i = 0, p = j * width + x0; i < w; i++, p++) {
      if (hu[p] < BONE_HU) continue;
      const from = Math.max(boneAbove[i] + 1, j - posterior, j0);
      const to = Math.min(j - 1, boneAbove[i] + anterior);
      boneAbove[i] = j;
      if (from > to) continue;
      for (let r = from; r <= to; r++) between[r * w + i] = 1;
      if (from < first) first = from;
      if (to > last) last = to;
    }
  }
  return [first, last];
}

/**
 * Pixels of slice k that look like canal contents (soft tissue ringed by bone): bone in front
 * within 25 mm, behind within 30 mm and on both sides within 20 mm, in a window 50 mm either side
 * of the body's centre, behind the centre. Distances are whole pixels, so "within r mm" is "within
 * ⌊r / mm⌋ pixels". Found column by column between bone pixels first (few pixels are), then tested
 * for soft tissue, body and the side bone, in row-major order.
 */
export function canalCandidates(stack: WorkStack, k: number, work: CandidateWork): Int32Array {
  const { width, height, mm } = stack;
  const plane = width * height;
  const cx = stack.centreX[k];
  const cy = stack.centreY[k];
  if (Number.isNaN(cx)) return new Int32Array(0);
  const hu = stack.hu.subarray(k * plane, (k + 1) * plane);
  const sliceStart = k * plane;
  const x0 = Math.max(0, Math.round(cx - WINDOW_HALF_MM / mm));
  const x1 = Math.min(width - 1, Math.round(cx + WINDOW_HALF_MM / mm));
  const w = x1 - x0 + 1;
  const side = Math.floor(20 / mm);
  // The canal lies behind the body's centre in every position (the grid's rows run posterior).
  const j0 = Math.max(0, Math.ceil(cy));
  const posterior = Math.floor(30 / mm);
  // Canal contents are in the body; bone further than `posterior` behind its last row closes no canal.
  const rowEnd = Math.min(height, lastBodyRow(stack, k, x0, x1) + posterior + 1);
  const [first, last] = markBetweenBone(hu, width, rowEnd, x0, w, j0, Math.floor(25 / mm), posterior, work);
  const { between, found } = work;
  const body = stack.body;
  let n = 0;
  for (let j = first; j <= last; j++) {
    const rowBase = j * width;
    for (let i = 0, p = rowBase + x0; i < w; i++, p++) {
      if (between[j * w + i] === 0) continue;
      between[j * w + i] = 0;
      const v = hu[p];
      if (v < SOFT_MIN_HU || v > SOFT_MAX_HU || !inBody(body, sliceStart + p)) continue;
      if (boneWithin(hu, rowBase, x0 + i, -1, side, x0, x1) && boneWithin(hu, rowBase, x0 + i, 1, side, x0, x1)) found[n++] = p;
    }
  }
  return found.slice(0, n);
}

interface Chunk {
  zMm: number;
  slices: number[];
  x: number;
  y: number;
  score: number;
}

/**
 * A chunk's votes after a 3×3 box sum, divided by its slice count. Zero outside the box
 * [x0, x1] × [y0, y1] (empty when x0 > x1); `values` holds the box, row-major.
 */
interface VoteMap {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  values: Float32Array;
}

interface Peak {
  x: number;
  y: number;
  value: number;
}

/**
 * The chunk's vote map on the image's inner pixels (the blur leaves the border row and column 0).
 * Votes fall only on candidates, so only the box round them, one pixel wider (the blur's reach),
 * can be non-zero, and only it is kept; each vote is added to the 3×3 sums it falls in (far fewer
 * votes than box pixels). Whole-number sums: the same in any order as summing each 3×3 window.
 */
function voteMap(candidates: Int32Array[], slices: number[], width: number, height: number): VoteMap {
  let minX = width;
  let maxX = -1;
  let minY = height;
  let maxY = -1;
  for (const k of slices) {
    for (const p of candidates[k]) {
      const x = p % width;
      const y = (p - x) / width;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  }
  const x0 = Math.max(1, minX - 1);
  const x1 = Math.min(width - 2, maxX + 1);
  const y0 = Math.max(1, minY - 1);
  const y1 = Math.min(height - 2, maxY + 1);
  const w = Math.max(0, x1 - x0 + 1);
  const sums = new Int32Array(w * Math.max(0, y1 - y0 + 1));
  for (const k of slices) {
    for (const p of candidates[k]) {
      const x = p % width;
      const y = (p - x) / width;
      for (let ty = Math.max(y0, y - 1); ty <= Math.min(y1, y + 1); ty++) {
        for (let tx = Math.max(x0, x - 1); tx <= Math.min(x1, x + 1); tx++) sums[(ty - y0) * w + tx - x0] += 1;
      }
    }
  }
  // Normalise by slice count so thin and thick slices vote alike.
  const n = Math.max(1, slices.length);
  const values = new Float32Array(sums.length);
  for (let q = 0; q < sums.length; q++) values[q] = sums[q] / n;
  return { x0, y0, x1, y1, values };
}

type Reach = { x: number; y: number; radius: number } | null;

/**
 * The highest value of the map (within `near`'s reach), the first in row-major order among equals.
 * Outside its box the map is 0, so a positive peak lies in the box; without one, the whole reach
 * reads 0 and the peak is its first pixel.
 */
function peakIn(map: VoteMap, width: number, height: number, near: Reach): Peak {
  let best = -1;
  let bx = 0;
  let by = 0;
  const r2 = near ? near.radius * near.radius : Infinity;
  const w = map.x1 - map.x0 + 1;
  // Within reach: inside the square round the circle (widened a pixel; the exact test decides).
  const ya = near ? Math.max(map.y0, Math.floor(near.y - near.radius) - 1) : map.y0;
  const yb = near ? Math.min(map.y1, Math.ceil(near.y + near.radius) + 1) : map.y1;
  const xa = near ? Math.max(map.x0, Math.floor(near.x - near.radius) - 1) : map.x0;
  const xb = near ? Math.min(map.x1, Math.ceil(near.x + near.radius) + 1) : map.x1;
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      if (near && (x - near.x) ** 2 + (y - near.y) ** 2 > r2) continue;
      const v = map.values[(y - map.y0) * w + x - map.x0];
      if (v > best) {
        best = v;
        bx = x;
        by = y;
      }
    }
  }
  return best > 0 ? { x: bx, y: by, value: best } : firstInReach(width, height, near);
}

/** The first pixel in row-major order within reach, with value 0; (0, 0) with −1 when none is. */
function firstInReach(width: number, height: number, near: Reach): Peak {
  if (!near) return { x: 0, y: 0, value: width > 0 && height > 0 ? 0 : -1 };
  const r2 = near.radius * near.radius;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if ((x - near.x) ** 2 + (y - near.y) ** 2 <= r2) return { x, y, value: 0 };
  return { x: 0, y: 0, value: -1 };
}

/** The canal position at z, linear between the chunk peaks (held flat beyond the ends). */
function between(found: Chunk[], z: number): [number, number] {
  let px = found[0].x;
  let py = found[0].y;
  for (let c = 0; c < found.length; c++) {
    if (found[c].zMm >= z) {
      if (c === 0) break;
      const a = found[c - 1];
      const b = found[c];
      const t = (z - a.zMm) / (b.zMm - a.zMm);
      px = a.x + t * (b.x - a.x);
      py = a.y + t * (b.y - a.y);
      break;
    }
    px = found[c].x;
    py = found[c].y;
  }
  return [px, py];
}

/** Chunks every CHUNK_STEP_MM from the first slice, each with the slices within CHUNK_HALF_MM of it. */
function chunksAlong(zMm: Float64Array): Chunk[] {
  const depth = zMm.length;
  const zMin = zMm[0];
  const zMax = zMm[depth - 1];
  const chunks: Chunk[] = [];
  for (let zc = zMin; zc <= zMax + 1e-6 || chunks.length === 0; zc += CHUNK_STEP_MM) {
    const slices: number[] = [];
    for (let k = 0; k < depth; k++) if (Math.abs(zMm[k] - zc) <= CHUNK_HALF_MM) slices.push(k);
    chunks.push({ zMm: zc, slices, x: Number.NaN, y: Number.NaN, score: 0 });
    if (zc > zMax) break;
  }
  return chunks;
}

export function trackColumn(stack: WorkStack): ColumnTrack {
  const { width, height, depth, mm, zMm } = stack;
  const work = candidateWork(width, height);
  const candidates = Array.from({ length: depth }, (_, k) => canalCandidates(stack, k, work));
  const chunks = chunksAlong(zMm);
  const maps = chunks.map((chunk) => voteMap(candidates, chunk.slices, width, height));
  let start = 0;
  const peaks = maps.map((map) => peakIn(map, width, height, null));
  for (let c = 1; c < chunks.length; c++) if (peaks[c].value > peaks[start].value) start = c;
  const strongest = peaks[start].value;
  const canalX = new Float64Array(depth).fill(Number.NaN);
  const canalY = new Float64Array(depth).fill(Number.NaN);
  if (!(strongest >= 1.5)) return { canalX, canalY, fromMm: Number.NaN, toMm: Number.NaN, chunkScores: peaks.map((p) => p.value) };
  // A canal ring yields ~9 votes per slice after the 3×3 blur; far fewer is chance.
  const minScore = Math.max(1.5, 0.15 * strongest);
  chunks[start].x = peaks[start].x;
  chunks[start].y = peaks[start].y;
  chunks[start].score = strongest;
  for (const direction of [1, -1]) {
    let previous = chunks[start];
    let misses = 0;
    for (let c = start + direction; c >= 0 && c < chunks.length; c += direction) {
      const peak = peakIn(maps[c], width, height, { x: previous.x, y: previous.y, radius: MAX_STEP_MM / mm });
      if (peak.value < minScore) {
        // A chunk of weak votes (a long disc, a noisy slab) is bridged; two in a row end the column.
        if (++misses > MAX_MISSES) break;
        continue;
      }
      misses = 0;
      chunks[c].x = peak.x;
      chunks[c].y = peak.y;
      chunks[c].score = peak.value;
      previous = chunks[c];
    }
  }
  const found = chunks.filter((c) => !Number.isNaN(c.x));
  const fromMm = found[0].zMm - CHUNK_HALF_MM;
  const toMm = found[found.length - 1].zMm + CHUNK_HALF_MM;
  const refineRadius2 = (10 / mm) ** 2;
  for (let k = 0; k < depth; k++) {
    const z = zMm[k];
    if (z < fromMm || z > toMm) continue;
    // Piecewise-linear between chunk peaks, then pulled to this slice's own candidates.
    const [px, py] = between(found, z);
    let n = 0;
    let sx = 0;
    let sy = 0;
    for (const p of candidates[k]) {
      const x = p % width;
      const y = (p - x) / width;
      if ((x - px) ** 2 + (y - py) ** 2 > refineRadius2) continue;
      n++;
      sx += x;
      sy += y;
    }
    canalX[k] = n >= 4 ? (sx / n + px) / 2 : px;
    canalY[k] = n >= 4 ? (sy / n + py) / 2 : py;
  }
  return { canalX, canalY, fromMm, toMm, chunkScores: peaks.map((p) => Math.round(p.value * 10) / 10) };
}
