/**
 * Measurements of a skeletal-muscle mask on its native CT grid: area (SMA), attenuation (SMRA:
 * mean and SD), intermuscular fat (IMAT), the low-attenuation share, and the muscle index (SMI)
 * when the patient's height is known. Pure functions of the mask, the HU and the pixel spacing.
 * Areas are pixel count × row spacing × column spacing / 100 (cm²): never resampled, never
 * multiplied by slice thickness.
 */
import { fillHoles } from '../image/morphology.ts';
import { IMAT_HU, LOW_ATTENUATION_HU, type MuscleMeasurements } from '../model/index.ts';

export interface MeasureInput {
  mask: Uint8Array;
  hu: ArrayLike<number>;
  rows: number;
  columns: number;
  /** [row spacing, column spacing] in mm (PixelSpacing order). */
  pixelSpacingMm: [number, number];
  /** The muscle region before the HU rule (where intermuscular fat is counted); default: the mask with its holes filled. */
  envelope?: Uint8Array;
  heightM?: number;
}

/** The measurements, or null for an empty mask (nothing to measure: the slice is reported not measurable). */
export function measureMuscle(input: MeasureInput): MuscleMeasurements | null {
  const { mask, hu, rows, columns, pixelSpacingMm } = input;
  const pixelAreaCm2 = (pixelSpacingMm[0] * pixelSpacingMm[1]) / 100;
  let count = 0;
  let sum = 0;
  let sumSquares = 0;
  let low = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const v = hu[i];
    count++;
    sum += v;
    sumSquares += v * v;
    if (v >= LOW_ATTENUATION_HU[0] && v <= LOW_ATTENUATION_HU[1]) low++;
  }
  if (count === 0) return null;
  const envelope = input.envelope ?? fillHoles(mask, rows, columns);
  let fat = 0;
  for (let i = 0; i < envelope.length; i++) {
    if (envelope[i] && !mask[i] && hu[i] >= IMAT_HU[0] && hu[i] <= IMAT_HU[1]) fat++;
  }
  const mean = sum / count;
  // Population SD of the pixel values; max(0, …) guards rounding below zero for constant HU.
  const sd = Math.sqrt(Math.max(0, sumSquares / count - mean * mean));
  const areaCm2 = count * pixelAreaCm2;
  const height = input.heightM;
  return {
    areaCm2,
    meanHu: mean,
    sdHu: sd,
    imatAreaCm2: fat * pixelAreaCm2,
    lowAttenuationFraction: low / count,
    smiCm2PerM2: height !== undefined && Number.isFinite(height) && height > 0 ? areaCm2 / (height * height) : null,
    pixelCount: count,
  };
}

export interface PlausibilityOptions {
  /** Areas outside this range (cm²) are flagged for review. */
  areaRangeCm2: [number, number];
}

/** Review flags: they never change the numbers, they tell a reader where to look. */
export function plausibilityFlags(input: MeasureInput, measured: MuscleMeasurements | null, options: PlausibilityOptions): string[] {
  if (!measured) return ['empty-mask'];
  const flags: string[] = [];
  if (measured.areaCm2 < options.areaRangeCm2[0] || measured.areaCm2 > options.areaRangeCm2[1]) {
    flags.push(`area-outside-range: ${measured.areaCm2.toFixed(1)} cm² not in ${options.areaRangeCm2[0]}–${options.areaRangeCm2[1]} cm²`);
  }
  const { mask, rows, columns } = input;
  let edge = false;
  for (let c = 0; c < columns && !edge; c++) edge = mask[c] === 1 || mask[(rows - 1) * columns + c] === 1;
  for (let r = 0; r < rows && !edge; r++) edge = mask[r * columns] === 1 || mask[r * columns + columns - 1] === 1;
  if (edge) flags.push('mask-touches-image-edge: the body may extend beyond the field of view');
  return flags;
}
