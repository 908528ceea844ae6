/**
 * The muscle band found by casting rays from the trunk centre to the skin and reading each
 * profile from the outside in: skin, subcutaneous fat, then the muscle of the wall down to the
 * first bone it covers (ribs laterally, laminae and transverse processes behind the paraspinal
 * muscles). Organs lie deeper than that bone, so they are never reached. Where no bone lies under
 * the wall (the anterior abdomen between the costal margins), the band stops at the
 * extraperitoneal fat, at gas, at costal cartilage or an enhancing organ, or at a thickness cap; between ribs it follows the neighbouring
 * rib depth, which is exactly where the intercostal muscles lie.
 */
import { FAT_HU as FAT_RANGE_HU } from '../model/index.ts';
import { setBox, type PixelBox } from '../image/morphology.ts';

const AIR_HU = -400;
/** Below the top of the fat range (−30 HU) a wall pixel is fat. */
const FAT_HU = FAT_RANGE_HU[1];
/** Cortical and cancellous bone on the 3×3-smoothed image (contrast-filled vessels stay below it only rarely, and they are not in the wall). */
const BONE_HU = 180;

export interface WallRayOptions {
  rays: number;
  /** Dermis: the first millimetres under the skin surface are never muscle. */
  skinMm: number;
  /** Subcutaneous fat must start this close to the skin to count as such. */
  fatSearchMm: number;
  /** A run of non-fat this long ends the subcutaneous fat (thin septa do not). */
  fasciaRunMm: number;
  /** The deepest bone accepted under the paraspinal muscles (posterior sector) and under the lateral and anterior wall. */
  boneCapPosteriorMm: number;
  boneCapMm: number;
  /** Half-angle of the posterior sector (degrees) where the paraspinal muscles lie. */
  posteriorSectorDeg: number;
  /** Wall thickness cap where no bone lies under it. */
  softCapMm: number;
  /**
   * The same cap in the posterior sector. The erector spinae is 4–6 cm deep; where a ray misses the
   * laminae and transverse processes (between two vertebrae, or beside them) a wall-sized cap would
   * cut the muscle in half. Fat (perirenal, retroperitoneal) or the vertebra still end it earlier.
   */
  softCapPosteriorMm: number;
  /** Fat run that ends the wall where there is no bone (extraperitoneal/visceral fat). */
  barrierFatMm: number;
  /** Gas or lung run that ends the wall. */
  barrierAirMm: number;
  /** Widest angular gap between bone-covered rays bridged by interpolation (intercostal spaces). */
  maxGapDeg: number;
  /**
   * Largest difference (mm) between the depths of the two bone-covered rays a gap is bridged
   * between (1.5.0; Infinity reproduces 1.4.0). Neighbouring ribs lie at about the same depth below
   * the fascia. A gap whose ends differ by more lies between the lowest rib (shallow) and a
   * transverse process (deep): interpolating across it runs straight through the kidney, liver or
   * spleen behind the ribs. The rays of such a gap are measured as rays without bone (fat, gas and
   * dense barriers, and the caps).
   */
  maxBridgeStepMm: number;
  /** Median filter half-width over neighbouring rays. */
  smoothRays: number;
  /**
   * Tissue at least this dense but below bone ends a wall without bone under it: costal cartilage
   * (100–150 HU) and enhancing organs (liver, spleen, kidney in a contrast phase) lie inside the
   * wall; skeletal muscle stays below ~70 HU with or without contrast.
   */
  denseHu: number;
  /** Run of dense tissue that counts (shorter runs are noise or partial volume). */
  denseRunMm: number;
  /**
   * Half-width (degrees) of the median that the inner limit of rays without bone may not exceed; 0 = off.
   * 20° (1.4.0; 10° before): where an organ lies under the wall with no fat plane over a wide arc
   * (the liver under the upper abdominal wall) a ±10° window held only rays that had run into it.
   */
  innerMedianDeg: number;
  /**
   * Samples between air and fat (−400..−190 HU) at the outer end of a ray lie outside the skin
   * (a foam pad under the patient, air partial volume) rather than starting the subcutaneous fat
   * (1.4.0; false reproduces 1.3.0).
   */
  padOutsideSkin: boolean;
}

