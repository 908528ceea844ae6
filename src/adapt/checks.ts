/**
 * Refusals before any training starts: too few cases, empty masks, masks that do not belong to
 * their CT slice. Each is a typed error naming the case, so a site fixes its reference set
 * instead of getting a silently bad decoder.
 */
import { CtMuscleError } from '../errors.ts';
import type { AdaptSlice } from './training-set.ts';

/** The paper fine-tuned on 16 labelled T12 slices; fewer than 4 is refused by default. */
export const PAPER_TRAINING_CASES = 16;
export const DEFAULT_MIN_TRAINING_CASES = 4;
/** Muscle is never air: a mask with more than this share of pixels below −500 HU is on the wrong slice or flipped. */
export const MAX_AIR_SHARE = 0.2;
const AIR_HU = -500;

export function checkCaseCounts(train: number, val: number, minTrain = DEFAULT_MIN_TRAINING_CASES): void {
  if (train < minTrain) {
    throw new CtMuscleError('E_ADAPT_TOO_FEW_CASES', `The training set has ${train} case(s); at least ${minTrain} are required (the paper used ${PAPER_TRAINING_CASES}).`, { train, minimum: minTrain });
  }
  if (val < 1) throw new CtMuscleError('E_ADAPT_TOO_FEW_CASES', 'The validation set is empty: the best epoch is chosen by validation Dice, so at least one validation case is required.', { val });
}

/** Throws E_ADAPT_MASK for a mask of the wrong size, an empty mask, or one that lies on air. */
export function checkSliceMask(slice: AdaptSlice): void {
  const { id, hu, mask, rows, columns } = slice;
  if (hu.length !== rows * columns || mask.length !== hu.length) {
    throw new CtMuscleError('E_ADAPT_MASK', `Case ${id}: the mask has ${mask.length} pixels, its CT slice ${rows}×${columns}; the mask must be on the CT's grid.`, { case: id });
  }
  let pixels = 0;
  let air = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    pixels++;
    if (hu[i] < AIR_HU) air++;
  }
  if (pixels === 0) throw new CtMuscleError('E_ADAPT_MASK', `Case ${id}: the mask is empty on the chosen slice.`, { case: id });
  if (air / pixels > MAX_AIR_SHARE) {
    throw new CtMuscleError('E_ADAPT_MASK', `Case ${id}: ${((100 * air) / pixels).toFixed(0)}% of the mask lies on air (< ${AIR_HU} HU): it does not match its CT slice (wrong slice, flipped or another series?).`, { case: id, airShare: air / pixels });
  }
}
