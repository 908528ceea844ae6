/** Measurements of skeletal muscle on one slice, and the pipeline's segment-and-measure call. */
export { measureMuscle, plausibilityFlags, IMAT_HU, LOW_ATTENUATION_HU, type MeasureInput, type PlausibilityOptions } from './muscle.ts';
export { extraFlags, dice, plausibleHeight, PLAUSIBLE_HEIGHT_M, DEFAULT_PLAUSIBILITY, type PlausibilityConfig, type ExtraFlagInput } from './flags.ts';
export { lowMuscleVerdict, parseCutoffs, cutoffSchema, type Cutoff, type Verdict } from './cutoffs.ts';
export {
  segmentAndMeasure,
  modelSegmenterFor,
  sliceInput,
  type SegmentAndMeasureInput,
  type SegmentAndMeasureResult,
  type ModelsConfig,
} from './segment-and-measure.ts';
