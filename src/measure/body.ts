/**
 * measurement.slices "body": the figures of every measured slice of the vertebral body summed up
 * as mean and range (pure), and the review flags that say when the mid slice stands apart from
 * its body, or when the body could not be measured at all. The mid slice's figures stay the
 * reported ones (published cut-offs are single-slice figures); the body's are reported beside them.
 */
import type { BodyMeasurements, FigureSpread, MuscleMeasurements, SliceMeasurement, SliceNotMeasured } from '../model/index.ts';

/** The mid slice's area further than this from the body mean (relative) is flagged for review. */
export const MID_SLICE_DEVIATION = 0.1;

/** Mean, min and max of the values; null when any is missing or not finite (a partial mean would mislead). */
export function spreadOf(values: Array<number | null>): FigureSpread | null {
  if (values.length === 0 || values.some((v) => v === null || !Number.isFinite(v))) return null;
  const finite = values as number[];
  let sum = 0;
  for (const v of finite) sum += v;
  return { mean: sum / finite.length, min: Math.min(...finite), max: Math.max(...finite) };
}

export interface BodySummaryInput {
  bodyMm: [number, number];
  rule: string;
  /** Measured slices, any order (sorted inferior → superior here). */
  slices: SliceMeasurement[];
  notMeasured: SliceNotMeasured[];
}

/** The body's mean and range of each figure over its measured slices (at least the mid slice). */
export function summarizeBody(input: BodySummaryInput): BodyMeasurements {
  if (input.slices.length === 0) throw new RangeError('summarizeBody needs at least one measured slice');
  const slices = [...input.slices].sort((a, b) => a.zMm - b.zMm);
  const figure = (pick: (m: MuscleMeasurements) => number | null) => spreadOf(slices.map((s) => pick(s.muscle)));
  return {
    bodyMm: input.bodyMm,
    rule: input.rule,
    slices,
    notMeasured: [...input.notMeasured].sort((a, b) => a.zMm - b.zMm),
    areaCm2: figure((m) => m.areaCm2)!,
    meanHu: figure((m) => m.meanHu)!,
    imatAreaCm2: figure((m) => m.imatAreaCm2),
    smiCm2PerM2: figure((m) => m.smiCm2PerM2),
  };
}

/** Review flags of a body measurement: the mid slice far from the body mean, slices left out. */
export function bodyFlags(mid: MuscleMeasurements, body: BodyMeasurements): string[] {
  const flags: string[] = [];
  const { mean, min, max } = body.areaCm2;
  const deviation = mean > 0 ? (mid.areaCm2 - mean) / mean : 0;
  if (Math.abs(deviation) > MID_SLICE_DEVIATION) {
    flags.push(
      `mid-slice-deviates: mid-slice area ${mid.areaCm2.toFixed(1)} cm² is ${(deviation * 100).toFixed(0)}% from the body mean ${mean.toFixed(1)} cm² (range ${min.toFixed(1)}–${max.toFixed(1)} cm² over ${body.slices.length} slices)`,
    );
  }
  if (body.notMeasured.length > 0) {
    flags.push(`body-slices-not-measured: ${body.notMeasured.length} of ${body.slices.length + body.notMeasured.length} slices of the vertebral body (${body.notMeasured.map((s) => `z ${s.zMm.toFixed(1)} mm: ${s.code}`).join('; ')})`);
  }
  return flags;
}

/** Why a body measurement was asked for and not made: the level names no vertebral body extent. */
export function bodyUnavailableFlag(reason: string): string {
  return `body-not-measured: ${reason}; only the mid slice is reported`;
}
