/**
 * What lies outside the trunk: arms resting beside it (skin, fat, arm muscle, humerus above the
 * elbow, radius and ulna below) and the patient table. Both paint only over air, so they can
 * never change the trunk; the table sits behind the patient when supine and in front when prone,
 * which in patient coordinates is where the patient lies on it.
 */
import { armOutline, type Anatomy } from './anatomy.ts';
import { clamp } from './interp.ts';
import { fillCapsule, fillEllipse, indexRange, type Grid } from './raster.ts';
import type { Section } from './section.ts';
import { labelSet, TISSUE } from './tissues.ts';

const ONLY_AIR = labelSet(TISSUE.AIR);
const ONLY_ARM_MUSCLE = labelSet(TISSUE.MUSCLE_ARM);
const ONLY_SKIN = labelSet(TISSUE.SKIN);
const ONLY_FAT = labelSet(TISSUE.FAT_SUBCUTANEOUS);
const ONLY_CORTEX = labelSet(TISSUE.BONE_CORTICAL);

const TABLE_THICKNESS_MM = 40;
const TABLE_SHELL_MM = 2.5;
const TABLE_HALF_WIDTH_MM = 235;
/** The table is a shallow cradle: its edges rise 20 mm over 200 mm. */
const TABLE_CURVATURE = 20 / (200 * 200);

export function paintArms(anatomy: Anatomy, section: Section, grid: Grid, labels: Uint8Array): void {
  const arm = armOutline(anatomy, section);
  const s = anatomy.sizeScale;
  const fat = 2.5 + 7 * Math.sqrt(anatomy.fatScale);
  const forearm = clamp((section.u - 12.2) / 1.2, 0, 1);
  for (const side of [1, -1]) {
    const cx = section.midX + side * arm.dx;
    const cy = arm.cy;
    fillEllipse(grid, labels, cx, cy, arm.rx, arm.ry, TISSUE.SKIN, { only: ONLY_AIR });
    fillEllipse(grid, labels, cx, cy, arm.rx - 2.5, arm.ry - 2.5, TISSUE.FAT_SUBCUTANEOUS, { only: ONLY_SKIN });
    fillEllipse(grid, labels, cx, cy, arm.rx - fat, arm.ry - fat, TISSUE.MUSCLE_ARM, { only: ONLY_FAT });
    const bones: Array<[number, number, number]> =
      forearm < 0.5 ? [[cx, cy + 2, 11 * s]] : [[cx - side * 8 * s, cy - 6 * s, 6.5 * s], [cx + side * 6 * s, cy + 8 * s, 6 * s]];
    for (const [bx, by, r] of bones) {
      fillCapsule(grid, labels, bx, by, bx, by, r, TISSUE.BONE_CORTICAL, { only: ONLY_ARM_MUSCLE });
      fillCapsule(grid, labels, bx, by, bx, by, r * 0.55, TISSUE.MARROW_FATTY, { only: ONLY_CORTEX });
    }
  }
}

/** A carbon-fibre cradle: dense shell round a foam core, straight along z. */
export function paintTable(anatomy: Anatomy, grid: Grid, labels: Uint8Array): void {
  const side = anatomy.tableSide;
  const top = anatomy.tableTopMm;
  const rise = TABLE_CURVATURE * TABLE_HALF_WIDTH_MM * TABLE_HALF_WIDTH_MM;
  const yA = top - side * rise;
  const yB = top + side * TABLE_THICKNESS_MM;
  const [r0, r1] = indexRange(grid.y0, grid.dy, grid.ny, Math.min(yA, yB), Math.max(yA, yB));
  const [c0, c1] = indexRange(grid.x0, grid.dx, grid.nx, -TABLE_HALF_WIDTH_MM, TABLE_HALF_WIDTH_MM);
  for (let r = r0; r <= r1; r++) {
    const y = grid.y0 + r * grid.dy;
    const base = r * grid.nx;
    for (let c = c0; c <= c1; c++) {
      const i = base + c;
      if (labels[i] !== TISSUE.AIR) continue;
      const x = grid.x0 + c * grid.dx;
      // Depth into the table measured away from the patient.
      const depth = side * (y - (top - side * TABLE_CURVATURE * x * x));
      if (depth < 0 || depth > TABLE_THICKNESS_MM) continue;
      labels[i] = depth < TABLE_SHELL_MM || depth > TABLE_THICKNESS_MM - TABLE_SHELL_MM ? TISSUE.TABLE_SHELL : TISSUE.TABLE_CORE;
    }
  }
}
