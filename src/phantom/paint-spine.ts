/**
 * The vertebral column at one height: body (cancellous bone in a cortical shell, dense endplates)
 * or disc, the spinal canal with cord or cauda equina, and the posterior elements (pedicles,
 * laminae, facet joints, transverse and spinous processes). Thoracic laminae and spinous
 * processes hang down over the level below, as they do; lumbar transverse processes are long and
 * flat and carry no ribs. Below L5 come the sacrum and the iliac wings.
 */
import type { Anatomy } from './anatomy.ts';
import { clamp } from './interp.ts';
import { L1_INDEX, S1_INDEX, spinePartAt, type Vertebra } from './levels.ts';
import { fillCapsule, fillCircle, fillEllipse, type Grid } from './raster.ts';
import { ribHeadZ, transverseProcessReach } from './ribs.ts';
import type { Section } from './section.ts';
import { labelSet, TISSUE } from './tissues.ts';

const ENDPLATE_MM = 1;
const CORTEX_MM = 1.6;
const SOFT_INSIDE_BODY = labelSet(TISSUE.FAT_VISCERAL, TISSUE.MUSCLE_WALL, TISSUE.MUSCLE_OTHER);

export function paintSpine(anatomy: Anatomy, section: Section, grid: Grid, labels: Uint8Array): void {
  const { spine } = anatomy;
  for (const vertebra of spine.vertebrae) {
    if (vertebra.index < S1_INDEX) paintPosteriorElements(anatomy, section, vertebra, grid, labels);
  }
  paintFacets(anatomy, section, grid, labels);
  paintCanal(section, grid, labels);
  paintAnteriorColumn(anatomy, section, grid, labels);
  paintPelvis(anatomy, section, grid, labels);
}

function paintAnteriorColumn(anatomy: Anatomy, section: Section, grid: Grid, labels: Uint8Array): void {
  const { z } = section;
  const sp = section.spine;
  const mx = section.midX;
  const part = spinePartAt(anatomy.spine, z);
  if (part.kind === 'body') {
    const v = part.vertebra;
    // Vertebral bodies are waisted: narrower at mid-height than at the endplates.
    const t = (z - v.midMm) / (v.heightMm / 2);
    const waist = 1 - 0.06 * (1 - t * t);
    const rx = sp.bodyRx * waist;
    const ry = sp.bodyRy * waist;
    const toEndplate = Math.min(v.superiorMm - z, z - v.inferiorMm);
    if (toEndplate < ENDPLATE_MM) {
      fillEllipse(grid, labels, mx, sp.bodyY, rx, ry, TISSUE.BONE_ENDPLATE, { yMax: sp.bodyBackY });
    } else {
      fillEllipse(grid, labels, mx, sp.bodyY, rx, ry, TISSUE.BONE_CORTICAL, { yMax: sp.bodyBackY });
      fillEllipse(grid, labels, mx, sp.bodyY, rx - CORTEX_MM, ry - CORTEX_MM, TISSUE.BONE_CANCELLOUS, { yMax: sp.bodyBackY - CORTEX_MM });
    }
    if (v.index === S1_INDEX) paintSacralAla(section, grid, labels, 1);
  } else if (part.kind === 'disc') {
    fillEllipse(grid, labels, mx, sp.bodyY, sp.bodyRx * 1.02, sp.bodyRy * 1.02, TISSUE.DISC, { yMax: sp.bodyBackY + 0.5 });
  } else {
    const s1 = anatomy.spine.vertebrae[S1_INDEX];
    const below = s1.inferiorMm - z;
    if (below > 0 && below < 70) {
      // The fused lower sacrum: narrowing and curving backwards.
      const f = 1 - below / 110;
      const y = sp.bodyY + below * 0.35;
      fillEllipse(grid, labels, mx, y, sp.bodyRx * f, sp.bodyRy * f, TISSUE.BONE_CORTICAL);
      fillEllipse(grid, labels, mx, y, sp.bodyRx * f - CORTEX_MM, sp.bodyRy * f - CORTEX_MM, TISSUE.BONE_CANCELLOUS);
      paintSacralAla(section, grid, labels, clamp(1 - below / 60, 0.2, 1));
    }
  }
}

