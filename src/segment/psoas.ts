/**
 * The muscles of the posterior abdominal wall that the wall rays do not reach: psoas (beside the
 * vertebral body, from T12/L1 down) and quadratus lumborum (lateral to the erector spinae, in
 * front of the transverse processes, from L1 down). Both lie in the zone beside the vertebral
 * body that is otherwise cleared, next to organs of the same density (crura, kidneys, bowel,
 * vessels). What separates them is anatomy, not HU:
 * - they touch a known structure: psoas the side of the vertebral body, quadratus lumborum the
 *   erector spinae already in the band;
 * - organs lie behind a fat plane (perirenal fat, the fascia), or join them only through a
 *   bridge thinner than the muscle, which an opening cuts;
 * - the crura, aorta and cava lie in front of the vertebral body, medial to its sides: that box
 *   is never grown into;
 * - enhancing organs and vessels (contrast) are denser than any muscle;
 * - an unenhanced kidney that touches the psoas with no fat between is distinctly darker than it
 *   (~25 HU): there density, calibrated on the psoas's own seed, separates them.
 */
import { connectedComponents, dilate, erode } from '../image/morphology.ts';
import { PSOAS_LEVELS } from './scope.ts';
import type { SpineFrame, TrunkSlice } from './spine.ts';

export interface PsoasOptions {
  /** Smoothed HU accepted as muscle while growing (denser: enhancing kidney, vessels, bone). */
  huRange: [number, number];
  /** Bridges narrower than twice this radius (mm) are cut (opening by reconstruction). */
  openRadiusMm: number;
  /**
   * The opening where the psoas must be found (`PSOAS_LEVELS`, L1–L3; `psoasOptionsFor`). At its
   * origin (L1) the psoas is ~9 mm across, which a 4 mm opening erodes away; at T11/T12 the crura
   * beside the body are as thick and stay out only with the wider one (docs/segmentation.md, 1.6.0).
   */
  lumbarOpenRadiusMm: number;
  /** Psoas box: from the side of the vertebral body out to this many mm, from this far in front of the body's front back to the canal. */
  psoasLateralMm: number;
  psoasAnteriorMm: number;
  /** Quadratus lumborum box: lateral range (mm beyond the body's side) and front-to-back range (mm from the canal centre). */
  quadratusLateralMm: [number, number];
  quadratusPostMm: [number, number];
  /** A psoas seed lies within this distance (mm) of the vertebral body. */
  seedMm: number;
  /** The erector spinae (where quadratus lumborum is seeded) lies within this distance (mm) of the body's side. */
  erectorLateralMm: number;
  /** In front of the body's front third, the crura lie within this distance (mm) of its side: never grown into. */
  cruraClearMm: number;
  /**
   * Below this much vertebral-body bone (cm², in front of the canal) the body's outline is not
   * closed in the slice (through an endplate, or low-density bone): its sides are unknown, and
   * marrow or crura beside it would be taken for psoas. The search is skipped (and flagged at L1–L3).
   */
  minBodyCm2: number;
  /**
   * A psoas region dropped because it runs on beyond its box into tissue at least this many HU
   * darker than its own seed (medians; an unenhanced kidney against the psoas it touches) is
   * searched again above the midpoint of the two densities: what is left must still lie against the
   * body's side (within `seedMm` + the opening) and end inside the box. null: such a region is
   * dropped whole (1.6.0). docs/segmentation.md, eighth pass.
   */
  organContrastHu: number | null;
}

export const DEFAULT_PSOAS_OPTIONS: PsoasOptions = {
  huRange: [-29, 100],
  openRadiusMm: 4,
  lumbarOpenRadiusMm: 3,
  psoasLateralMm: 50,
  psoasAnteriorMm: 30,
  quadratusLateralMm: [10, 75],
  quadratusPostMm: [-25, 15],
  seedMm: 10,
  erectorLateralMm: 50,
  cruraClearMm: 4,
  minBodyCm2: 3.5,
  organContrastHu: 15,
};

/** The options for a slice meant to show `level`: the narrower opening at L1–L3, the wider one elsewhere and when the level is unknown. */
export function psoasOptionsFor(level: string | undefined, options: PsoasOptions = DEFAULT_PSOAS_OPTIONS): PsoasOptions {
  return level !== undefined && PSOAS_LEVELS.includes(level) ? { ...options, openRadiusMm: options.lumbarOpenRadiusMm } : options;
}

