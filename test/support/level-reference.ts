/**
 * The level finder's routines as they were before issue #16 (speed), kept only as references:
 * test/level-fast-paths.test.ts checks that the faster ones give exactly what these gave.
 * Copied unchanged except for their names and exports.
 */
import { label3d } from '../../src/image/morphology.ts';
import { BONE_HU, type ColumnTrack } from '../../src/level/column.ts';
import type { BodySegment } from '../../src/level/discs.ts';
import { RIB_BONE_HU, type RibJudgement } from '../../src/level/ribs.ts';
import { inBody, type WorkStack } from '../../src/level/stack.ts';

const SOFT_MIN_HU = -150;
const SOFT_MAX_HU = 130;
const WINDOW_HALF_MM = 50;
const CHUNK_STEP_MM = 10;
const CHUNK_HALF_MM = 15;
const MAX_STEP_MM = 20;
const MAX_MISSES = 2;


/** Distance maps kept from one slice to the next (every entry a slice uses is written first). */
interface BoneDistances {
  up: Float32Array;
  down: Float32Array;
  left: Float32Array;
  right: Float32Array;
  /** Per window column: the row of the last bone pixel met going down, and going up. */
  boneAbove: Float64Array;
  boneBelow: Float64Array;
}

function boneDistances(width: number, height: number): BoneDistances {
  const pixels = width * height;
  return {
    up: new Float32Array(pixels),
    down: new Float32Array(pixels),
    left: new Float32Array(pixels),
    right: new Float32Array(pixels),
    boneAbove: new Float64Array(width),
    boneBelow: new Float64Array(width),
  };
}

/** Pixels of slice k that look like canal contents (soft tissue ringed by bone). */
export function referenceCanalCandidates(stack: WorkStack, k: number, distances: BoneDistances = boneDistances(stack.width, stack.height)): Int32Array {
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
  const anteriorMax = 25 / mm;
  const posteriorMax = 30 / mm;
  const sideMax = 20 / mm;
  const big = 1e9;
  // Distance (pixels) to the nearest bone pixel in each direction, within the window (w × height of each map).
  // Up and down are swept row by row (all window columns at once), in memory order.
  const { up, down, left, right, boneAbove, boneBelow } = distances;
  boneAbove.fill(-big, 0, w);
  for (let j = 0; j < height; j++) {
    for (let i = 0, p = j * width + x0; i < w; i++, p++) {
      if (hu[p] >= BONE_HU) boneAbove[i] = j;
      up[j * w + i] = j - boneAbove[i];
    }
  }
  boneBelow.fill(big, 0, w);
  for (let j = height - 1; j >= 0; j--) {
    for (let i = 0, p = j * width + x0; i < w; i++, p++) {
      if (hu[p] >= BONE_HU) boneBelow[i] = j;
      down[j * w + i] = boneBelow[i] - j;
    }
  }
  for (let j = 0; j < height; j++) {
    let last = -big;
    for (let i = 0; i < w; i++) {
      if (hu[j * width + x0 + i] >= BONE_HU) last = i;
      right[j * w + i] = i - last;
    }
    last = big;
    for (let i = w - 1; i >= 0; i--) {
      if (hu[j * width + x0 + i] >= BONE_HU) last = i;
      left[j * w + i] = last - i;
    }
  }
  const out: number[] = [];
  for (let j = 0; j < height; j++) {
    for (let i = 0; i < w; i++) {
      const p = j * width + x0 + i;
      const v = hu[p];
      // The canal lies behind the body's centre in every position (the grid's rows run posterior).
      if (j < cy) continue;
      if (!inBody(stack.body, sliceStart + p) || v < SOFT_MIN_HU || v > SOFT_MAX_HU) continue;
      const q = j * w + i;
      if (up[q] <= anteriorMax && down[q] <= posteriorMax && left[q] <= sideMax && right[q] <= sideMax) out.push(p);
    }
  }
  return Int32Array.from(out);
}

function boxBlur3(map: Float32Array, width: number, height: number): Float32Array {
  const out = new Float32Array(map.length);
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += map[(y + dy) * width + x + dx];
      out[y * width + x] = s;
    }
  }
  return out;
}

interface Chunk {
  zMm: number;
  slices: number[];
  x: number;
  y: number;
  score: number;
}

function peakIn(map: Float32Array, width: number, height: number, near: { x: number; y: number; radius: number } | null): { x: number; y: number; value: number } {
  let best = -1;
  let bx = 0;
  let by = 0;
  const r2 = near ? near.radius * near.radius : Infinity;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (near && (x - near.x) ** 2 + (y - near.y) ** 2 > r2) continue;
      const v = map[y * width + x];
      if (v > best) {
        best = v;
        bx = x;
        by = y;
      }
    }
  }
  return { x: bx, y: by, value: best };
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

