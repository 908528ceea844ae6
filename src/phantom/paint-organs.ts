/**
 * Contents of the chest and abdomen at one height. Lungs fill the chest cavity above the
 * diaphragm (two domes, lowest at the back, so the posterior lung bases reach about T12 while the
 * liver dome rises to about T9); below it lie liver (right), spleen (left), stomach, pancreas,
 * kidneys (about T12–L3), bowel. The aorta runs left of the spine in the chest and in front of it,
 * slightly left, in the abdomen; the inferior vena cava to the right. Organs paint only over
 * visceral fat, so they never cut into the wall, the spine or each other unless meant to.
 */
import type { Anatomy } from './anatomy.ts';
import { clamp, extent, profile } from './interp.ts';
import { eggContains, fillCapsule, fillCircle, fillEgg, fillEllipse, insetEgg, type Grid } from './raster.ts';
import type { Section } from './section.ts';
import { labelSet, TISSUE } from './tissues.ts';

const ONLY_VISCERAL = labelSet(TISSUE.FAT_VISCERAL);
const ONLY_LUNG = labelSet(TISSUE.LUNG);
const ONLY_WALL = labelSet(TISSUE.BOWEL_WALL);
const ONLY_STOOL = labelSet(TISSUE.STOOL);
const ONLY_KIDNEY = labelSet(TISSUE.KIDNEY);
const ONLY_FLUID = labelSet(TISSUE.FLUID);
const MEDIASTINAL = labelSet(TISSUE.FAT_VISCERAL, TISSUE.LUNG);
const VESSEL_BED = labelSet(TISSUE.FAT_VISCERAL, TISSUE.LUNG, TISSUE.HEART);
const KIDNEY_BED = labelSet(TISSUE.FAT_VISCERAL, TISSUE.LIVER, TISSUE.SPLEEN);
const GALLBLADDER_BED = labelSet(TISSUE.FAT_VISCERAL, TISSUE.LIVER);
/** The crura lie against the aorta with liver, lung bases and fat around them. */
const CRUS_BED = labelSet(TISSUE.FAT_VISCERAL, TISSUE.LIVER, TISSUE.LUNG);

/** Posterior pararenal fat between the kidney and the wall (mm). */
const PARARENAL_FAT_MM = 5;

const aortaSide = profile([3, 9, 12, 15.5], [24, 24, 12, 8]);
// Depth behind the front of the vertebral body (negative: in front of it).
const aortaDepth = profile([3, 9, 11, 12, 15.5], [0, 0, -6, -13, -13]);
const aortaRadius = profile([3, 9, 12, 15.5], [12.5, 12.5, 11, 10]);
const cavaDepth = profile([8.8, 10, 11.5, 15.5], [-32, -30, -12, -10]);
const esophagusSide = profile([0, 8, 10], [2, 6, 20]);
const esophagusDepth = profile([0, 8, 10], [-6, -6, -20]);

/** Diaphragm height z (mm) under (x, y) at this section: above it lung, below it abdomen. */
export function diaphragm(anatomy: Anatomy, section: Section): (x: number, y: number) => number {
  const s = anatomy.sizeScale;
  const topLeft = anatomy.spine.zAtLevel(9.2);
  const topRight = anatomy.spine.zAtLevel(8.7);
  const base = anatomy.spine.zAtLevel(12.0);
  const { midX } = section;
  const yc = section.muscle.cy - 10;
  return (x: number, y: number): number => {
    const left = x >= midX;
    const top = left ? topLeft : topRight;
    const dx = (x - (midX + (left ? 55 : -55) * s)) / (75 * s);
    const dy = (y - yc) / ((y > yc ? 70 : 140) * s);
    const q = Math.min(dx * dx + dy * dy, 1.15);
    return top - (top - base) * q;
  };
}

