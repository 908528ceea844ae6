/**
 * Body wall and trunk muscles at one height: skin, subcutaneous fat, the muscle wall (chest wall
 * or abdominal wall), the erector spinae either side of the spine, quadratus lumborum and psoas
 * at lumbar levels, and small fat deposits inside those muscles (which the muscle truth excludes).
 */
import type { Anatomy } from './anatomy.ts';
import { clamp, extent } from './interp.ts';
import { eggPoint, fillEgg, fillEllipse, type Grid } from './raster.ts';
import type { Section } from './section.ts';
import { labelSet, TISSUE } from './tissues.ts';

const ONLY_ERECTOR = labelSet(TISSUE.MUSCLE_PARASPINAL);
const ONLY_WALL = labelSet(TISSUE.MUSCLE_WALL);
const ONLY_PSOAS = labelSet(TISSUE.MUSCLE_PSOAS);
/** Organs that lie against the posterior abdominal wall: a fat plane (perirenal fat, fascia) always separates them from its muscles. */
const POSTERIOR_ORGANS = labelSet(TISSUE.KIDNEY, TISSUE.LIVER, TISSUE.SPLEEN);
/** Width of that fat plane (mm). */
const FAT_PLANE_MM = 5;

export function paintTrunk(section: Section, grid: Grid, labels: Uint8Array): void {
  fillEgg(grid, labels, section.skin, TISSUE.SKIN);
  fillEgg(grid, labels, section.fat, TISSUE.FAT_SUBCUTANEOUS);
  fillEgg(grid, labels, section.muscle, TISSUE.MUSCLE_WALL);
  fillEgg(grid, labels, section.cavity, TISSUE.FAT_VISCERAL);
}

/** Psoas (per side at midX ± dx), from T12/L1 growing to its full size by L3–L4; null above. */
export function psoasAt(anatomy: Anatomy, section: Section): { dx: number; cy: number; rx: number; ry: number } | null {
  const { u } = section;
  const r = clamp((u - 11.3) * 7, 0, 20) * anatomy.sizeScale;
  if (r < 1.5) return null;
  const sp = section.spine;
  return { dx: sp.bodyRx + 0.7 * r + 2, cy: sp.bodyY - 2 - Math.max(0, u - 13) * 6, rx: 0.85 * r, ry: r };
}

export function paintBackMuscles(anatomy: Anatomy, section: Section, grid: Grid, labels: Uint8Array): void {
  const { midX, erector: es } = section;
  const s = anatomy.sizeScale;
  const ql = extent(section.u, 11.8, 13.5, 15.8);
  const psoas = psoasAt(anatomy, section);
  // Quadratus lumborum and psoas, each inside its own fat plane where an organ lies against it.
  const muscle = (x: number, y: number, rx: number, ry: number, label: number) => {
    fillEllipse(grid, labels, x, y, rx + FAT_PLANE_MM, ry + FAT_PLANE_MM, TISSUE.FAT_VISCERAL, { only: POSTERIOR_ORGANS });
    fillEllipse(grid, labels, x, y, rx, ry, label);
  };
  for (const side of [1, -1]) {
    if (ql > 0) muscle(midX + side * (es.dx + es.rx + 8 * s), section.spine.canalY + 2, 15 * ql * s, 9 * ql * s, TISSUE.MUSCLE_OTHER);
    fillEllipse(grid, labels, midX + side * es.dx, es.cy, es.rx, es.ry, TISSUE.MUSCLE_PARASPINAL);
    if (psoas) muscle(midX + side * psoas.dx, psoas.cy, psoas.rx, psoas.ry, TISSUE.MUSCLE_PSOAS);
  }
}

export function paintFatBlobs(anatomy: Anatomy, section: Section, grid: Grid, labels: Uint8Array): void {
  const { z, midX, erector: es } = section;
  const psoas = psoasAt(anatomy, section);
  for (const blob of anatomy.fatBlobs) {
    const dz = (z - blob.zMm) / blob.halfHeightMm;
    if (dz <= -1 || dz >= 1) continue;
    const r = blob.radiusMm * Math.sqrt(1 - dz * dz);
    const c = Math.cos(blob.angle);
    const sn = Math.sin(blob.angle);
    if (blob.group === 'erector') {
      const x = midX + blob.side * (es.dx + blob.radial * es.rx * c);
      const y = es.cy + blob.radial * es.ry * sn;
      fillEllipse(grid, labels, x, y, r * blob.stretch, r, TISSUE.FAT_INTRAMUSCULAR, { only: ONLY_ERECTOR });
    } else if (blob.group === 'wall') {
      const theta = 0.15 + (blob.angle / (2 * Math.PI)) * (Math.PI - 0.25);
      const [ix, iy] = eggPoint(section.cavity, theta, blob.side);
      const [ox, oy] = eggPoint(section.muscle, theta, blob.side);
      const f = blob.radial;
      const radius = (r * (1 + blob.stretch)) / 2;
      fillEllipse(grid, labels, ix + f * (ox - ix), iy + f * (oy - iy), radius, radius, TISSUE.FAT_INTRAMUSCULAR, { only: ONLY_WALL });
    } else if (psoas) {
      const x = midX + blob.side * (psoas.dx + blob.radial * psoas.rx * c);
      const y = psoas.cy + blob.radial * psoas.ry * sn;
      fillEllipse(grid, labels, x, y, r, r, TISSUE.FAT_INTRAMUSCULAR, { only: ONLY_PSOAS });
    }
  }
}
