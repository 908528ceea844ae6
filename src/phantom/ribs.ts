/**
 * Ribs as 3D tubes. Each rib starts at its vertebra (head against the side of the body, neck
 * running back to the tip of the transverse process), then follows the chest wall round to the
 * front while dropping: the further along, the lower, as real ribs slope down anteriorly. An axial
 * slice therefore shows the rib meeting its own vertebra only near that vertebra's level, and
 * elsewhere only oval cross-sections of ribs from higher levels around the wall, which is what a
 * level finder has to tell apart.
 *
 * Ribs attach only to rib-bearing vertebrae: T1..T12 with 12 pairs, T1..T11 with 11, T1..L1 with
 * 13 (a lumbar rib).
 */
import { TISSUE } from './tissues.ts';
import type { BodyPlan, Section } from './section.ts';
import { sectionAt } from './section.ts';
import { fillCircle, type Grid, type Egg, eggPoint } from './raster.ts';
import { VERTEBRA_NAMES, type VertebraName } from './levels.ts';

export interface RibPath {
  vertebra: VertebraName;
  /** Rib number counted from the top (1..13). */
  number: number;
  side: 1 | -1;
  /** Centre-line samples (mm), about 1.2 mm apart. */
  x: Float32Array;
  y: Float32Array;
  z: Float32Array;
  /** 1 where the sample is costal cartilage rather than bone. */
  cartilage: Uint8Array;
  radiusMm: number;
  /** Half the rib's height along z. */
  halfHeightMm: number;
  /** z of the costovertebral joint. */
  headZMm: number;
  zMin: number;
  zMax: number;
}

/** Distance from the midline to the tip of a vertebra's transverse process (mm, before scaling). */
export function transverseProcessReach(index: number, ribPairs: number): number {
  if (index < ribPairs) {
    // Thoracic processes carry the rib tubercle; the floating ribs' vertebrae have stubs.
    if (index <= 9) return 32;
    return index === 10 ? 24 : 20;
  }
  // A thoracic vertebra without ribs (11 pairs) keeps a stub; lumbar processes are long.
  if (index < 12) return 20;
  return [30, 38, 45, 42, 38, 0][index - 12] ?? 0;
}

/** Drop (mm) from the rib head to its anterior end, by rib number: mid ribs slope most. */
const RIB_DROP = [30, 45, 58, 70, 80, 90, 100, 110, 118, 125, 80, 45, 28];

/** Where bone and cartilage end, as angles (rad) round the chest from the posterior midline. */
function ribExtent(number: number): { boneEnd: number; end: number } {
  if (number <= 7) return { boneEnd: 2.35, end: 3.0 };
  if (number <= 10) return { boneEnd: 2.2, end: 2.75 };
  if (number === 11) return { boneEnd: 1.8, end: 1.8 };
  if (number === 12) return { boneEnd: 1.25, end: 1.25 };
  return { boneEnd: 0.95, end: 0.95 };
}

/** The curve ribs follow at a section: mid-thickness of the chest wall, drawn in behind to the rib angles. */
export function ribCurve(section: Section): Egg {
  const { muscle, cavity, spine } = section;
  return {
    cx: section.midX,
    cy: muscle.cy,
    rx: (muscle.rx + cavity.rx) / 2,
    ryAnt: (muscle.ryAnt + cavity.ryAnt) / 2,
    ryPost: Math.max(10, spine.canalY + 10 - muscle.cy),
  };
}

/** z of the costovertebral joint of a rib-bearing vertebra: in the upper part of its body. */
export function ribHeadZ(superiorMm: number, heightMm: number): number {
  return superiorMm - 0.4 * heightMm;
}

/** Smallest and largest value (of a rib's heights). */
function extent(values: Float32Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return [min, max];
}