export function paintOrgans(anatomy: Anatomy, section: Section, grid: Grid, labels: Uint8Array): void {
  const { z, u, midX: mx, cavity } = section;
  const s = anatomy.sizeScale;
  const cy = section.muscle.cy;
  const sp = section.spine;
  const front = sp.bodyY - sp.bodyRy;
  const zD = diaphragm(anatomy, section);
  const above = (x: number, y: number) => z > zD(x, y);
  const below = (x: number, y: number) => z <= zD(x, y);

  // Chest: lungs, then the mediastinum and heart carved out of them.
  if (u < 12.6) {
    fillEgg(grid, labels, insetEgg(cavity, 1.5), TISSUE.LUNG, { only: ONLY_VISCERAL, where: above });
    const cavityFront = cy - cavity.ryAnt;
    const mediastinum = { cx: mx + 3 * s, cy: sp.bodyY, rx: sp.bodyRx + 10 * s, ryAnt: sp.bodyY - cavityFront, ryPost: sp.bodyRy + 6 * s };
    fillEgg(grid, labels, mediastinum, TISSUE.FAT_VISCERAL, { only: ONLY_LUNG });
    const heart = extent(u, 4.2, 6.8, 9.4);
    if (heart > 0) {
      fillEllipse(grid, labels, mx + 18 * s, cy - 30 * s, 55 * heart * s + 3, 46 * heart * s + 3, TISSUE.FAT_VISCERAL, { only: MEDIASTINAL });
      fillEllipse(grid, labels, mx + 18 * s, cy - 30 * s, 55 * heart * s, 46 * heart * s, TISSUE.HEART, { only: MEDIASTINAL });
    }
  }
  paintAirways(u, mx, front, s, grid, labels);
  paintVessels(u, mx, cy, front, s, grid, labels);

  // Upper abdomen, under the diaphragm.
  // The right lobe tapers to its inferior tip at about L2/L3.
  const liver = Math.pow(extent(u, 8.6, 10.2, 13.6), 1.5);
  if (liver > 0) fillEllipse(grid, labels, mx - 45 * s, cy + 2 * s, 72 * liver * s, 68 * liver * s, TISSUE.LIVER, { only: ONLY_VISCERAL, where: below });
  const leftLobe = extent(u, 8.9, 9.8, 11.6);
  if (leftLobe > 0) fillEllipse(grid, labels, mx + 12 * s, cy - 42 * s, 48 * leftLobe * s, 26 * leftLobe * s, TISSUE.LIVER, { only: ONLY_VISCERAL, where: below });
  const gallbladder = extent(u, 12.0, 12.9, 13.8);
  if (gallbladder > 0) fillEllipse(grid, labels, mx - 42 * s, cy - 40 * s, 13 * gallbladder * s, 17 * gallbladder * s, TISSUE.GALLBLADDER, { only: GALLBLADDER_BED });
  const spleen = extent(u, 9.6, 11.0, 12.6);
  if (spleen > 0) fillEllipse(grid, labels, mx + 78 * s, cy + 38 * s, 26 * spleen * s, 42 * spleen * s, TISSUE.SPLEEN, { only: ONLY_VISCERAL, where: below });
  const stomach = extent(u, 9.0, 10.6, 12.4);
  if (stomach > 0) {
    const scx = mx + 45 * s;
    const scy = cy - 28 * s;
    const rx = 40 * stomach * s;
    const ry = 34 * stomach * s;
    fillEllipse(grid, labels, scx, scy, rx, ry, TISSUE.BOWEL_WALL, { only: ONLY_VISCERAL, where: below });
    fillEllipse(grid, labels, scx, scy, rx - 3, ry - 3, TISSUE.FLUID, { only: ONLY_WALL });
    fillEllipse(grid, labels, scx, scy, rx - 3, ry - 3, TISSUE.GAS, { only: ONLY_FLUID, yMax: scy - 0.4 * ry });
  }
  const pancreas = extent(u, 11.4, 12.2, 13.0);
  if (pancreas > 0) fillCapsule(grid, labels, mx - 28 * s, front - 22 * s, mx + 62 * s, front - 4 * s, 11 * pancreas * s, TISSUE.PANCREAS, { only: ONLY_VISCERAL });
  for (const side of [1, -1]) {
    const kidney = side > 0 ? extent(u, 11.2, 12.7, 14.3) : extent(u, 11.7, 13.2, 14.8);
    if (kidney <= 0) continue;
    const kx = mx + side * (sp.bodyRx + 52 * s);
    const ky = sp.canalY - 14 * s;
    // Pararenal fat always separates the kidney from the muscles of the wall behind and beside it.
    const clear = insetEgg(cavity, PARARENAL_FAT_MM);
    fillEllipse(grid, labels, kx, ky, 24 * kidney * s, 27 * kidney * s, TISSUE.KIDNEY, { only: KIDNEY_BED, where: (x, y) => eggContains(clear, x, y) });
    // Renal sinus fat at the hilum, facing the spine.
    if (kidney > 0.55) fillEllipse(grid, labels, kx - side * 10 * s, ky, 7 * kidney * s, 9 * kidney * s, TISSUE.FAT_VISCERAL, { only: ONLY_KIDNEY });
  }
  paintCrura(u, mx, front, sp.bodyRx, s, grid, labels);
  paintBowel(anatomy, section, grid, labels);
}