export interface PosteriorWallMuscles {
  /** 0/1: psoas and quadratus lumborum candidates (before the HU rule). */
  mask: Uint8Array;
  /** Pixels per side, [patient right, patient left] in the frame of the canal. */
  psoasPixels: [number, number];
  quadratusPixels: [number, number];
}

interface SpineGeometry {
  lat: (x: number, y: number) => number;
  post: (x: number, y: number) => number;
  bodyHalfWidthMm: number;
  bodyCm2: number;
}

/** Coordinates across (lateral, signed) and along (posterior) the spine's axis, and the body's half-width. */
function spineGeometry(spine: SpineFrame, rows: number, columns: number, spacing: [number, number], posterior: [number, number], centre: [number, number]): SpineGeometry {
  const [sy, sx] = spacing;
  const spineLat = -(spine.canal[0] - centre[0]) * posterior[1] + (spine.canal[1] - centre[1]) * posterior[0];
  const lat = (x: number, y: number) => -(x - centre[0]) * posterior[1] + (y - centre[1]) * posterior[0] - spineLat;
  const post = (x: number, y: number) => (x - centre[0]) * posterior[0] + (y - centre[1]) * posterior[1];
  // The body's half-width, measured over its middle half front to back (its front is rounded,
  // pedicles and transverse processes stand out behind it; the canal's centre is ~8 mm behind it).
  const bodyDepth = spine.canalMm - 8 - spine.anteriorMm;
  const from = spine.anteriorMm + bodyDepth / 4;
  const to = spine.anteriorMm + (3 * bodyDepth) / 4;
  let half = 0;
  let body = 0;
  const vertebra = spine.vertebra!;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      if (!vertebra[r * columns + c]) continue;
      const p = post(c * sx, r * sy);
      if (p < spine.canalMm - 8) body++;
      const l = Math.abs(lat(c * sx, r * sy));
      if (p >= from && p <= to && l <= 40 && l > half) half = l;
    }
  }
  return { lat, post, bodyHalfWidthMm: half, bodyCm2: (body * sx * sy) / 100 };
}

/**
 * Psoas and quadratus lumborum beside a found vertebra: muscle-density tissue in the zone beside
 * the body, opened, grown from the body's sides and from the erector spinae in `band`.
 */