function paintSacralAla(section: Section, grid: Grid, labels: Uint8Array, size: number): void {
  const sp = section.spine;
  for (const side of [1, -1]) {
    const ax = section.midX + side * sp.bodyRx * 0.6;
    const bx = section.midX + side * (sp.bodyRx + 32 * size);
    fillCapsule(grid, labels, ax, sp.bodyY + 4, bx, sp.bodyY + 10, 9 * size, TISSUE.BONE_CORTICAL);
    fillCapsule(grid, labels, ax, sp.bodyY + 4, bx, sp.bodyY + 10, 9 * size - CORTEX_MM, TISSUE.BONE_CANCELLOUS);
  }
}

function paintPosteriorElements(anatomy: Anatomy, section: Section, v: Vertebra, grid: Grid, labels: Uint8Array): void {
  const { z } = section;
  const h = v.heightMm;
  const thoracic = v.index < L1_INDEX;
  // Quick reject: posterior elements reach from a little above the body to well below it.
  if (z > v.superiorMm + 2 || z < v.inferiorMm - 1.2 * h) return;
  const sp = section.spine;
  const mx = section.midX;
  const s = anatomy.sizeScale;
  const bone = TISSUE.BONE_POSTERIOR;

  if (z >= v.inferiorMm + 0.45 * h && z <= v.superiorMm - 0.1 * h) {
    const r = (thoracic ? 3.2 : 4.5) * s;
    for (const side of [1, -1]) {
      fillCapsule(grid, labels, mx + side * (sp.canalRx - 1), sp.bodyBackY - 2, mx + side * (sp.canalRx + 2.5), sp.canalY + 2, r, bone);
    }
  }

  const laminaBottom = v.inferiorMm + 0.1 * h - (thoracic ? 0.3 : 0.15) * h;
  const laminaTop = v.superiorMm - 0.15 * h;
  if (z >= laminaBottom && z <= laminaTop) {
    fillEllipse(grid, labels, mx, sp.canalY, sp.canalRx + 5.5 * s, sp.canalRy + 5.5 * s, bone, { yMin: sp.canalY });
  }

  // Spinous process: a plate sloping down from the laminae to its tip, steeply in the mid-thorax.
  const start = sp.canalY + sp.canalRy + 3 * s;
  const tip = section.muscle.cy + section.muscle.ryPost - 6;
  if (tip > start) {
    const slope = thoracic ? 18 + 14 * Math.sin((Math.PI * Math.min(v.index, 11)) / 11) : 4;
    const halfHeight = (thoracic ? 5 : 10) * s;
    const zStart = (laminaBottom + laminaTop) / 2;
    // z on the plate's mid-line falls linearly from zStart at `start` to zStart − slope at `tip`.
    const length = tip - start;
    const lo = ((zStart - z - halfHeight) / slope) * length;
    const hi = ((zStart - z + halfHeight) / slope) * length;
    const y0 = start + clamp(lo, 0, length);
    const y1 = start + clamp(hi, 0, length);
    if (y1 > y0) fillCapsule(grid, labels, mx, y0, mx, y1, (thoracic ? 3 : 3.5) * s, bone);
  }

  const reach = transverseProcessReach(v.index, anatomy.ribPairs) * s;
  if (reach > 0) {
    if (v.index < anatomy.ribPairs) {
      // Rib-bearing: the process meets the rib tubercle at the costotransverse joint.
      const zc = ribHeadZ(v.superiorMm, h) - 1;
      if (Math.abs(z - zc) <= 5.5) {
        for (const side of [1, -1]) {
          fillCapsule(grid, labels, mx + side * (sp.canalRx + 2), sp.canalY + 1, mx + side * (reach - 3), sp.canalY + 4, 3.5 * s, bone);
        }
      }
    } else {
      const zc = v.midMm + 0.05 * h;
      if (Math.abs(z - zc) <= 5) {
        for (const side of [1, -1]) {
          fillCapsule(grid, labels, mx + side * (sp.canalRx + 2), sp.canalY - 3, mx + side * reach, sp.canalY - 6, 3.5 * s, bone);
        }
      }
    }
  }
}

