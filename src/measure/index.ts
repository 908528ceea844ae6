/** Measurements of skeletal muscle on one slice, and the pipeline's segment-and-measure call. */
export { measureMuscle, plausibilityFlags, type MeasureInput, type PlausibilityOptions } from './muscle.ts';
export { extraFlags, dice, plausibleHeight, PLAUSIBLE_HEIGHT_M, DEFAULT_PLAUSIBILITY, type PlausibilityConfig, type ExtraFlagInput } from './flags.ts';
export { lowMuscleVerdict, parseCutoffs, cutoffSchema, type Cutoff } from './cutoffs.ts';
export {
  segmentAndMeasure,
  type SegmentAndMeasureInput,
  type SegmentAndMeasureResult,
} from './segment-and-measure.ts';
export { bodyFlags, bodyUnavailableFlag, MID_SLICE_DEVIATION, spreadOf, summarizeBody, type BodySummaryInput } from './body.ts';