export function buildRibs(plan: BodyPlan, ribPairs: number): RibPath[] {
  const ribs: RibPath[] = [];
  const s = plan.sizeScale;
  for (let index = 0; index < ribPairs; index++) {
    const vertebra = plan.spine.vertebrae[index];
    const number = index + 1;
    const headZ = ribHeadZ(vertebra.superiorMm, vertebra.heightMm);
    // Scaled with the patient's (and this level's) vertebral height.
    const drop = RIB_DROP[number - 1] * (vertebra.heightMm / (15 + (13 * index) / 16));
    const { boneEnd, end } = ribExtent(number);
    const floating = number >= 11;
    for (const side of [1, -1] as const) {
      const head = sectionAt(plan, headZ);
      const sp = head.spine;
      // The costovertebral joint is at the posterolateral corner of the body, next to the pedicle.
      const headPoint: [number, number] = [head.midX + side * (0.8 * sp.bodyRx + 1.5), sp.bodyY + 0.55 * sp.bodyRy];
      const tubercle: [number, number] = [head.midX + side * transverseProcessReach(index, ribPairs) * s, sp.canalY + 4];
      const curve0 = ribCurve(head);
      const start = Math.asin(Math.min(0.95, (Math.abs(tubercle[0] - head.midX) + 8) / curve0.rx));
      const angle: [number, number] = eggPoint(curve0, start, side);
      // Lengths at the head level decide how the drop is shared along the rib.
      const neck = Math.hypot(tubercle[0] - headPoint[0], tubercle[1] - headPoint[1]);
      const shaft = Math.hypot(angle[0] - tubercle[0], angle[1] - tubercle[1]);
      let arc = 0;
      let previous = angle;
      const arcSteps = 64;
      for (let k = 1; k <= arcSteps; k++) {
        const point = eggPoint(curve0, start + ((end - start) * k) / arcSteps, side);
        arc += Math.hypot(point[0] - previous[0], point[1] - previous[1]);
        previous = point;
      }
      const total = neck + shaft + arc;
      const count = Math.max(8, Math.ceil(total / 1.2));
      const x = new Float32Array(count + 1);
      const y = new Float32Array(count + 1);
      const z = new Float32Array(count + 1);
      const cartilage = new Uint8Array(count + 1);
      for (let k = 0; k <= count; k++) {
        const along = (total * k) / count;
        const t = along / total;
        const zk = headZ - drop * Math.pow(t, 1.6);
        let px: number;
        let py: number;
        let theta = 0;
        if (along <= neck) {
          const f = along / neck;
          px = headPoint[0] + f * (tubercle[0] - headPoint[0]);
          py = headPoint[1] + f * (tubercle[1] - headPoint[1]);
        } else if (along <= neck + shaft) {
          const f = (along - neck) / shaft;
          px = tubercle[0] + f * (angle[0] - tubercle[0]);
          py = tubercle[1] + f * (angle[1] - tubercle[1]);
        } else {
          theta = start + ((along - neck - shaft) / arc) * (end - start);
          // The wall at the rib's own height: the rib stays inside it as the trunk changes shape.
          [px, py] = eggPoint(ribCurve(sectionAt(plan, zk)), theta, side);
        }
        x[k] = px;
        y[k] = py;
        z[k] = zk;
        cartilage[k] = theta > boneEnd ? 1 : 0;
      }
      const [zMin, zMax] = extent(z);
      ribs.push({
        vertebra: VERTEBRA_NAMES[index],
        number,
        side,
        x,
        y,
        z,
        cartilage,
        radiusMm: (floating ? 3 : 3.5) * s,
        halfHeightMm: floating ? 4.5 : 5.5,
        headZMm: headZ,
        zMin,
        zMax,
      });
    }
  }
  return ribs;
}

/** Paint every rib's cross-section at height z: cortex first, then marrow inside, cartilage alone. */
export function paintRibs(ribs: readonly RibPath[], z: number, grid: Grid, labels: Uint8Array): void {
  for (const rib of ribs) {
    const h = rib.halfHeightMm;
    if (z < rib.zMin - h || z > rib.zMax + h) continue;
    const n = rib.x.length;
    for (let k = 0; k < n; k++) {
      if (Math.abs(z - rib.z[k]) > h) continue;
      fillCircle(grid, labels, rib.x[k], rib.y[k], rib.radiusMm, rib.cartilage[k] ? TISSUE.CARTILAGE : TISSUE.RIB_CORTEX);
    }
    for (let k = 0; k < n; k++) {
      if (rib.cartilage[k] || Math.abs(z - rib.z[k]) > h) continue;
      fillCircle(grid, labels, rib.x[k], rib.y[k], rib.radiusMm - 1.3, TISSUE.RIB_MARROW);
    }
  }
}
