/**
 * The paper's agreement figures, as pure functions: Dice, area difference, the three grades,
 * Bland–Altman bias and limits, and the summary table. No I/O here.
 */
import { dice } from '../measure/index.ts';

/** The paper's figures (reference standard: expert readers; see docs/validation.md). */
export const PAPER = {
  dice: 0.9025,
  meanAreaErrorCm2: 5.12,
  gradeShares: { expert: 0.517, acceptable: 0.333, unacceptable: 0.15 },
} as const;

export type Grade = 'expert' | 'acceptable' | 'unacceptable';

/** < 5 % of the reader's area: expert level; 5–10 %: clinically acceptable; ≥ 10 %: unacceptable. */
export function gradeOf(relativeDifference: number): Grade {
  const d = Math.abs(relativeDifference);
  return d < 0.05 ? 'expert' : d < 0.1 ? 'acceptable' : 'unacceptable';
}

export function countOnes(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

/** The reader's pixels inside the muscle HU range: what an HU-trimmed mask can at most cover. */
export function withinHu(mask: Uint8Array, hu: ArrayLike<number>, range: { lowerHu: number; upperHu: number }): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] && hu[i] >= range.lowerHu && hu[i] <= range.upperHu ? 1 : 0;
  return out;
}

export interface AreaComparison {
  readerAreaCm2: number;
  oursAreaCm2: number;
  /** ours − reader. */
  differenceCm2: number;
  /** (ours − reader) / reader. */
  relativeDifference: number;
  grade: Grade;
  /** null when there are no masks to compare (CSV reference). */
  dice: number | null;
}

export function compareAreas(oursAreaCm2: number, readerAreaCm2: number, diceValue: number | null = null): AreaComparison {
  const differenceCm2 = oursAreaCm2 - readerAreaCm2;
  const relativeDifference = differenceCm2 / readerAreaCm2;
  return { readerAreaCm2, oursAreaCm2, differenceCm2, relativeDifference, grade: gradeOf(relativeDifference), dice: diceValue };
}

/** Our mask against the reader's on the same grid; areas from pixel counts × pixel area. */
export function compareMasks(ours: Uint8Array, reader: Uint8Array, pixelAreaCm2: number): AreaComparison {
  return compareAreas(countOnes(ours) * pixelAreaCm2, countOnes(reader) * pixelAreaCm2, dice(ours, reader));
}

export interface BlandAltman {
  n: number;
  /** Mean of ours − reader (cm²). */
  biasCm2: number;
  sdCm2: number;
  /** bias ± 1.96 SD. */
  limitsCm2: [number, number];
}

export function blandAltman(pairs: Array<{ ours: number; reader: number }>): BlandAltman | null {
  if (pairs.length === 0) return null;
  const d = pairs.map((p) => p.ours - p.reader);
  const bias = d.reduce((a, b) => a + b, 0) / d.length;
  const sd = d.length > 1 ? Math.sqrt(d.reduce((a, b) => a + (b - bias) ** 2, 0) / (d.length - 1)) : 0;
  return { n: d.length, biasCm2: bias, sdCm2: sd, limitsCm2: [bias - 1.96 * sd, bias + 1.96 * sd] };
}

export interface AgreementSummary {
  n: number;
  /** Mean Dice over the cases that have masks; null without masks. */
  meanDice: number | null;
  /** Mean and largest |ours − reader| (cm²). */
  meanAbsAreaErrorCm2: number;
  maxAbsAreaErrorCm2: number;
  meanAbsRelativeError: number;
  gradeShares: Record<Grade, number>;
  gradeCounts: Record<Grade, number>;
  blandAltman: BlandAltman | null;
}

export function summarize(comparisons: AreaComparison[]): AgreementSummary | null {
  const n = comparisons.length;
  if (n === 0) return null;
  const dices = comparisons.map((c) => c.dice).filter((d): d is number => d !== null);
  const errors = comparisons.map((c) => Math.abs(c.differenceCm2));
  const gradeCounts: Record<Grade, number> = { expert: 0, acceptable: 0, unacceptable: 0 };
  for (const c of comparisons) gradeCounts[c.grade]++;
  return {
    n,
    meanDice: dices.length > 0 ? dices.reduce((a, b) => a + b, 0) / dices.length : null,
    meanAbsAreaErrorCm2: errors.reduce((a, b) => a + b, 0) / n,
    maxAbsAreaErrorCm2: Math.max(...errors),
    meanAbsRelativeError: comparisons.reduce((a, c) => a + Math.abs(c.relativeDifference), 0) / n,
    gradeShares: { expert: gradeCounts.expert / n, acceptable: gradeCounts.acceptable / n, unacceptable: gradeCounts.unacceptable / n },
    gradeCounts,
    blandAltman: blandAltman(comparisons.map((c) => ({ ours: c.oursAreaCm2, reader: c.readerAreaCm2 }))),
  };
}