export const DEFAULT_WALL_RAY_OPTIONS: WallRayOptions = {
  rays: 720,
  skinMm: 2.5,
  fatSearchMm: 8,
  fasciaRunMm: 3,
  boneCapPosteriorMm: 95,
  boneCapMm: 45,
  posteriorSectorDeg: 50,
  softCapMm: 12,
  softCapPosteriorMm: 40,
  barrierFatMm: 5,
  barrierAirMm: 2,
  maxGapDeg: 35,
  maxBridgeStepMm: 60,
  smoothRays: 3,
  denseHu: 90,
  denseRunMm: 3,
  innerMedianDeg: 20,
  padOutsideSkin: true,
};

export interface WallBand {
  /** 0/1: pixels between the fascia and the inner limit of the wall. */
  band: Uint8Array;
  /** Rays whose inner limit came from bone (diagnostic). */
  boneRays: number;
  rays: number;
}

const enum Cls {
  Air = 0,
  Fat = 1,
  Soft = 2,
  Bone = 3,
  Dense = 4,
  /** Between air and fat (−400..−190 HU): air partial volume at the skin, or a foam pad under the patient. */
  Fringe = 5,
}

function classify(v: number, denseHu: number): Cls {
  if (v < AIR_HU) return Cls.Air;
  if (v < FAT_RANGE_HU[0]) return Cls.Fringe;
  if (v < FAT_HU) return Cls.Fat;
  if (v >= BONE_HU) return Cls.Bone;
  return v < denseHu ? Cls.Soft : Cls.Dense;
}

function circularMedian(values: Float64Array, half: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  const window: number[] = [];
  for (let i = 0; i < n; i++) {
    window.length = 0;
    for (let k = -half; k <= half; k++) window.push(values[(i + k + n) % n]);
    window.sort((a, b) => a - b);
    out[i] = window[half];
  }
  return out;
}

/** Per-ray results of the ray casting, in ray order (k = 0 … rays − 1). */
interface RayProfiles {
  surface: Float64Array;
  fascia: Float64Array;
  thickness: Float64Array;
  hasBone: Uint8Array;
  bridged: Uint8Array;
  posteriorRay: Uint8Array;
  airLimit: Float64Array;
}

/** Bridges intercostal spaces in `rays.thickness` (marking them in `rays.bridged`); returns how many rays had bone. */
function bridgeIntercostal(rays: RayProfiles, nr: number, options: WallRayOptions): number {
  const { hasBone, thickness, airLimit, bridged } = rays;
  let boneRays = 0;
  for (let k = 0; k < nr; k++) boneRays += hasBone[k];
  if (boneRays > 0 && boneRays < nr) {
    const maxGap = Math.round((options.maxGapDeg / 360) * nr);
    for (let k = 0; k < nr; k++) {
      if (hasBone[k]) continue;
      let a = 1;
      while (a <= nr && !hasBone[(k - a + nr) % nr]) a++;
      let b = 1;
      while (b <= nr && !hasBone[(k + b) % nr]) b++;
      if (a + b > maxGap) continue;
      const ta = thickness[(k - a + nr) % nr];
      const tb = thickness[(k + b) % nr];
      if (Math.abs(ta - tb) > options.maxBridgeStepMm) continue;
      const interpolated = ta + ((tb - ta) * a) / (a + b);
      thickness[k] = Math.min(interpolated, airLimit[k]);
      bridged[k] = 1;
    }
  }
  return boneRays;
}

/** Pulls rays without bone back to the median inner limit of their soft neighbours (in `rays.thickness`). */
function limitToInnerMedian(rays: RayProfiles, nr: number, options: WallRayOptions): void {
  const { hasBone, thickness, bridged, posteriorRay, fascia } = rays;
  // The inner surface of the wall is smooth. A ray without bone whose limit lies deeper than the
  // median of its neighbours without bone ran on into an organ with no fat plane or cartilage to
  // stop it (the liver under the linea alba or the xiphoid), so it is pulled back to that median.
  // Rays limited by bone, bridged between ribs, or in the paraspinal sector neither move nor vote:
  // bone sets their depth.
  if (options.innerMedianDeg > 0) {
    const half = Math.round((options.innerMedianDeg / 360) * nr);
    const inner = new Float64Array(nr);
    for (let k = 0; k < nr; k++) inner[k] = fascia[k] + thickness[k];
    const limited = Float64Array.from(thickness);
    // A typed window sorts numerically without a comparator call per pair; the values are finite
    // and never −0 (sums of non-negative depths), so the median is the same number.
    const window = new Float64Array(2 * half + 1);
    const soft = (q: number) => !hasBone[q] && !bridged[q] && !posteriorRay[q] && Number.isFinite(inner[q]);
    for (let k = 0; k < nr; k++) {
      if (!soft(k)) continue;
      let count = 0;
      for (let d = -half; d <= half; d++) {
        const q = (k + d + nr) % nr;
        if (soft(q)) window[count++] = inner[q];
      }
      const sorted = window.subarray(0, count).sort();
      const median = sorted[count >> 1];
      limited[k] = Math.max(0, Math.min(thickness[k], median - fascia[k]));
    }
    thickness.set(limited);
  }
}

