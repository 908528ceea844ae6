/** Which slice of a reference case is the reader's: case.json's, else the one slice with mask pixels. */
import { CtMuscleError } from '../errors.ts';
import type { SliceChoice } from './types.ts';

export interface ChosenSlice {
  sliceIndex: number;
  choice: SliceChoice;
  notes: string[];
}

/**
 * `pixelCounts[k]` = mask pixels on slice k. `explicitIndex` comes from case.json (already
 * resolved to volume order). Several slices with pixels and no explicit choice: the one with the
 * most pixels, and a note says so (a reader who drew several slices meant one of them).
 */
export function chooseReaderSlice(pixelCounts: number[], explicitIndex: number | undefined, caseId: string): ChosenSlice {
  if (explicitIndex !== undefined) {
    if (explicitIndex < 0 || explicitIndex >= pixelCounts.length) {
      throw new CtMuscleError('E_REFERENCE_INVALID', `${caseId}: the slice named in case.json is not in the CT (0..${pixelCounts.length - 1}).`);
    }
    if (pixelCounts[explicitIndex] === 0) {
      throw new CtMuscleError('E_REFERENCE_EMPTY_MASK', `${caseId}: the reader's mask has no pixel on the slice named in case.json.`);
    }
    return { sliceIndex: explicitIndex, choice: 'case.json', notes: [] };
  }
  const drawn = pixelCounts.map((count, k) => ({ count, k })).filter((s) => s.count > 0);
  if (drawn.length === 0) throw new CtMuscleError('E_REFERENCE_EMPTY_MASK', `${caseId}: the reader's mask is empty on every slice.`);
  if (drawn.length === 1) return { sliceIndex: drawn[0].k, choice: 'only-mask-slice', notes: [] };
  const best = drawn.reduce((a, b) => (b.count > a.count ? b : a));
  return {
    sliceIndex: best.k,
    choice: 'largest-mask-slice',
    notes: [`the mask covers ${drawn.length} slices and case.json names none: slice ${best.k} (most pixels) taken as the reader's`],
  };
}

/** Pixels > 0 (or equal to `label`) of one slice of a label volume, as 0/1. */
export function binaryMask(labels: ArrayLike<number>, label: number | undefined): { mask: Uint8Array; count: number } {
  const mask = new Uint8Array(labels.length);
  let count = 0;
  for (let i = 0; i < labels.length; i++) {
    const on = label === undefined ? labels[i] > 0 : labels[i] === label;
    if (on) {
      mask[i] = 1;
      count++;
    }
  }
  return { mask, count };
}