/**
 * The diaphragmatic crura: muscular bands from the front of the upper lumbar bodies (right to L3,
 * left to L2) up beside the aorta to the oesophageal hiatus. Muscle by HU, beside the vertebral
 * body like the psoas, but not trunk skeletal muscle: a segmenter must leave them out.
 */
function paintCrura(u: number, mx: number, front: number, bodyRx: number, s: number, grid: Grid, labels: Uint8Array): void {
  for (const side of [1, -1]) {
    const crus = side < 0 ? extent(u, 10.4, 11.8, 14.2) : extent(u, 10.4, 11.6, 13.6);
    if (crus <= 0.2) continue;
    const r = 4.5 * crus * s;
    fillCapsule(grid, labels, mx + side * 0.75 * bodyRx, front + 3 * s, mx + side * 0.45 * bodyRx, front - 16 * s, r, TISSUE.CRUS, { only: CRUS_BED });
  }
}

function paintAirways(u: number, mx: number, front: number, s: number, grid: Grid, labels: Uint8Array): void {
  if (u < 4.4) {
    fillCircle(grid, labels, mx, front - 18 * s, 9 * s, TISSUE.BOWEL_WALL, { only: MEDIASTINAL });
    fillCircle(grid, labels, mx, front - 18 * s, 7 * s, TISSUE.GAS, { only: ONLY_WALL });
  } else if (u < 5.6) {
    const spread = (8 + 22 * (u - 4.4)) * s;
    for (const side of [1, -1]) {
      fillCircle(grid, labels, mx + side * spread, front - 16 * s, 6 * s, TISSUE.BOWEL_WALL, { only: MEDIASTINAL });
      fillCircle(grid, labels, mx + side * spread, front - 16 * s, 4.5 * s, TISSUE.GAS, { only: ONLY_WALL });
    }
  }
  if (u < 10.2) {
    const ex = mx + esophagusSide(u) * s;
    const ey = front + esophagusDepth(u) * s;
    fillCircle(grid, labels, ex, ey, 7 * s, TISSUE.BOWEL_WALL, { only: MEDIASTINAL });
    if (u < 9) fillCircle(grid, labels, ex, ey, 1.8 * s, TISSUE.GAS, { only: ONLY_WALL });
  }
}