/**
 * Marks in `band` the trunk pixels between the smoothed fascia and inner limit of the rays around
 * (cx, cy). Pixels closer to the centre than their octant's innerBandRadius lie deeper than any
 * inner limit there and are passed over without their angle (an atan2 and a hypot per pixel).
 */
export function paintBand(band: Uint8Array, trunk: Uint8Array, rows: number, columns: number, spacing: [number, number], cx: number, cy: number, h: number, surface: Float64Array, fSmooth: Float64Array, tSmooth: Float64Array): void {
  const [sy, sx] = spacing;
  const nr = surface.length;
  const inside = innerBandRadii(surface, fSmooth, tSmooth, h);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const p = r * columns + c;
      if (!trunk[p]) continue;
      const dx = c * sx - cx;
      const dy = r * sy - cy;
      const b = inside[octant(dx, dy)];
      if (b > 0 && dx * dx + dy * dy < b * b) continue;
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
}

/**
 * The octant (0–7, by 45° from +x toward +y, as atan2 + 2π counts angles) of the direction (dx, dy),
 * from signs and |dy| vs |dx| alone (its boundary directions may fall on either side: see
 * innerBandRadii's margin).
 */
function octant(dx: number, dy: number): number {
  const steep = Math.abs(dy) > Math.abs(dx);
  if (dy >= 0) return dx >= 0 ? (steep ? 1 : 0) : steep ? 2 : 3;
  return dx < 0 ? (steep ? 5 : 4) : steep ? 6 : 7;
}

/**
 * Per octant, a radius within which no pixel is in the band: a pixel's skin radius R, fascia and
 * inner limit g are interpolated between two rays of its octant (± a ray either side for rounding
 * at the octant's edges; 3 taken), so R − rho > g + h/2, i.e. too deep, when rho is below the
 * smallest surface minus the largest fascia and largest thickness there, less h/2 and 1 µm (the
 * rounding of paintBand's sums is far below that). −Infinity or NaN where a ray has none: no skip.
 */
function innerBandRadii(surface: Float64Array, fSmooth: Float64Array, tSmooth: Float64Array, h: number): Float64Array {
  const nr = surface.length;
  const out = new Float64Array(8);
  for (let o = 0; o < 8; o++) {
    let rMin = Infinity;
    let fMax = -Infinity;
    let tMax = -Infinity;
    for (let k = Math.floor((o * nr) / 8) - 3; k <= Math.ceil(((o + 1) * nr) / 8) + 3; k++) {
      const q = ((k % nr) + nr) % nr;
      rMin = Math.min(rMin, surface[q]);
      fMax = Math.max(fMax, fSmooth[q]);
      tMax = Math.max(tMax, tSmooth[q]);
    }
    out[o] = rMin - fMax - tMax - 0.5 * h - 1e-3;
  }
  return out;
}

/** Sample index (from the skin inward) where the subcutaneous fat ends. */
function fasciaIndex(profile: Int8Array, len: number, mm: (v: number) => number, options: WallRayOptions): number {
  // Samples between air and fat at the outer end of the ray are outside the skin: a foam pad or
  // blanket under the patient (about −300 HU, inside the body outline where it touches the skin
  // on the table side) or air partial volume. Read as fat (1.3.0), the pad made the real skin the
  // first non-fat run after "subcutaneous fat", i.e. the fascia, and the skin joined the band.
  let surface = 0;
  while (options.padOutsideSkin && surface < len && profile[surface] === Cls.Fringe) surface++;
  const skin = surface + mm(options.skinMm);
  let firstFat = -1;
  for (let j = skin; j < len && j <= surface + mm(options.fatSearchMm); j++) {
    if (profile[j] === Cls.Fat || profile[j] === Cls.Fringe) {
      firstFat = j;
      break;
    }
  }
  let f = skin;
  if (firstFat >= 0) {
    f = len;
    const run = mm(options.fasciaRunMm);
    let streak = 0;
    for (let j = firstFat; j < len; j++) {
      streak = profile[j] !== Cls.Fat && profile[j] !== Cls.Fringe && profile[j] !== Cls.Air ? streak + 1 : 0;
      if (streak >= run) {
        f = j - run + 1;
        break;
      }
    }
  }
  return f;
}

