/**
 * The vertebra in the slice, found as the largest bone component near the posterior midline, and
 * the coronal level of its spinal canal. Behind that level lie the paraspinal muscles; in front of
 * it, beside the vertebral body, lie the crura, kidneys, liver and great vessels — never wall muscle.
 */
import { close, connectedComponents, fillHoles } from '../image/morphology.ts';

/** Lower than the ray bone threshold: the vertebral body's cancellous bone must join its cortex. */
const BONE_HU = 150;
/** Parts of one vertebra (body, pedicles, laminae, processes) lie within this distance of its centre. */
const VERTEBRA_RADIUS_MM = 45;

export interface SpineFrame {
  /** Image-mm coordinates of the canal centre (or of the vertebra's posterior half when the canal is open). */
  canal: [number, number];
  /** Projection (mm) on the posterior axis of the vertebra's most anterior pixel, from the same origin as `canal`. */
  anteriorMm: number;
  canalMm: number;
  found: boolean;
  /** The vertebra with its canal and marrow (holes filled): bone and neural tissue, never muscle. */
  vertebra: Uint8Array | null;
  /**
   * The canal where the arch is not closed in this slice (a gap between the laminae, or partial
   * volume on a coarse grid): soft tissue within CANAL_RADIUS_MM of the canal centre that a closing
   * by CANAL_CLOSE_MM would enclose. Cord, dura and CSF have muscle density; they are never muscle.
   */
  canalZone: Uint8Array | null;
}

/** Closing radius that bridges an open arch (the gap between laminae is narrower than twice this). */
const CANAL_CLOSE_MM = 8;
/** The canal's contents lie within this distance of its centre (an adult canal is 15–25 mm across). */
const CANAL_RADIUS_MM = 12;

function openCanal(parts: Uint8Array, filled: Uint8Array, canal: [number, number], rows: number, columns: number, spacing: [number, number]): Uint8Array {
  const enclosed = fillHoles(close(parts, rows, columns, spacing, CANAL_CLOSE_MM), rows, columns);
  const out = new Uint8Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      if (enclosed[i] && !filled[i] && Math.hypot(c * spacing[1] - canal[0], r * spacing[0] - canal[1]) <= CANAL_RADIUS_MM) out[i] = 1;
    }
  }
  return out;
}

/** Per-label sums of two values of each labelled pixel's image-mm position (x = column, y = row). */
function sumsByLabel(
  labels: ArrayLike<number>,
  count: number,
  rows: number,
  columns: number,
  spacing: [number, number],
  first: (x: number, y: number) => number,
  second: (x: number, y: number) => number,
): [Float64Array, Float64Array] {
  const [sy, sx] = spacing;
  const a = new Float64Array(count + 1);
  const b = new Float64Array(count + 1);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const l = labels[r * columns + c];
      if (!l) continue;
      a[l] += first(c * sx, r * sy);
      b[l] += second(c * sx, r * sy);
    }
  }
  return [a, b];
}

/** Bone parts centred within VERTEBRA_RADIUS_MM of the chosen part's centre (body and arch may be separate in a slice). */
function vertebraParts(labels: ArrayLike<number>, count: number, sizes: ArrayLike<number>, best: number, rows: number, columns: number, spacing: [number, number]): Uint8Array {
  const [sy, sx] = spacing;
  const [sumX, sumY] = sumsByLabel(labels, count, rows, columns, spacing, (x) => x, (_x, y) => y);
  const bx = sumX[best] / sizes[best];
  const by = sumY[best] / sizes[best];
  const member = new Uint8Array(count + 1);
  for (let l = 1; l <= count; l++) {
    if (Math.hypot(sumX[l] / sizes[l] - bx, sumY[l] / sizes[l] - by) <= VERTEBRA_RADIUS_MM && sizes[l] * sx * sy >= 10) member[l] = 1;
  }
  const n = rows * columns;
  const parts = new Uint8Array(n);
  for (let i = 0; i < n; i++) parts[i] = member[labels[i]];
  return parts;
}

/** What one pass over the vertebra gives: its most anterior projection, all projections, and the canal hole's centre sums. */
interface VertebraScan {
  minP: number;
  ps: number[];
  cxSum: number;
  cySum: number;
  k: number;
}

function scanVertebra(vertebra: Uint8Array, holeLabels: ArrayLike<number>, canalLabel: number, rows: number, columns: number, spacing: [number, number], posterior: [number, number], centre: [number, number]): VertebraScan {
  const [sy, sx] = spacing;
  let cxSum = 0;
  let cySum = 0;
  let k = 0;
  let minP = Infinity;
  const ps: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      const x = c * sx;
      const y = r * sy;
      const p = (x - centre[0]) * posterior[0] + (y - centre[1]) * posterior[1];
      if (vertebra[i]) {
        if (p < minP) minP = p;
        ps.push(p);
      }
      if (canalLabel && holeLabels[i] === canalLabel) {
        cxSum += x;
        cySum += y;
        k++;
      }
    }
  }
  return { minP, ps, cxSum, cySum, k };
}