function paintVessels(u: number, mx: number, cy: number, front: number, s: number, grid: Grid, labels: Uint8Array): void {
  const ascendingX = mx - 6 * s;
  const ascendingY = cy - 42 * s;
  if (u >= 2.8 && u <= 5.8) fillCircle(grid, labels, ascendingX, ascendingY, 15 * s, TISSUE.AORTA, { only: VESSEL_BED });
  if (u >= 2.4 && u <= 15.6) {
    const ax = mx + aortaSide(u) * s;
    const ay = front + aortaDepth(u) * s;
    const r = aortaRadius(u) * s;
    if (u <= 3.4) fillCapsule(grid, labels, ascendingX, ascendingY, ax, ay, 13 * s, TISSUE.AORTA, { only: VESSEL_BED });
    else fillCircle(grid, labels, ax, ay, r, TISSUE.AORTA, { only: VESSEL_BED });
  } else if (u > 15.6 && u < 19) {
    for (const side of [1, -1]) fillCircle(grid, labels, mx + side * (10 + (u - 15.6) * 20) * s, front - 8 * s, 7 * s, TISSUE.AORTA, { only: VESSEL_BED });
  }
  if (u >= 8.8 && u <= 15.7) {
    fillEllipse(grid, labels, mx - 21 * s, front + cavaDepth(u) * s, 12 * s, 9 * s, TISSUE.VEIN, { only: VESSEL_BED });
  } else if (u > 15.7 && u < 19) {
    for (const side of [1, -1]) fillCircle(grid, labels, mx + side * (10 + (u - 15.7) * 20) * s, front - 1 * s, 7.5 * s, TISSUE.VEIN, { only: VESSEL_BED });
  }
}

function paintColonSegment(grid: Grid, labels: Uint8Array, ax: number, ay: number, bx: number, by: number, r: number): void {
  if (r < 2) return;
  fillCapsule(grid, labels, ax, ay, bx, by, r, TISSUE.BOWEL_WALL, { only: ONLY_VISCERAL });
  fillCapsule(grid, labels, ax, ay, bx, by, r - 2.5, TISSUE.STOOL, { only: ONLY_WALL });
  // Gas rises to the front in a supine patient; the anatomy is kept the same in every position.
  fillCapsule(grid, labels, ax, ay - 0.35 * r, bx, by - 0.35 * r, 0.45 * r, TISSUE.GAS, { only: ONLY_STOOL });
}

function paintBowel(anatomy: Anatomy, section: Section, grid: Grid, labels: Uint8Array): void {
  const { u, z, midX: mx, cavity } = section;
  const s = anatomy.sizeScale;
  const cy = section.muscle.cy;
  if (u > 13.0) {
    const r = 22 * s * clamp((u - 13.0) / 0.5, 0, 1);
    const x = mx - (cavity.rx - 26 * s);
    paintColonSegment(grid, labels, x, cy - 5 * s, x, cy - 5 * s, r);
  }
  if (u > 11.8) {
    const r = 17 * s * clamp((u - 11.8) / 0.5, 0, 1);
    const x = mx + (cavity.rx - 22 * s);
    paintColonSegment(grid, labels, x, cy + 15 * s, x, cy + 15 * s, r);
  }
  const transverse = extent(u, 12.4, 12.9, 13.5);
  if (transverse > 0) paintColonSegment(grid, labels, mx - 70 * s, cy - 45 * s, mx + 70 * s, cy - 50 * s, 16 * transverse * s);
  for (const loop of anatomy.bowelLoops) {
    if (u < loop.uTop || u > loop.uBottom) continue;
    const r = loop.radiusMm * s * clamp((u - loop.uTop) / 0.4, 0, 1);
    if (r < 2.5) continue;
    const w = (2 * Math.PI * z) / loop.periodMm + loop.phase;
    const x = mx + loop.x * s + 10 * Math.sin(w);
    const y = cy + loop.y * s + 8 * Math.cos(w);
    fillCircle(grid, labels, x, y, r, TISSUE.BOWEL_WALL, { only: ONLY_VISCERAL });
    fillCircle(grid, labels, x, y, r - 2.5, loop.gas ? TISSUE.GAS : TISSUE.FLUID, { only: ONLY_WALL });
  }
}
