/**
 * The phantom's anatomy as a model in patient LPS millimetres (x → patient left, y → posterior,
 * z → head). It is built once per series from the options and the seed; slices are then sampled
 * from it at their own positions, so patient position and pixel layout never change the anatomy.
 */
import { clamp } from './interp.ts';
import { buildSpine } from './levels.ts';
import type { ResolvedPhantomOptions } from './options.ts';
import { createRng } from './random.ts';
import { buildRibs, type RibPath } from './ribs.ts';
import { sectionAt, type BodyPlan, type Section } from './section.ts';

/** Small fat deposits inside a muscle group, as ellipsoids placed relative to that muscle's outline. */
export interface FatBlob {
  group: 'erector' | 'wall' | 'psoas';
  side: 1 | -1;
  /** Angle (rad) and radial fraction within the muscle outline. */
  angle: number;
  radial: number;
  zMm: number;
  halfHeightMm: number;
  radiusMm: number;
  /** Elongation in x (streaks along the fibres as seen in the axial plane). */
  stretch: number;
}

/** A small-bowel loop: a tube wandering gently with z. */
export interface BowelLoop {
  x: number;
  y: number;
  radiusMm: number;
  phase: number;
  periodMm: number;
  gas: boolean;
  /** Level range (u) where it lies. */
  uTop: number;
  uBottom: number;
}

export interface Anatomy extends BodyPlan {
  seed: number;
  ribPairs: number;
  arms: boolean;
  table: boolean;
  /** +1: table behind the patient (supine); −1: in front (prone). */
  tableSide: 1 | -1;
  /** y of the table's top surface on the midline. */
  tableTopMm: number;
  ribs: RibPath[];
  fatBlobs: FatBlob[];
  bowelLoops: BowelLoop[];
  heightScale: number;
}

const TABLE_GAP_MM = 3;

export function createAnatomy(options: ResolvedPhantomOptions): Anatomy {
  const rng = createRng(options.seed ^ 0xa7a7);
  const heightScale = options.patient.height / 1.75;
  const bmi = options.patient.weight / (options.patient.height * options.patient.height);
  const spine = buildSpine({ seed: options.seed, heightScale, anchorMm: -120 + rng.range(-15, 15), ribPairs: options.ribPairs });
  const plan: BodyPlan = {
    spine,
    sizeScale: Math.pow(heightScale, 0.6) * (1 + rng.range(-0.03, 0.03)),
    fatScale: clamp((bmi - 16) / 8.5, 0.15, 4) * (1 + rng.range(-0.1, 0.1)),
    visceralMm: clamp((bmi - 24.5) * 3, -5, 40),
    centerX: rng.range(-4, 4),
    centerY: rng.range(-6, 6),
  };
  const tableSide = options.orientation === 'HFP' || options.orientation === 'FFP' ? -1 : 1;
  const anatomy: Anatomy = {
    ...plan,
    seed: options.seed,
    ribPairs: options.ribPairs,
    arms: options.arms,
    table: options.table,
    tableSide,
    tableTopMm: 0,
    ribs: buildRibs(plan, options.ribPairs),
    fatBlobs: makeFatBlobs(plan, options.seed),
    bowelLoops: makeBowelLoops(options.seed),
    heightScale,
  };
  anatomy.tableTopMm = tableTop(anatomy);
  return anatomy;
}

function makeFatBlobs(plan: BodyPlan, seed: number): FatBlob[] {
  const rng = createRng(seed ^ 0xfa7);
  const { vertebrae } = plan.spine;
  const zTop = vertebrae[0].superiorMm + 30;
  const zBottom = vertebrae[vertebrae.length - 1].inferiorMm - 30;
  // More intramuscular fat with more body fat, as in patients.
  const amount = clamp(0.6 + 0.4 * plan.fatScale, 0.5, 2);
  const blobs: FatBlob[] = [];
  const add = (group: FatBlob['group'], count: number, radial: [number, number], radius: [number, number]) => {
    for (let k = 0; k < Math.round(count * amount); k++) {
      blobs.push({
        group,
        side: rng.next() < 0.5 ? -1 : 1,
        angle: rng.range(0, 2 * Math.PI),
        radial: rng.range(radial[0], radial[1]),
        zMm: rng.range(zBottom, zTop),
        halfHeightMm: rng.range(3, 10),
        radiusMm: rng.range(radius[0], radius[1]),
        stretch: rng.range(1, 2.5),
      });
    }
  };
  add('erector', 160, [0.1, 0.8], [1.2, 3]);
  add('wall', 160, [0.2, 0.8], [1, 2.2]);
  add('psoas', 30, [0, 0.6], [1, 2.2]);
  return blobs;
}

function makeBowelLoops(seed: number): BowelLoop[] {
  const rng = createRng(seed ^ 0xb0e1);
  const loops: BowelLoop[] = [];
  for (let k = 0; k < 12; k++) {
    loops.push({
      x: -55 + 110 * ((k % 4) + rng.range(0.1, 0.9)) / 4,
      y: -62 + 45 * (Math.floor(k / 4) % 3 + rng.range(0.1, 0.9)) / 3,
      radiusMm: rng.range(9, 14),
      phase: rng.range(0, 2 * Math.PI),
      periodMm: rng.range(40, 80),
      gas: rng.next() < 0.3,
      uTop: 12.6 + rng.range(0, 1.2),
      uBottom: 19,
    });
  }
  return loops;
}

/** Arm outline at a section: centre and half-axes of the skin (per side, cx mirrored about midX). */
export function armOutline(anatomy: Anatomy, section: Section): { dx: number; cy: number; rx: number; ry: number } {
  const forearm = clamp((section.u - 12.2) / 1.2, 0, 1);
  const fat = Math.sqrt(anatomy.fatScale);
  const rx = (40 - 9 * forearm) * anatomy.sizeScale + 4 * (fat - 1);
  const ry = (44 - 9 * forearm) * anatomy.sizeScale + 4 * (fat - 1);
  return { dx: section.skin.rx + 6 + rx, cy: section.muscle.cy + 8, rx, ry };
}

/** The table touches (to within a few mm) the body's lowest point over the whole modelled trunk. */
function tableTop(anatomy: Anatomy): number {
  const { vertebrae } = anatomy.spine;
  const zTop = vertebrae[0].superiorMm + 60;
  const zBottom = vertebrae[vertebrae.length - 1].inferiorMm - 80;
  let extreme = anatomy.tableSide > 0 ? -Infinity : Infinity;
  for (let z = zBottom; z <= zTop; z += 4) {
    const section = sectionAt(anatomy, z);
    const back = section.skin.cy + section.skin.ryPost;
    const front = section.skin.cy - section.skin.ryAnt;
    let low = anatomy.tableSide > 0 ? back : front;
    if (anatomy.arms) {
      const arm = armOutline(anatomy, section);
      low = anatomy.tableSide > 0 ? Math.max(low, arm.cy + arm.ry) : Math.min(low, arm.cy - arm.ry);
    }
    extreme = anatomy.tableSide > 0 ? Math.max(extreme, low) : Math.min(extreme, low);
  }
  return extreme + anatomy.tableSide * TABLE_GAP_MM;
}
