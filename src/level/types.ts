/** Shapes of the level finder's input options and its result (the same object the CLI prints). */

export type TargetLevel = 'T12' | 'L1' | 'L2' | 'L3';

export const TARGET_LEVELS: readonly TargetLevel[] = ['T12', 'L1', 'L2', 'L3'];

export interface LevelOptions {
  /** Vertebra whose mid-body slice is wanted (default 'T12'). */
  target?: TargetLevel;
  /** A slice chosen by a person: returned as is, whatever the image shows. */
  sopInstanceUid?: string;
}

/** A vertebral body found along the column (z in LPS mm, larger = superior). */
export interface VertebraEvidence {
  /** Anatomical name once the column is labelled; null for segments that could not be named. */
  name: string | null;
  inferiorMm: number;
  superiorMm: number;
  /** True when an end of the body is the edge of the field of view rather than a disc. */
  cutInferior: boolean;
  cutSuperior: boolean;
  /** null: not judged (too little of the body's upper part in view). */
  bearsRibs: boolean | null;
  /** Lateral reach (mm from the spinal canal) of bone joined to the costovertebral region, per side. */
  ribReachMm: { left: number; right: number } | null;
  /** Sacral alae beside the body (the fused sacrum). */
  sacral: boolean;
}

export interface LevelEvidence {
  /** Inferior → superior. */
  vertebrae: VertebraEvidence[];
  /** Disc-space centres (mm), inferior → superior. */
  discsMm: number[];
  /** z extent (mm) over which the spinal column was tracked. */
  columnMm: [number, number];
  /** Superior endplate z of the sacrum when found. */
  sacrumTopMm: number | null;
  ribBearingCount: number;
  /** Rib-free vertebrae between the lowest rib-bearing one and the sacrum, when both are in view. */
  lumbarCount: number | null;
  /** How the column was labelled: which anchors agreed. */
  anchors: { ribs: string | null; sacrum: string | null };
  /** Target body z range and the mid-plane the slice was chosen for. */
  targetBodyMm: [number, number] | null;
  targetMidMm: number | null;
  /** Working grid (mm) the images were analysed on. */
  gridMm: number;
}

export interface LevelResult {
  /** The target vertebra, 'as-provided' (single slice) or 'user-selected'. */
  name: TargetLevel | 'as-provided' | 'user-selected';
  sliceIndex: number;
  sopInstanceUid: string;
  zMm: number;
  rule: 'mid-vertebral-body' | 'as-provided' | 'user-selected';
  method: string;
  /** 0..1: how strongly the image supports the answer. */
  confidence: number;
  evidence: LevelEvidence | null;
  warnings: string[];
}