/**
 * One axial slice as the spine and psoas rules read it: the 3×3-smoothed HU, the trunk mask, the
 * grid, the posterior unit vector and the trunk centre (image millimetres).
 */
export interface TrunkSlice {
  smoothHu: Float32Array;
  trunk: Uint8Array;
  rows: number;
  columns: number;
  spacing: [number, number];
  posterior: [number, number];
  centre: [number, number];
}

export function findSpine(slice: TrunkSlice): SpineFrame {
  const { smoothHu, trunk, rows, columns, spacing, posterior, centre } = slice;
  const [sy, sx] = spacing;
  const n = rows * columns;
  const bone = new Uint8Array(n);
  for (let i = 0; i < n; i++) bone[i] = trunk[i] && smoothHu[i] >= BONE_HU ? 1 : 0;
  const { labels, count, sizes } = connectedComponents(bone, rows, columns);
  const none: SpineFrame = { canal: centre, anteriorMm: 0, canalMm: 0, found: false, vertebra: null, canalZone: null };
  if (count === 0) return none;
  // Candidates: centroid behind the trunk centre and within 40 mm of the midline axis.
  const [sumP, sumL] = sumsByLabel(
    labels,
    count,
    rows,
    columns,
    spacing,
    (x, y) => (x - centre[0]) * posterior[0] + (y - centre[1]) * posterior[1],
    (x, y) => -(x - centre[0]) * posterior[1] + (y - centre[1]) * posterior[0],
  );
  let best = 0;
  for (let l = 1; l <= count; l++) {
    const p = sumP[l] / sizes[l];
    const lat = sumL[l] / sizes[l];
    if (p <= 0 || Math.abs(lat) > 40) continue;
    if (best === 0 || sizes[l] > sizes[best]) best = l;
  }
  if (best === 0) return none;
  const parts = vertebraParts(labels, count, sizes, best, rows, columns, spacing);
  const vertebra = close(parts, rows, columns, spacing, 3);
  const filled = fillHoles(vertebra, rows, columns);
  // The canal is the largest hole of the vertebra (marrow holes are small).
  const holes = new Uint8Array(n);
  for (let i = 0; i < n; i++) holes[i] = filled[i] && !vertebra[i] ? 1 : 0;
  const hc = connectedComponents(holes, rows, columns);
  let canalLabel = 0;
  for (let l = 1; l <= hc.count; l++) if (canalLabel === 0 || hc.sizes[l] > hc.sizes[canalLabel]) canalLabel = l;
  const minCanalMm2 = 60;
  const { minP, ps, cxSum, cySum, k } = scanVertebra(vertebra, hc.labels, canalLabel, rows, columns, spacing, posterior, centre);
  if (canalLabel && hc.sizes[canalLabel] * sx * sy >= minCanalMm2) {
    const canal: [number, number] = [cxSum / k, cySum / k];
    const canalMm = (canal[0] - centre[0]) * posterior[0] + (canal[1] - centre[1]) * posterior[1];
    return { canal, anteriorMm: minP, canalMm, found: true, vertebra: filled, canalZone: openCanal(parts, filled, canal, rows, columns, spacing) };
  }
  // Open canal (a foramen in this slice): the vertebra's posterior quarter stands in for it.
  ps.sort((a, b) => a - b);
  const canalMm = ps[Math.floor(ps.length * 0.75)];
  const lat = sumL[best] / sizes[best];
  const canal: [number, number] = [
    centre[0] + posterior[0] * canalMm - posterior[1] * lat,
    centre[1] + posterior[1] * canalMm + posterior[0] * lat,
  ];
  return { canal, anteriorMm: minP, canalMm, found: true, vertebra: filled, canalZone: openCanal(parts, filled, canal, rows, columns, spacing) };
}

/**
 * Remove from `band` what lies beside or in front of the vertebra: within `lateralMm` of the
 * midline and between the trunk centre and `marginMm` in front of the canal.
 */
export function clearParavertebral(band: Uint8Array, slice: TrunkSlice, spine: SpineFrame, lateralMm = 80, marginMm = 5): number {
  const { rows, columns, spacing, posterior, centre } = slice;
  if (!spine.found) return 0;
  const [sy, sx] = spacing;
  const latOf = (x: number, y: number) => -(x - centre[0]) * posterior[1] + (y - centre[1]) * posterior[0];
  const spineLat = latOf(spine.canal[0], spine.canal[1]);
  let cleared = 0;
  const vertebra = spine.vertebra;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      if (!band[i]) continue;
      if ((vertebra && vertebra[i]) || spine.canalZone?.[i]) {
        band[i] = 0;
        cleared++;
        continue;
      }
      const x = c * sx;
      const y = r * sy;
      const p = (x - centre[0]) * posterior[0] + (y - centre[1]) * posterior[1];
      const lat = latOf(x, y) - spineLat;
      if (Math.abs(lat) <= lateralMm && p >= 0 && p < spine.canalMm - marginMm) {
        band[i] = 0;
        cleared++;
      }
    }
  }
  return cleared;
}