export function posteriorWallMuscles(
  slice: TrunkSlice,
  band: Uint8Array,
  spine: SpineFrame,
  /** Unit vector toward patient left in the image's millimetre frame. */
  left: [number, number],
  options: PsoasOptions = DEFAULT_PSOAS_OPTIONS,
): PosteriorWallMuscles {
  const { smoothHu, trunk, rows, columns, spacing, posterior, centre } = slice;
  const n = rows * columns;
  const none: PosteriorWallMuscles = { mask: new Uint8Array(n), psoasPixels: [0, 0], quadratusPixels: [0, 0] };
  if (!spine.found || !spine.vertebra) return none;
  const [sy, sx] = spacing;
  const g = spineGeometry(spine, rows, columns, spacing, posterior, centre);
  const half = g.bodyHalfWidthMm;
  if (half <= 0 || g.bodyCm2 < options.minBodyCm2) return none;
  const front = spine.anteriorMm;
  const bodyDepth = spine.canalMm - 8 - front;
  const [lo, hi] = options.huRange;
  const zone = new Uint8Array(n);
  const latMm = new Float32Array(n);
  const postMm = new Float32Array(n);
  /** Muscle-density tissue lateral to the body but outside both boxes: a region reaching it runs beyond any psoas or quadratus lumborum. */
  const beyond = new Uint8Array(n);
  const [qIn, qOut] = options.quadratusLateralMm;
  const [qFront, qBack] = options.quadratusPostMm;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      // latMm and postMm are read only at trunk, band and vertebra pixels (the zone and what grows
      // from it lie in the trunk): elsewhere they stay 0, unread, and cost nothing.
      if (!trunk[i] && !band[i] && !spine.vertebra[i]) continue;
      const l = g.lat(c * sx, r * sy);
      const p = g.post(c * sx, r * sy);
      latMm[i] = l;
      postMm[i] = p;
      if (!trunk[i] || band[i] || spine.vertebra[i] || smoothHu[i] < lo || smoothHu[i] > hi) continue;
      // Never medial to the body's sides: crura, aorta and cava in front, the canal behind.
      const d = Math.abs(l) - half;
      if (d < 0) continue;
      // In front of the body's front third the crura lie against its sides: psoas only further out.
      if (p < front + bodyDepth / 3 && d < options.cruraClearMm) continue;
      const inPsoas = d <= options.psoasLateralMm && p >= front - options.psoasAnteriorMm && p <= spine.canalMm - 5;
      const inQuadratus = d >= qIn && d <= qOut && p >= spine.canalMm + qFront && p <= spine.canalMm + qBack;
      if (inPsoas || inQuadratus) zone[i] = 1;
      else beyond[i] = 1;
    }
  }
  const deepInZone = erode(zone, rows, columns, spacing, options.openRadiusMm);
  const core = new Uint8Array(n);
  for (let i = 0; i < n; i++) core[i] = zone[i] && deepInZone[i] ? 1 : 0;
  // "Within so many mm of a small part" is a dilation: it costs the part's box, not the image.
  const nearBodyPart = dilate(vertebraPart(spine.vertebra, postMm, -Infinity, spine.canalMm - 5), rows, columns, spacing, options.openRadiusMm + options.seedMm);
  // The erector spinae: the band behind the transverse processes, near the midline.
  const erector = new Uint8Array(n);
  for (let i = 0; i < n; i++) erector[i] = band[i] && postMm[i] >= spine.canalMm - 5 && Math.abs(latMm[i]) <= half + options.erectorLateralMm ? 1 : 0;
  const touch = options.openRadiusMm + 1.5 * Math.max(sx, sy);
  const nearErector = dilate(erector, rows, columns, spacing, touch);
  const { labels, count } = connectedComponents(core, rows, columns);
  const seeded = new Uint8Array(count + 1);
  // A muscle ends inside its box; a region that runs on beyond it is an organ (liver, kidney,
  // bowel) that touched the body or the erector spinae.
  const touchMm = options.openRadiusMm + 2 * Math.max(sx, sy);
  const unbounded = componentsNear(labels, count, beyond, rows, columns, spacing, touchMm);
  // Psoas arises from the sides of the bodies behind the crura: beside the body behind its front third. Quadratus lumborum: against the erector spinae.
  const nearBodyAt = (i: number) => nearBodyPart[i] === 1 && Math.abs(latMm[i]) >= half - 2 && postMm[i] >= front + bodyDepth / 3;
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (!l || unbounded[l]) continue;
    if (nearBodyAt(i) || nearErector[i]) seeded[l] = 1;
  }
  const grown = new Uint8Array(n);
  for (let i = 0; i < n; i++) grown[i] = labels[i] && seeded[labels[i]] ? 1 : 0;
  if (options.organContrastHu !== null) {
    const besideBody = (i: number) => nearBodyAt(i) && Math.abs(latMm[i]) - half <= options.openRadiusMm + options.seedMm;
    separateDarkerOrgans({ labels, count, unbounded, zone, beyond, smoothHu, grown, nearBodyAt, besideBody, rows, columns, spacing, contrastHu: options.organContrastHu, openRadiusMm: options.openRadiusMm, touchMm });
  }
  const reach = options.openRadiusMm + 0.5 * Math.max(sx, sy);
  const nearGrown = dilate(grown, rows, columns, spacing, reach);
  const out = none;
  for (let i = 0; i < n; i++) {
    if (!zone[i] || !nearGrown[i]) continue;
    out.mask[i] = 1;
    const r = (i / columns) | 0;
    const side = (((i - r * columns) * sx - spine.canal[0]) * left[0] + (r * sy - spine.canal[1]) * left[1]) > 0 ? 1 : 0;
    if (postMm[i] < spine.canalMm - 5 && Math.abs(latMm[i]) < half + 50) out.psoasPixels[side]++;
    else out.quadratusPixels[side]++;
  }
  return out;
}

