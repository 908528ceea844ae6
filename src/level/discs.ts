/**
 * Disc spaces along z from the body-bone profile, and the vertebral bodies between them. The
 * profile is first put on a 1 mm z grid so 0.5 mm and 5 mm series are judged with the same
 * millimetre thresholds; a disc is a dip well below the local bone level.
 */
export const PROFILE_STEP_MM = 1;
/** Discs are at least this far apart: T1 is about 15 mm high with a 4 mm disc, and
 * lumbar bodies are 25–30 mm, so closer dips are endplate texture or a tilted disc seen twice. */
const MIN_DISC_SEPARATION_MM = 18;
const LEVEL_WINDOW_MM = 15;
/** Half-height of the search for the endplates round a disc (a disc is 4–12 mm high; reaching further would find the
 * endplates of the next body and let a low mid-body pass for a disc). */
const BRACKET_MM = 7;
const FLAT_HU = 10;
/** Bottoms wider than this are a low stretch of bone, not a disc (lumbar discs ≤ ~12 mm). */
const MAX_FLAT_MM = 14;
const MIN_DIP_HU = 35;
const MIN_DIP_FRACTION = 0.2;

export interface ResampledProfile {
  z0: number;
  values: Float64Array;
}

export interface Disc {
  centreMm: number;
  inferiorMm: number;
  superiorMm: number;
  depthHu: number;
  /** Depth weighted down by the width of the flat bottom: ranks competing dips. */
  score: number;
}

export interface BodySegment {
  inferiorMm: number;
  superiorMm: number;
  cutInferior: boolean;
  cutSuperior: boolean;
}

/** Linear interpolation of the per-slice profile (NaN = no column) onto a 1 mm grid. */
export function resampleProfile(zMm: Float64Array, values: Float64Array): ResampledProfile | null {
  const valid: number[] = [];
  for (let k = 0; k < zMm.length; k++) if (!Number.isNaN(values[k])) valid.push(k);
  if (valid.length < 2) return null;
  const z0 = zMm[valid[0]];
  const z1 = zMm[valid[valid.length - 1]];
  const n = Math.floor((z1 - z0) / PROFILE_STEP_MM) + 1;
  const out = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const z = z0 + i * PROFILE_STEP_MM;
    while (j < valid.length - 2 && zMm[valid[j + 1]] < z) j++;
    const a = valid[j];
    const b = valid[j + 1];
    const t = Math.min(1, Math.max(0, (z - zMm[a]) / (zMm[b] - zMm[a] || 1)));
    out[i] = values[a] + t * (values[b] - values[a]);
  }
  return { z0, values: out };
}

