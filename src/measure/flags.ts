/**
 * Review flags beyond the measurement's own (area range, image edge: see muscle.ts): arms in the
 * field of view, a fallback prompt, disagreement between the model and the anatomic cross-check,
 * an implausible height. Flags never change the numbers; they tell a reader where to look.
 * Same style as muscle.ts: 'code: explanation'.
 */

export interface PlausibilityConfig {
  /** Expected T12 skeletal muscle area range in cm² (default 40–300). */
  areaRangeCm2?: [number, number];
  /** Dice below this between the model and the anatomic cross-check raises a flag (default 0.7). */
  minAgreementDice?: number;
  /** Relative area difference above this between them raises a flag (default 0.2). */
  maxAreaDifference?: number;
}

export const DEFAULT_PLAUSIBILITY: Required<PlausibilityConfig> = { areaRangeCm2: [40, 300], minAgreementDice: 0.7, maxAreaDifference: 0.2 };

/** PatientSize outside this range (metres) is treated as absent: a typo or centimetres, never guessed. */
export const PLAUSIBLE_HEIGHT_M: readonly [number, number] = [0.5, 2.5];

export function plausibleHeight(heightM: number | null | undefined): number | undefined {
  if (typeof heightM !== 'number' || !Number.isFinite(heightM)) return undefined;
  return heightM >= PLAUSIBLE_HEIGHT_M[0] && heightM <= PLAUSIBLE_HEIGHT_M[1] ? heightM : undefined;
}

export function dice(a: Uint8Array, b: Uint8Array): number | null {
  let inter = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    na += a[i];
    nb += b[i];
    inter += a[i] & b[i];
  }
  return na + nb === 0 ? null : (2 * inter) / (na + nb);
}

export interface ExtraFlagInput {
  armPixels?: number;
  pixelSpacingMm: [number, number];
  promptSource?: string;
  crossCheck?: { dice: number | null; areaDifference: number | null } | null;
  heightGiven: boolean;
  heightUsable: boolean;
  config?: PlausibilityConfig;
}

export function extraFlags(input: ExtraFlagInput): string[] {
  const config = { ...DEFAULT_PLAUSIBILITY, ...input.config };
  const flags: string[] = [];
  if ((input.armPixels ?? 0) > 0) {
    const cm2 = ((input.armPixels ?? 0) * input.pixelSpacingMm[0] * input.pixelSpacingMm[1]) / 100;
    flags.push(`arms-in-view: ${cm2.toFixed(0)} cm² of arm beside the trunk (excluded from the mask)`);
  }
  if (input.promptSource === 'fallback-muscle-hu') flags.push('fallback-prompt: no detector box; the box around the muscle/fat-range pixels was used');
  const cc = input.crossCheck;
  if (cc && ((cc.dice !== null && cc.dice < config.minAgreementDice) || (cc.areaDifference !== null && cc.areaDifference > config.maxAreaDifference))) {
    flags.push(`segmenter-disagreement: Dice ${cc.dice === null ? 'n/a' : cc.dice.toFixed(2)} and area difference ${cc.areaDifference === null ? 'n/a' : (cc.areaDifference * 100).toFixed(0)}% against the anatomic segmenter`);
  }
  if (input.heightGiven && !input.heightUsable) flags.push(`height-implausible: PatientSize outside ${PLAUSIBLE_HEIGHT_M[0]}–${PLAUSIBLE_HEIGHT_M[1]} m; no muscle index`);
  return flags;
}