/** 1 for each component label with a pixel within `distanceMm` of `target`. */
function componentsNear(labels: Int32Array, count: number, target: Uint8Array, rows: number, columns: number, spacing: [number, number], distanceMm: number): Uint8Array {
  const nearTarget = dilate(target, rows, columns, spacing, distanceMm);
  const near = new Uint8Array(count + 1);
  for (let i = 0; i < labels.length; i++) if (labels[i] && nearTarget[i]) near[labels[i]] = 1;
  return near;
}

/** 1 on the part of the vertebra between `minPost` and `maxPost` (posterior mm), 0 elsewhere: for distances to that part. */
function vertebraPart(vertebra: Uint8Array, postMm: Float32Array, minPost: number, maxPost: number): Uint8Array {
  const out = new Uint8Array(vertebra.length);
  for (let i = 0; i < vertebra.length; i++) out[i] = vertebra[i] && postMm[i] >= minPost && postMm[i] < maxPost ? 1 : 0;
  return out;
}

interface OrganContact {
  /** The regions (`count` of them) of the opened zone, and which of them run on beyond the box. */
  labels: Int32Array;
  count: number;
  unbounded: Uint8Array;
  zone: Uint8Array;
  beyond: Uint8Array;
  smoothHu: Float32Array;
  /** Written: the pixels of each region searched again and kept. */
  grown: Uint8Array;
  /** A psoas seed pixel (beside the body, behind its front third); one also within the opening + seedMm of the body's side. */
  nearBodyAt: (i: number) => boolean;
  besideBody: (i: number) => boolean;
  rows: number;
  columns: number;
  spacing: [number, number];
  contrastHu: number;
  openRadiusMm: number;
  /** How near `beyond` a region runs on into it (as for the regions themselves). */
  touchMm: number;
}

const median = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1];

/**
 * The psoas out of a region that was dropped because it runs on into an organ beyond the box (an
 * unenhanced kidney touching it, no fat plane between), where that organ is distinctly darker than
 * the psoas: the region's seed pixels beside the body give the psoas's density, the tissue beyond the
 * box within reach of the region the organ's; where they differ by at least `contrastHu`, the zone is
 * searched again above their midpoint (opened, as before), and a part that reaches the body's side
 * and no longer runs on beyond the box is kept. A region whose organ is as dense as the psoas (liver,
 * bowel) or denser (enhanced kidney) stays dropped: density cannot separate them.
 */
function separateDarkerOrgans(c: OrganContact): void {
  const { labels, count, unbounded, zone, beyond, smoothHu, grown, rows, columns, spacing } = c;
  const n = labels.length;
  const seedHu: number[][] = Array.from({ length: count + 1 }, () => []);
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l && unbounded[l] && c.nearBodyAt(i)) seedHu[l].push(smoothHu[i]);
  }
  for (let l = 1; l <= count; l++) {
    if (seedHu[l].length === 0) continue;
    const region = new Uint8Array(n);
    for (let i = 0; i < n; i++) region[i] = labels[i] === l ? 1 : 0;
    const reach = dilate(region, rows, columns, spacing, c.touchMm);
    const organHu: number[] = [];
    for (let i = 0; i < n; i++) if (reach[i] && beyond[i]) organHu.push(smoothHu[i]);
    if (organHu.length === 0) continue;
    const psoas = median(seedHu[l]);
    const organ = median(organHu);
    if (psoas - organ < c.contrastHu) continue;
    const floor = (psoas + organ) / 2;
    const dense = new Uint8Array(n);
    const denseBeyond = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (smoothHu[i] < floor) continue;
      if (zone[i]) dense[i] = 1;
      else if (beyond[i]) denseBeyond[i] = 1;
    }
    // Eroded (the opening's first half; what is grown back from the kept parts is its second).
    const parts = connectedComponents(erode(dense, rows, columns, spacing, c.openRadiusMm), rows, columns);
    const runsOn = componentsNear(parts.labels, parts.count, denseBeyond, rows, columns, spacing, c.touchMm);
    const beside = new Uint8Array(parts.count + 1);
    for (let i = 0; i < n; i++) if (parts.labels[i] && labels[i] === l && c.besideBody(i)) beside[parts.labels[i]] = 1;
    for (let i = 0; i < n; i++) {
      const p = parts.labels[i];
      if (p && beside[p] && !runsOn[p]) grown[i] = 1;
    }
  }
}