/** Sample index where the first bone under the wall (within `boneCap` samples of the fascia) ends, or −1. */
function boneEndIndex(profile: Int8Array, f: number, len: number, boneCap: number, mm: (v: number) => number): number {
  let boneEnd = -1;
  for (let j = f; j < len - 1 && j - f <= boneCap; j++) {
    if (profile[j] === Cls.Bone && profile[j + 1] === Cls.Bone) {
      let e = j;
      let gap = 0;
      for (let q = j; q < len; q++) {
        if (profile[q] === Cls.Bone) {
          e = q;
          gap = 0;
        } else if (++gap > mm(1)) break;
      }
      boneEnd = e;
      break;
    }
  }
  return boneEnd;
}

/** First fat barrier (after soft tissue), gas run and dense run below the fascia, as sample indices (−1 if none). */
function softBarriers(profile: Int8Array, f: number, len: number, mm: (v: number) => number, options: WallRayOptions): { barrier: number; air: number; dense: number } {
  let soft = 0;
  let softStarted = false;
  let fatRun = 0;
  let airRun = 0;
  let barrier = -1;
  let air = -1;
  let denseRun = 0;
  let dense = -1;
  for (let j = f; j < len; j++) {
    const cls = profile[j];
    if (cls === Cls.Soft) {
      soft++;
      if (soft >= mm(2)) softStarted = true;
    } else soft = 0;
    fatRun = cls === Cls.Fat || cls === Cls.Fringe ? fatRun + 1 : 0;
    airRun = cls === Cls.Air ? airRun + 1 : 0;
    if (air < 0 && airRun >= mm(options.barrierAirMm)) air = j - airRun + 1;
    if (barrier < 0 && softStarted && fatRun >= mm(options.barrierFatMm)) barrier = j - fatRun + 1;
    denseRun = cls === Cls.Dense || cls === Cls.Bone ? denseRun + 1 : 0;
    if (dense < 0 && denseRun >= mm(options.denseRunMm)) dense = j - denseRun + 1;
    if (air >= 0) break;
  }
  return { barrier, air, dense };
}

/**
 * Last sample along a ray (searched from outside in) that lies in the trunk: the skin; −1 when none.
 * `from` is the outermost sample that can lie in the trunk (lastSampleInBox): the rest are skipped.
 */
function outermostTrunkSample(at: (t: number) => number, trunk: Uint8Array, from: number, h: number): number {
  let outer = -1;
  for (let s = from; s >= 0; s--) {
    const p = at(s * h);
    if (p >= 0 && trunk[p]) {
      outer = s;
      break;
    }
  }
  return outer;
}

/**
 * The outermost of the ray's samples 0 … samples − 1 whose pixel can lie in `box` (the trunk's):
 * one sample before the ray leaves the box widened by a pixel, beyond which every sample rounds
 * to a pixel outside the box (the ray moves away from it along the axis it left by; half a pixel
 * of slack covers the rounding). Casting all samples from the image corner in, as before, found the
 * same first trunk sample after a thousand misses per ray. Without a box, or with the centre
 * outside it (never for the trunk's own centroid), every sample is tried.
 */
export function lastSampleInBox(box: PixelBox | null, [cx, cy]: [number, number], [ux, uy]: [number, number], [sy, sx]: [number, number], h: number, samples: number): number {
  if (!box) return samples - 1;
  const [top, bottom, left, right] = box;
  const [x0, x1, y0, y1] = [(left - 1) * sx, (right + 1) * sx, (top - 1) * sy, (bottom + 1) * sy];
  if (!(cx >= x0 && cx <= x1 && cy >= y0 && cy <= y1)) return samples - 1;
  const tx = ux > 0 ? (x1 - cx) / ux : ux < 0 ? (x0 - cx) / ux : Infinity;
  const ty = uy > 0 ? (y1 - cy) / uy : uy < 0 ? (y0 - cy) / uy : Infinity;
  return Math.min(samples - 1, Math.ceil(Math.min(tx, ty) / h) + 1);
}