export function referenceTrackColumn(stack: WorkStack): ColumnTrack {
  const { width, height, depth, mm, zMm } = stack;
  const plane = width * height;
  const distances = boneDistances(width, height);
  const candidates = Array.from({ length: depth }, (_, k) => referenceCanalCandidates(stack, k, distances));
  const zMin = zMm[0];
  const zMax = zMm[depth - 1];
  const chunks: Chunk[] = [];
  for (let zc = zMin; zc <= zMax + 1e-6 || chunks.length === 0; zc += CHUNK_STEP_MM) {
    const slices: number[] = [];
    for (let k = 0; k < depth; k++) if (Math.abs(zMm[k] - zc) <= CHUNK_HALF_MM) slices.push(k);
    chunks.push({ zMm: zc, slices, x: Number.NaN, y: Number.NaN, score: 0 });
    if (zc > zMax) break;
  }
  // One vote buffer for every chunk: only the blurred maps are kept (a 1,000-slice series has ~100 chunks).
  const votes = new Float32Array(plane);
  const maps = chunks.map((chunk) => {
    votes.fill(0);
    for (const k of chunk.slices) for (const p of candidates[k]) votes[p] += 1;
    const blurred = boxBlur3(votes, width, height);
    // Normalise by slice count so thin and thick slices vote alike.
    const n = Math.max(1, chunk.slices.length);
    for (let p = 0; p < plane; p++) blurred[p] /= n;
    return blurred;
  });
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

const SEED_LATERAL_MM: [number, number] = [8, 35];
const SEED_AP_MM: [number, number] = [-30, 8];
const BOX_LATERAL_MM = 110;
const BOX_AP_MM: [number, number] = [-60, 50];

export function referenceRibReach(stack: WorkStack, track: ColumnTrack, segment: BodySegment): RibJudgement | null {
  const { width, height, mm, zMm } = stack;
  const plane = width * height;
  const zLo = segment.inferiorMm;
  const zHi = segment.superiorMm;
  const slices: number[] = [];
  for (let k = 0; k < stack.depth; k++) if (zMm[k] >= zLo && zMm[k] <= zHi && !Number.isNaN(track.canalX[k])) slices.push(k);
  if (slices.length === 0) return null;
  const cx = slices.reduce((s, k) => s + track.canalX[k], 0) / slices.length;
  const cy = slices.reduce((s, k) => s + track.canalY[k], 0) / slices.length;
  const x0 = Math.max(0, Math.round(cx - BOX_LATERAL_MM / mm));
  const x1 = Math.min(width - 1, Math.round(cx + BOX_LATERAL_MM / mm));
  const y0 = Math.max(0, Math.round(cy + BOX_AP_MM[0] / mm));
  const y1 = Math.min(height - 1, Math.round(cy + BOX_AP_MM[1] / mm));
  const w = x1 - x0 + 1;
  const hgt = y1 - y0 + 1;
  const d = slices.length;
  const mask = new Uint8Array(w * hgt * d);
  for (let s = 0; s < d; s++) {
    const base = slices[s] * plane;
    for (let y = 0; y < hgt; y++) {
      for (let x = 0; x < w; x++) {
        const p = base + (y + y0) * width + x + x0;
        if (stack.hu[p] >= RIB_BONE_HU && inBody(stack.body, p)) mask[(s * hgt + y) * w + x] = 1;
      }
    }
  }
  const { labels, count } = label3d(mask, w, hgt, d);
  if (count === 0) return { left: 0, right: 0 };
  // Per side: components touching that side's junction region.
  const seededLeft = new Uint8Array(count + 1);
  const seededRight = new Uint8Array(count + 1);
  for (let s = 0; s < d; s++) {
    const ccx = track.canalX[slices[s]];
    const ccy = track.canalY[slices[s]];
    for (let y = 0; y < hgt; y++) {
      const dy = (y + y0 - ccy) * mm;
      if (dy < SEED_AP_MM[0] || dy > SEED_AP_MM[1]) continue;
      for (let x = 0; x < w; x++) {
        const l = labels[(s * hgt + y) * w + x];
        if (!l) continue;
        const dx = (x + x0 - ccx) * mm;
        const lateral = Math.abs(dx);
        if (lateral < SEED_LATERAL_MM[0] || lateral > SEED_LATERAL_MM[1]) continue;
        // Working-grid columns run toward the patient's left.
        if (dx > 0) seededLeft[l] = 1;
        else seededRight[l] = 1;
      }
    }
  }
  let left = 0;
  let right = 0;
  for (let s = 0; s < d; s++) {
    const ccx = track.canalX[slices[s]];
    for (let y = 0; y < hgt; y++) {
      for (let x = 0; x < w; x++) {
        const l = labels[(s * hgt + y) * w + x];
        if (!l) continue;
        const dx = (x + x0 - ccx) * mm;
        if (dx > 0 && seededLeft[l]) left = Math.max(left, dx);
        if (dx < 0 && seededRight[l]) right = Math.max(right, -dx);
      }
    }
  }
  return { left: Math.round(left * 10) / 10, right: Math.round(right * 10) / 10 };
}

export function referenceMedian(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}
