/**
 * The report stage in one call: SEG + SR + JSON for a measured slice, or SR + JSON saying
 * "not measurable" when the mask is empty (never an empty SEG). The writers stay usable alone.
 */
import { CtMuscleError } from '../errors.ts';
import { buildResultJson, type ResultJson } from './result-json.ts';
import { writeSeg } from './seg.ts';
import { writeSr } from './sr.ts';
import type { MuscleMeasurements, ReportCommon, SegOutput, SrOutput } from './types.ts';

export interface ReportInput extends ReportCommon {
  mask: Uint8Array;
  measurements: MuscleMeasurements | null;
  /** Why the slice could not be measured when measurements is null (e.g. a segmenter error). */
  notMeasurableReason?: string;
}

export interface ReportOutput {
  seg: SegOutput | null;
  sr: SrOutput;
  result: ResultJson;
}

export const EMPTY_MASK_REASON = 'The segmentation found no skeletal muscle on the slice.';

export function writeReport(input: ReportInput): ReportOutput {
  // One timestamp for all outputs, so the SEG, SR and JSON of a run agree.
  const options = { ...input.options, created: input.options?.created ?? new Date() };
  const common = { ...input, options };
  let seg: SegOutput | null = null;
  let measurements = input.measurements;
  let reason = input.notMeasurableReason;
  if (measurements) {
    try {
      seg = writeSeg(common);
    } catch (error) {
      if (!(error instanceof CtMuscleError && error.code === 'E_EMPTY_MASK')) throw error;
      measurements = null;
      reason = EMPTY_MASK_REASON;
    }
  }
  const sr = writeSr({ ...common, measurements, seg: seg?.ref ?? null, notMeasurableReason: reason });
  const result = buildResultJson({
    source: input.source,
    level: input.level,
    segmenter: input.segmenter,
    huWindow: input.huWindow,
    flags: input.flags,
    measurements,
    notMeasurableReason: reason,
    seg,
    sr,
    created: options.created,
    softwareVersion: options.softwareVersion,
  });
  return { seg, sr, result };
}