export function wallBand(
  smoothHu: Float32Array,
  trunk: Uint8Array,
  rows: number,
  columns: number,
  spacing: [number, number],
  posterior: [number, number],
  centre: [number, number] | null,
  options: WallRayOptions = DEFAULT_WALL_RAY_OPTIONS,
): WallBand {
  const [sy, sx] = spacing;
  const n = rows * columns;
  const band = new Uint8Array(n);
  if (!centre) return { band, boneRays: 0, rays: options.rays };
  const [cx, cy] = centre;
  const h = Math.min(sx, sy) / 2;
  const tMax = Math.hypot(rows * sy, columns * sx);
  const samples = Math.ceil(tMax / h) + 1;
  const nr = options.rays;
  const surface = new Float64Array(nr); // R: distance from centre to skin
  const fascia = new Float64Array(nr); // depth below skin
  const thickness = new Float64Array(nr); // depth of the inner limit below the fascia
  const hasBone = new Uint8Array(nr);
  /** Rays inside a gap between ribs whose depth `bridgeIntercostal` interpolated (they neither move nor vote in `limitToInnerMedian`). */
  const bridged = new Uint8Array(nr);
  const posteriorRay = new Uint8Array(nr);
  const airLimit = new Float64Array(nr); // rays without bone: depth below fascia of the first gas run (Infinity if none)
  const profile = new Int8Array(samples);
  const cosSector = Math.cos((options.posteriorSectorDeg * Math.PI) / 180);
  const mm = (v: number) => Math.max(1, Math.round(v / h));
  const trunkBox = setBox(trunk, rows, columns);

  for (let k = 0; k < nr; k++) {
    const angle = (2 * Math.PI * k) / nr;
    const ux = Math.cos(angle);
    const uy = Math.sin(angle);
    const at = (t: number): number => {
      const c = Math.round((cx + ux * t) / sx);
      const r = Math.round((cy + uy * t) / sy);
      if (r < 0 || r >= rows || c < 0 || c >= columns) return -1;
      return r * columns + c;
    };
    const outer = outermostTrunkSample(at, trunk, lastSampleInBox(trunkBox, [cx, cy], [ux, uy], spacing, h, samples), h);
    if (outer < 0) {
      fascia[k] = Infinity;
      continue;
    }
    const R = outer * h;
    surface[k] = R;
    const len = outer + 1;
    for (let j = 0; j < len; j++) {
      const p = at(R - j * h);
      profile[j] = p >= 0 && trunk[p] ? classify(smoothHu[p], options.denseHu) : Cls.Air;
    }
    // Fascia: the end of the subcutaneous fat.
    const f = fasciaIndex(profile, len, mm, options);
    fascia[k] = f * h;
    // Inner limit below the fascia.
    const dot = ux * posterior[0] + uy * posterior[1];
    const inPosterior = dot >= cosSector;
    posteriorRay[k] = inPosterior ? 1 : 0;
    const boneCap = mm(inPosterior ? options.boneCapPosteriorMm : options.boneCapMm);
    const boneEnd = boneEndIndex(profile, f, len, boneCap, mm);
    if (boneEnd >= 0) {
      // Bone sets this ray's depth; its airLimit, read only for rays without bone, is left unset.
      hasBone[k] = 1;
      thickness[k] = (boneEnd - f) * h;
    } else {
      const { barrier, air, dense } = softBarriers(profile, f, len, mm, options);
      airLimit[k] = air >= 0 ? (air - f) * h : Infinity;
      let limit = f + mm(inPosterior ? options.softCapPosteriorMm : options.softCapMm);
      if (barrier >= 0) limit = Math.min(limit, barrier);
      if (air >= 0) limit = Math.min(limit, air);
      if (dense >= 0) limit = Math.min(limit, dense);
      thickness[k] = Math.max(0, (limit - f) * h);
    }
  }

  const rayProfiles: RayProfiles = { surface, fascia, thickness, hasBone, bridged, posteriorRay, airLimit };
  // Intercostal spaces: rays between bone-covered rays take the interpolated bone depth (not deeper than gas).
  const boneRays = bridgeIntercostal(rayProfiles, nr, options);
  limitToInnerMedian(rayProfiles, nr, options);
  const fSmooth = circularMedian(fascia, options.smoothRays);
  const tSmooth = circularMedian(thickness, options.smoothRays);
  paintBand(band, trunk, rows, columns, spacing, cx, cy, h, surface, fSmooth, tSmooth);
  return { band, boneRays, rays: nr };
}

/** Centroid of the trunk in image millimetres (x along columns, y along rows); null when empty. */
export function trunkCentre(trunk: Uint8Array, rows: number, columns: number, spacing: [number, number]): [number, number] | null {
  let sumX = 0;
  let sumY = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      if (trunk[r * columns + c]) {
        sumX += c;
        sumY += r;
        count++;
      }
    }
  }
  return count === 0 ? null : [(sumX / count) * spacing[1], (sumY / count) * spacing[0]];
}