function smooth(values: Float64Array, half: number): Float64Array {
  if (half <= 0) return values;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    let s = 0;
    let n = 0;
    for (let d = -half; d <= half; d++) {
      const v = values[i + d];
      if (v === undefined) continue;
      s += v;
      n++;
    }
    out[i] = s / n;
  }
  return out;
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function findDiscs(profile: ResampledProfile, sliceThicknessMm: number): Disc[] {
  // Thin slices are noisy; thick ones are already averaged by the scanner.
  const v = smooth(profile.values, sliceThicknessMm < 2 ? 1 : 0);
  const n = v.length;
  const w = Math.round(LEVEL_WINDOW_MM / PROFILE_STEP_MM);
  const level = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const window: number[] = [];
    for (let d = -w; d <= w; d++) if (i + d >= 0 && i + d < n) window.push(v[i + d]);
    level[i] = percentile(window, 0.75);
  }
  const candidates: Disc[] = [];
  const local = Math.round(4 / PROFILE_STEP_MM);
  const bracket = Math.round(Math.max(BRACKET_MM, sliceThicknessMm + 2) / PROFILE_STEP_MM);
  for (let i = 0; i < n; i++) {
    let isMin = true;
    for (let d = -local; d <= local && isMin; d++) if (d !== 0 && v[i + d] !== undefined && v[i + d] < v[i]) isMin = false;
    if (!isMin) continue;
    // A disc lies between two endplates: bone must rise again on both sides within a few
    // millimetres of its flat bottom. A broad low stretch inside one body (osteoporotic or
    // venous) does not. The bottom is where the profile stays within FLAT_HU of the minimum, so a
    // thick disc seen on several slices is measured from its edges, not its middle.
    let bottomLo = i;
    let bottomHi = i;
    while (bottomLo > 0 && v[bottomLo - 1] <= v[i] + FLAT_HU) bottomLo--;
    while (bottomHi < n - 1 && v[bottomHi + 1] <= v[i] + FLAT_HU) bottomHi++;
    if ((bottomHi - bottomLo) * PROFILE_STEP_MM > MAX_FLAT_MM) continue;
    let above = -Infinity;
    let below = -Infinity;
    for (let d = 1; d <= bracket; d++) {
      if (bottomHi + d < n) above = Math.max(above, v[bottomHi + d]);
      if (bottomLo - d >= 0) below = Math.max(below, v[bottomLo - d]);
    }
    const depth = Math.min(above, below, level[i]) - v[i];
    if (depth < Math.max(MIN_DIP_HU, MIN_DIP_FRACTION * level[i])) continue;
    // Extent: where the profile stays below half-way between the dip and the bone level.
    const half = v[i] + depth / 2;
    let lo = i;
    let hi = i;
    while (lo > 0 && v[lo - 1] < half) lo--;
    while (hi < n - 1 && v[hi + 1] < half) hi++;
    // A dip touching the end of the column is the column's end, not a disc.
    if (lo === 0 || hi === n - 1) continue;
    candidates.push({
      centreMm: profile.z0 + i * PROFILE_STEP_MM,
      inferiorMm: profile.z0 + (lo - 0.5) * PROFILE_STEP_MM,
      superiorMm: profile.z0 + (hi + 0.5) * PROFILE_STEP_MM,
      depthHu: depth,
      score: (depth * sliceThicknessMm) / ((bottomHi - bottomLo) * PROFILE_STEP_MM + sliceThicknessMm),
    });
  }
  // Best first; drop any within the minimum separation of a kept one. A disc between two
  // endplates is a sharp notch; a low stretch inside a body is broad, so breadth costs rank.
  candidates.sort((a, b) => b.score - a.score);
  const kept: Disc[] = [];
  for (const c of candidates) if (kept.every((k) => Math.abs(k.centreMm - c.centreMm) >= MIN_DISC_SEPARATION_MM)) kept.push(c);
  return kept.sort((a, b) => a.centreMm - b.centreMm);
}

/** Bodies between consecutive discs; the end ones run to the end of the tracked column. */
export function bodySegments(discs: Disc[], columnFromMm: number, columnToMm: number): BodySegment[] {
  const segments: BodySegment[] = [];
  if (discs.length === 0) return segments;
  if (discs[0].inferiorMm - columnFromMm > 3) {
    segments.push({ inferiorMm: columnFromMm, superiorMm: discs[0].inferiorMm, cutInferior: true, cutSuperior: false });
  }
  for (let i = 0; i + 1 < discs.length; i++) {
    segments.push({ inferiorMm: discs[i].superiorMm, superiorMm: discs[i + 1].inferiorMm, cutInferior: false, cutSuperior: false });
  }
  const last = discs[discs.length - 1];
  if (columnToMm - last.superiorMm > 3) segments.push({ inferiorMm: last.superiorMm, superiorMm: columnToMm, cutInferior: false, cutSuperior: true });
  return segments;
}

/**
 * Moves each disc half-way toward the matching dip of a second profile (the front of the body),
 * when that profile shows one within `searchMm`: tilted discs are placed at their middle.
 */
export function centreTiltedDiscs(discs: Disc[], front: ResampledProfile | null, searchMm = 8): Disc[] {
  if (!front) return discs;
  const v = front.values;
  return discs.map((disc) => {
    const i0 = Math.round((disc.centreMm - front.z0) / PROFILE_STEP_MM);
    const r = Math.round(searchMm / PROFILE_STEP_MM);
    let best = -1;
    for (let i = Math.max(1, i0 - r); i <= Math.min(v.length - 2, i0 + r); i++) if (best < 0 || v[i] < v[best]) best = i;
    if (best < 0) return disc;
    const b = Math.round(BRACKET_MM / PROFILE_STEP_MM);
    let above = -Infinity;
    let below = -Infinity;
    for (let d = 1; d <= b; d++) {
      if (best + d < v.length) above = Math.max(above, v[best + d]);
      if (best - d >= 0) below = Math.max(below, v[best - d]);
    }
    if (Math.min(above, below) - v[best] < MIN_DIP_HU) return disc;
    const shift = (front.z0 + best * PROFILE_STEP_MM - disc.centreMm) / 2;
    return { ...disc, centreMm: disc.centreMm + shift, inferiorMm: disc.inferiorMm + shift, superiorMm: disc.superiorMm + shift };
  });
}
