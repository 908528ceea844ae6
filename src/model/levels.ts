/**
 * Level names and what the level finder and the reports say about the measured slice: the one
 * home of these shapes (the level finder produces them, the pipeline and the reports read them).
 */

/** Vertebral levels the report can name; each has an SCT code from DICOM CID 7603 (codes.ts). */
export const VERTEBRAL_LEVELS = ['T10', 'T11', 'T12', 'L1', 'L2', 'L3', 'L4', 'L5'] as const;
export type VertebralLevelName = (typeof VERTEBRAL_LEVELS)[number];

/** Levels the finder can target (config `level.target`, `--level`, the pipeline): one spelling. */
export const TARGET_LEVELS = ['T12', 'L1', 'L2', 'L3'] as const satisfies readonly VertebralLevelName[];
export type LevelName = (typeof TARGET_LEVELS)[number];

/** How the measured slice was chosen when the level finder chose it. */
export interface FoundLevel {
  name: VertebralLevelName;
  /** Index of the slice in the ordered series (inferior → superior, as planVolume orders it). */
  sliceIndex: number;
  sopInstanceUid: string;
  /** LPS z of the slice (mm). */
  zMm: number;
  /** The rule that picked the slice within the level, e.g. 'mid-vertebral-body'. */
  rule: string;
  /** The method (and its version) that found the level, e.g. 'vertebra-detector 1.0'. */
  method: string;
  /** 0..1, or null when the method gives none. */
  confidence: number | null;
  /** What the level finder saw (vertebrae, discs, anchors); kept in the JSON result, not in DICOM. */
  evidence?: LevelEvidence | null;
  warnings: string[];
}

/** The slice was given by the user (or a test), not found: the SR says so and names no vertebra. */
export interface ProvidedSlice {
  name: 'as-provided';
  sliceIndex?: number;
  sopInstanceUid: string;
  zMm?: number;
  rule?: string;
  method?: string;
  confidence?: number | null;
  warnings: string[];
}

export type LevelInfo = FoundLevel | ProvidedSlice;

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
  name: LevelName | 'as-provided' | 'user-selected';
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

/**
 * The level finder's answer as the reports name it: a found vertebra, or a slice that was given
 * (by a person, or the only slice of the series), which names no vertebra.
 */
export function levelInfoOf(result: LevelResult): LevelInfo {
  if (result.name === 'as-provided' || result.name === 'user-selected') {
    const { sliceIndex, sopInstanceUid, zMm, rule, method, warnings } = result;
    return { name: 'as-provided', sliceIndex, sopInstanceUid, zMm, rule, method, confidence: null, warnings };
  }
  return { ...result, name: result.name };
}
