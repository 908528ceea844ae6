/**
 * The report stage in one call: SEG + SR + JSON for a measured slice, or SR + JSON saying
 * "not measurable" when the mask is empty (never an empty SEG), and on request (options.overlay) a
 * Secondary Capture overlay of the measured slice. The writers stay usable alone.
 */
import { CtMuscleError } from '../errors.ts';
import { writeOverlay, type OverlayOutput } from './overlay.ts';
import { buildResultJson, type ResultJson } from './result-json.ts';
import { writeSeg } from './seg.ts';
import { writeSr } from './sr.ts';
import type { MuscleMeasurements } from '../model/index.ts';
import type { ReportCommon, SegOutput, SrOutput } from './types.ts';

export interface ReportInput extends ReportCommon {
  mask: Uint8Array;
  /** HU of the measured slice on the mask's grid; needed only with options.overlay. */
  hu?: ArrayLike<number>;
  measurements: MuscleMeasurements | null;
  /** Why the slice could not be measured when measurements is null (e.g. a segmenter error). */
  notMeasurableReason?: string;
}

export interface ReportOutput {
  seg: SegOutput | null;
  sr: SrOutput;
  /** The Secondary Capture overlay: only with options.overlay and a measured slice. */
  overlay: OverlayOutput | null;
  result: ResultJson;
}

export const EMPTY_MASK_REASON = 'The segmentation found no skeletal muscle on the slice.';

export function writeReport(input: ReportInput): ReportOutput {
  // One timestamp for all outputs, so the SEG, SR and JSON of a run agree.
  const options = { ...input.options, created: input.options?.created ?? new Date() };
  const common = { ...input, options };
  if (options.overlay && input.measurements && !input.hu) {
    throw new CtMuscleError('E_REPORT_INVALID', 'options.overlay needs the HU of the measured slice (hu).');
  }
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
  // The overlay pictures the SEG: none when there is no SEG (not measurable).
  let overlay: OverlayOutput | null = null;
  if (options.overlay && seg && measurements) {
    overlay = writeOverlay({ ...common, mask: input.mask, hu: input.hu!, measurements, window: options.overlayWindow });
  }
  const sr = writeSr({ ...common, measurements, seg: seg?.ref ?? null, notMeasurableReason: reason });
  const result = buildResultJson({
    source: input.source,
    level: input.level,
    segmenter: input.segmenter,
    huWindow: input.huWindow,
    flags: input.flags,
    measurements,
    body: input.body && { figures: input.body.figures, frames: seg?.ref.bodyFrames },
    notMeasurableReason: reason,
    seg,
    sr,
    overlay,
    created: options.created,
    softwareVersion: options.softwareVersion,
  });
  return { seg, sr, overlay, result };
}
