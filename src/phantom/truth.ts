/**
 * Ground truth of a phantom series, as JSON-ready data: the spine's levels along z, which slice
 * is nearest the T12 mid-body, and the skeletal-muscle mask and area there. Masks travel as
 * run-length codes so truth.json stays small next to the images.
 */
import type { VertebraName } from './levels.ts';
import type { PatientPosition } from './options.ts';

export interface VertebraTruth {
  name: VertebraName;
  /** Body extent along patient z (mm; larger is superior). */
  bodyInferiorMm: number;
  bodySuperiorMm: number;
  midBodyMm: number;
  bearsRibs: boolean;
  /** Index (inferior → superior) of the slice nearest the mid-body, or null when outside the series. */
  nearestSliceIndex: number | null;
}

export interface DiscTruth {
  above: VertebraName;
  below: VertebraName;
  inferiorMm: number;
  superiorMm: number;
}

/** Run-length code of a 0/1 mask in row-major order of the stored pixel grid: alternating run lengths, zeros first. */
export interface MaskRle {
  rows: number;
  columns: number;
  runs: number[];
}

export interface SliceTruth {
  /** Index in inferior → superior order. */
  index: number;
  instanceNumber: number;
  sopInstanceUid: string;
  zMm: number;
  /** What the slice cuts at the spine: 'T12', 'T12/L1' (disc) or null. */
  spineLevel: string | null;
  /** Trunk skeletal-muscle area (cm²); null in a plan's truth until the slice is generated. */
  muscleAreaCm2: number | null;
  fileName?: string;
  muscleMask?: MaskRle;
}

export interface T12Truth {
  bodyInferiorMm: number;
  bodySuperiorMm: number;
  midBodyMm: number;
  /** Nearest slice to the mid-body (index inferior → superior), or all null when the series misses it. */
  sliceIndex: number | null;
  instanceNumber: number | null;
  sopInstanceUid: string | null;
  zMm: number | null;
  muscleAreaCm2: number | null;
  muscleMask: MaskRle | null;
}

export interface PhantomTruth {
  format: 'ct-muscle-node/phantom-truth';
  version: 1;
  seed: number;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  patientPosition: PatientPosition;
  rows: number;
  columns: number;
  /** [row spacing, column spacing] in mm. */
  pixelSpacingMm: [number, number];
  sliceThicknessMm: number;
  sliceSpacingMm: number;
  sliceCount: number;
  /** z of the first (most inferior) and last slice. */
  zRangeMm: [number, number];
  ribPairs: number;
  /** The lowest vertebra with ribs: T12 normally, T11 with 11 pairs, L1 with 13. */
  lowestRibBearing: VertebraName;
  contrast: boolean;
  arms: boolean;
  table: boolean;
  vertebrae: VertebraTruth[];
  discs: DiscTruth[];
  t12: T12Truth;
  /** Inferior → superior. */
  slices: SliceTruth[];
}

export function encodeMaskRle(mask: Uint8Array, rows: number, columns: number): MaskRle {
  const runs: number[] = [];
  let current = 0;
  let length = 0;
  for (let i = 0; i < mask.length; i++) {
    const value = mask[i] ? 1 : 0;
    if (value === current) {
      length++;
    } else {
      runs.push(length);
      current = value;
      length = 1;
    }
  }
  runs.push(length);
  return { rows, columns, runs };
}

export function decodeMaskRle(rle: MaskRle): Uint8Array {
  const mask = new Uint8Array(rle.rows * rle.columns);
  let offset = 0;
  let value = 0;
  for (const run of rle.runs) {
    if (value) mask.fill(1, offset, offset + run);
    offset += run;
    value ^= 1;
  }
  if (offset !== mask.length) throw new Error(`mask RLE covers ${offset} pixels, expected ${mask.length}`);
  return mask;
}
