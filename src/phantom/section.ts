/**
 * The trunk's cross-section at height z as a handful of numbers: the nested outlines (skin, fat,
 * muscle wall, body cavity) and where the spine and the back muscles sit. Everything painted on a
 * slice hangs off these, so they are computed once per slice and never per pixel.
 *
 * Sizes are tabulated by vertebral level (u, T1 = 0 … S1 = 17) for a 1.75 m, 75 kg adult and
 * scaled: the skeleton and muscles with height, the fat with body-mass index. The spine is placed
 * from the back: the erector spinae fill the space between the posterior muscle outline and the
 * laminae, which puts the thoracic spine further back than the lumbar spine, as kyphosis and
 * lordosis do.
 */
import { clamp, profile, smoothstep } from './interp.ts';
import type { Spine } from './levels.ts';
import type { Egg } from './raster.ts';

export interface BodyPlan {
  spine: Spine;
  /** In-plane scale of skeleton and muscle (height-driven, seeded ±3 %). */
  sizeScale: number;
  /** Subcutaneous fat thickness relative to a BMI-24.5 adult. */
  fatScale: number;
  /** Extra visceral fat (mm) pushing the abdominal wall outward. */
  visceralMm: number;
  /** Body centre in the axial plane (mm): near, not at, the isocentre, as patients lie. */
  centerX: number;
  centerY: number;
}

export interface SpineSection {
  /** Vertebral body centre y and half-axes (the shape at this level; whether bone is there depends on z). */
  bodyY: number;
  bodyRx: number;
  bodyRy: number;
  /** Posterior wall of the body (it is flattened there). */
  bodyBackY: number;
  canalY: number;
  canalRx: number;
  canalRy: number;
}

export interface Section {
  z: number;
  u: number;
  /** x of the midsagittal plane (spine, sternum). */
  midX: number;
  skin: Egg;
  /** Inner edge of the skin = outer edge of subcutaneous fat. */
  fat: Egg;
  /** Outer edge of the muscle wall. */
  muscle: Egg;
  /** Inner edge of the muscle wall: the chest or abdominal cavity. */
  cavity: Egg;
  spine: SpineSection;
  /** Erector spinae: centre at midX ± dx, cy. */
  erector: { dx: number; cy: number; rx: number; ry: number };
}

const KNOTS = [-2, 0, 3, 6, 8.5, 11, 13, 14.5, 16, 17, 19];
const muscleHalfWidth = profile(KNOTS, [112, 115, 126, 130, 130, 127, 124, 124, 128, 132, 135]);
const muscleAnterior = profile(KNOTS, [62, 66, 80, 88, 90, 88, 86, 86, 84, 82, 80]);
const musclePosterior = profile(KNOTS, [78, 80, 85, 86, 85, 82, 80, 80, 82, 84, 84]);
// Pectoral muscles make the upper anterior wall thick; below the xiphoid it is rectus abdominis.
const wallAnterior = profile(KNOTS, [22, 20, 18, 12, 10, 10, 12, 12, 12, 12, 12]);
const wallLateral = profile(KNOTS, [14, 14, 15, 16, 16, 15, 14, 14, 13, 12, 12]);
const wallPosterior = profile(KNOTS, [16, 16, 16, 15, 14, 13, 12, 12, 12, 12, 12]);
const fatAnterior = profile(KNOTS, [8, 8, 10, 12, 14, 17, 20, 21, 20, 18, 16]);
const fatLateral = profile(KNOTS, [8, 8, 9, 10, 12, 15, 18, 19, 20, 20, 20]);
const fatPosterior = profile(KNOTS, [8, 8, 9, 10, 11, 12, 14, 14, 15, 16, 16]);
const erectorRx = profile(KNOTS, [14, 15, 18, 20, 22, 24, 26, 27, 26, 24, 20]);
const erectorRy = profile(KNOTS, [13, 14, 16, 17, 18, 19, 21, 22, 23, 22, 18]);

export const SKIN_MM = 2.5;

export function sectionAt(plan: BodyPlan, z: number): Section {
  const u = plan.spine.levelAt(z);
  const s = plan.sizeScale;
  const f = plan.fatScale;
  const abdominal = smoothstep(8, 10.5, u);
  const vf = plan.visceralMm * abdominal;
  const cx = plan.centerX;
  const cy = plan.centerY;
  const muscle: Egg = { cx, cy, rx: muscleHalfWidth(u) * s + 0.6 * vf, ryAnt: muscleAnterior(u) * s + vf, ryPost: musclePosterior(u) * s };
  const cavity: Egg = {
    cx,
    cy,
    rx: muscle.rx - wallLateral(u) * s,
    ryAnt: muscle.ryAnt - wallAnterior(u) * s,
    ryPost: muscle.ryPost - wallPosterior(u) * s,
  };
  const fat: Egg = { cx, cy, rx: muscle.rx + fatLateral(u) * f, ryAnt: muscle.ryAnt + fatAnterior(u) * f, ryPost: muscle.ryPost + fatPosterior(u) * f };
  const skin: Egg = { cx, cy, rx: fat.rx + SKIN_MM, ryAnt: fat.ryAnt + SKIN_MM, ryPost: fat.ryPost + SKIN_MM };

  const us = clamp(u, 0, 17);
  const bodyRx = (u >= 16.5 ? 26 : 14 + (11 * Math.min(us, 16)) / 16) * s;
  const bodyRy = (9 + (8 * Math.min(us, 16)) / 16 + (u >= 16.5 ? 1 : 0)) * s;
  const lumbar = smoothstep(10, 13, u);
  const canalRx = (8 + 3 * lumbar) * s;
  const canalRy = (7.5 + 1 * lumbar) * s;
  const esRx = erectorRx(u) * s;
  const esRy = erectorRy(u) * s;
  const canalY = cy + muscle.ryPost - 1 - 1.95 * esRy;
  const bodyBackY = canalY - canalRy - 1;
  const bodyY = bodyBackY - 0.8 * bodyRy;
  return {
    z,
    u,
    midX: cx,
    skin,
    fat,
    muscle,
    cavity,
    spine: { bodyY, bodyRx, bodyRy, bodyBackY, canalY, canalRx, canalRy },
    erector: { dx: canalRx + 0.85 * esRx + 1, cy: canalY + 0.95 * esRy, rx: esRx, ry: esRy },
  };
}
