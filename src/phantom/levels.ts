/**
 * The vertebral column along z: which vertebra (or disc) is where. Heights grow down the spine as
 * in adults (T1 body ≈ 15 mm, L5 ≈ 28 mm; discs ≈ 4 mm high at the top, ≈ 10 mm at L5/S1), with
 * small seeded per-level variation. The continuous "level coordinate" u (u = k at the mid-body of
 * the k-th vertebra, T1 = 0) lets every other structure be described by vertebral level rather
 * than millimetres, so anatomy stays in register when heights vary.
 */
import { createRng } from './random.ts';

export const VERTEBRA_NAMES = [
  'T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8', 'T9', 'T10', 'T11', 'T12',
  'L1', 'L2', 'L3', 'L4', 'L5', 'S1',
] as const;

export type VertebraName = (typeof VERTEBRA_NAMES)[number];

export const T12_INDEX = 11;
export const L1_INDEX = 12;
export const S1_INDEX = 17;

export interface Vertebra {
  name: VertebraName;
  index: number;
  /** Body extent along patient z (mm, LPS: larger is superior). */
  inferiorMm: number;
  superiorMm: number;
  midMm: number;
  heightMm: number;
  /** Ribs articulate with this vertebra. */
  bearsRibs: boolean;
}

export interface Disc {
  /** Vertebrae above (superior) and below (inferior) the disc. */
  above: VertebraName;
  below: VertebraName;
  inferiorMm: number;
  superiorMm: number;
}

export interface Spine {
  vertebrae: Vertebra[];
  discs: Disc[];
  /** z (mm) → level coordinate u. */
  levelAt(z: number): number;
  /** Level coordinate u → z (mm). */
  zAtLevel(u: number): number;
}

export function isVertebraName(value: unknown): value is VertebraName {
  return typeof value === 'string' && (VERTEBRA_NAMES as readonly string[]).includes(value);
}

/** Vertebrae that carry a rib pair for a given count of pairs (12 is normal; 11 and 13 are anomalies). */
export function ribBearing(index: number, ribPairs: number): boolean {
  return index < ribPairs;
}

export interface SpineParams {
  seed: number;
  /** Patient height / 1.75 m: scales heights. */
  heightScale: number;
  /** z of the superior endplate of T1. */
  anchorMm: number;
  ribPairs: number;
}

export function buildSpine(params: SpineParams): Spine {
  const rng = createRng(params.seed ^ 0x5b1e);
  const count = VERTEBRA_NAMES.length;
  const vertebrae: Vertebra[] = [];
  const discs: Disc[] = [];
  let top = params.anchorMm;
  for (let i = 0; i < count; i++) {
    const jitter = 1 + rng.range(-0.04, 0.04);
    const height = (i === 17 ? 30 : 15 + (13 * i) / 16) * params.heightScale * jitter;
    const inferior = top - height;
    vertebrae.push({
      name: VERTEBRA_NAMES[i],
      index: i,
      inferiorMm: round3(inferior),
      superiorMm: round3(top),
      midMm: round3(top - height / 2),
      heightMm: round3(height),
      bearsRibs: ribBearing(i, params.ribPairs),
    });
    if (i < count - 1) {
      const disc = (4 + (6 * i) / 16) * params.heightScale * (1 + rng.range(-0.05, 0.05));
      discs.push({ above: VERTEBRA_NAMES[i], below: VERTEBRA_NAMES[i + 1], superiorMm: round3(inferior), inferiorMm: round3(inferior - disc) });
      top = inferior - disc;
    }
  }
  const mids = vertebrae.map((v) => v.midMm);
  // Mid-body z decreases with u; beyond the ends extrapolate with the end spacing.
  const levelAt = (z: number): number => {
    if (z >= mids[0]) return -(z - mids[0]) / (mids[0] - mids[1]);
    for (let k = 0; k < count - 1; k++) {
      if (z >= mids[k + 1]) return k + (mids[k] - z) / (mids[k] - mids[k + 1]);
    }
    return count - 1 + (mids[count - 1] - z) / (mids[count - 2] - mids[count - 1]);
  };
  const zAtLevel = (u: number): number => {
    if (u <= 0) return mids[0] - u * (mids[0] - mids[1]);
    if (u >= count - 1) return mids[count - 1] - (u - (count - 1)) * (mids[count - 2] - mids[count - 1]);
    const k = Math.floor(u);
    return mids[k] - (u - k) * (mids[k] - mids[k + 1]);
  };
  return { vertebrae, discs, levelAt, zAtLevel };
}

export type SpinePart =
  | { kind: 'body'; vertebra: Vertebra }
  | { kind: 'disc'; disc: Disc; upper: Vertebra; lower: Vertebra }
  | { kind: 'none' };

/** What the spine is at height z: a vertebral body, a disc, or nothing modelled (above T1, below S1). */
export function spinePartAt(spine: Spine, z: number): SpinePart {
  const { vertebrae } = spine;
  for (let i = 0; i < vertebrae.length; i++) {
    const v = vertebrae[i];
    if (z <= v.superiorMm && z >= v.inferiorMm) return { kind: 'body', vertebra: v };
    if (i + 1 < vertebrae.length && z < v.inferiorMm && z > vertebrae[i + 1].superiorMm) {
      return { kind: 'disc', disc: spine.discs[i], upper: v, lower: vertebrae[i + 1] };
    }
  }
  return { kind: 'none' };
}

/** "T12", "T12/L1" (disc) or null: a label for what a slice at z cuts. */
export function spineLabelAt(spine: Spine, z: number): string | null {
  const part = spinePartAt(spine, z);
  if (part.kind === 'body') return part.vertebra.name;
  if (part.kind === 'disc') return `${part.upper.name}/${part.lower.name}`;
  return null;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