/** Facet joints flank the canal at every disc level, so posterior bone is present between bodies too. */
function paintFacets(anatomy: Anatomy, section: Section, grid: Grid, labels: Uint8Array): void {
  const { z } = section;
  const sp = section.spine;
  const s = anatomy.sizeScale;
  for (const disc of anatomy.spine.discs) {
    if (z > disc.superiorMm + 4 || z < disc.inferiorMm - 4) continue;
    const lumbar = section.u > 11.5;
    const r = (lumbar ? 5.5 : 4) * s;
    for (const side of [1, -1]) {
      fillCircle(grid, labels, section.midX + side * (sp.canalRx + r * 0.9), sp.canalY + 3 * s, r, TISSUE.BONE_POSTERIOR);
    }
  }
}

function paintCanal(section: Section, grid: Grid, labels: Uint8Array): void {
  const { u } = section;
  if (u < -1.5 || u > S1_INDEX + 2.5) return;
  const sp = section.spine;
  const mx = section.midX;
  fillEllipse(grid, labels, mx, sp.canalY, sp.canalRx, sp.canalRy, TISSUE.EPIDURAL_FAT);
  // The dural sac ends at about S2.
  if (u < S1_INDEX + 1) fillEllipse(grid, labels, mx, sp.canalY - 0.5, sp.canalRx - 1.8, sp.canalRy - 1.8, TISSUE.CSF);
  // The cord ends (conus) at about L1/L2.
  const cord = u < 12.3 ? 4.2 : u < 12.8 ? 4.2 * (12.8 - u) * 2 : 0;
  if (cord > 0.5) fillCircle(grid, labels, mx, sp.canalY - 0.5, cord, TISSUE.CORD);
}

/** Iliac wings from the crest (about L4) down, with iliacus inside and gluteus medius outside. */
function paintPelvis(anatomy: Anatomy, section: Section, grid: Grid, labels: Uint8Array): void {
  const crest = anatomy.spine.zAtLevel(15.3);
  const depth = crest - section.z;
  if (depth <= 0) return;
  const f = clamp(depth / 30, 0.25, 1);
  const sp = section.spine;
  const { cavity } = section;
  for (const side of [1, -1]) {
    const x = (dx: number) => section.midX + side * dx;
    const p1: [number, number] = [x(sp.bodyRx + 24), sp.canalY + 10];
    const p2: [number, number] = [x(cavity.rx * 0.75), sp.canalY + 2];
    const p3: [number, number] = [x(cavity.rx - 8), section.muscle.cy - 15];
    // The wing grows out from the crest's posterolateral part as the slice goes lower.
    const a: [number, number] = [p2[0] + f * (p1[0] - p2[0]), p2[1] + f * (p1[1] - p2[1])];
    const b: [number, number] = [p2[0] + f * (p3[0] - p2[0]), p2[1] + f * (p3[1] - p2[1])];
    fillEllipse(grid, labels, x(cavity.rx * 0.62), sp.canalY - 14, 20 * f, 14 * f, TISSUE.MUSCLE_OTHER, { only: SOFT_INSIDE_BODY });
    fillEllipse(grid, labels, x(cavity.rx * 0.8), sp.canalY + 24, 28 * f, 15 * f, TISSUE.MUSCLE_OTHER, { only: SOFT_INSIDE_BODY });
    for (const [label, r] of [[TISSUE.BONE_CORTICAL, 4.5], [TISSUE.BONE_CANCELLOUS, 2.6]] as const) {
      fillCapsule(grid, labels, a[0], a[1], p2[0], p2[1], r, label);
      fillCapsule(grid, labels, p2[0], p2[1], b[0], b[1], r, label);
    }
  }
}
