/**
 * The HU ranges of the method, each defined once (inclusive bounds):
 * skeletal muscle −29..150 (after any segmenter, and what the reports state), intermuscular fat
 * (IMAT) −190..−30, low-attenuation muscle −29..29, the models' display window −200..200, and the
 * muscle-or-fat range −190..150 that the fallback prompt box is drawn around.
 */
import type { HuWindow } from './measurements.ts';

export type HuRange = readonly [lower: number, upper: number];

export const MUSCLE_HU: HuRange = [-29, 150];
export const FAT_HU: HuRange = [-190, -30];
/** IMAT is fat between the muscles: the same range as fat. */
export const IMAT_HU: HuRange = FAT_HU;
export const LOW_ATTENUATION_HU: HuRange = [-29, 29];
export const MODEL_WINDOW_HU: HuRange = [-200, 200];
export const MUSCLE_OR_FAT_HU: HuRange = [FAT_HU[0], MUSCLE_HU[1]];

/** The muscle range as the reports write it ("muscle HU window -29..150"). */
export const MUSCLE_HU_WINDOW: HuWindow = { lowerHu: MUSCLE_HU[0], upperHu: MUSCLE_HU[1] };
