/**
 * What a measured slice yields, as plain data shared by the measurer, the report writers and the
 * pipeline's results (no stage owns it).
 */

export interface SegmenterInfo {
  /** Model identifier; becomes the SEG's SegmentAlgorithmName and part of every output UID. */
  id: string;
  /** Model version; a new version gives new UIDs and new series (OHIF shows one instance per series). */
  version: string;
  /** How the model was prompted (e.g. 'box from YOLO detector'); null when it takes none. */
  prompt?: string | null;
  /** ONNX models only: the execution provider they ran on, and preferred providers that were skipped (docs/models.md). */
  runtime?: SegmenterRuntime;
}

export interface SegmenterRuntime {
  executionProvider: string;
  skipped: Array<{ model: string; provider: string; reason: string }>;
}

/**
 * Numbers from the measurer. Non-finite values are never written: the SR omits the item and the
 * JSON gives null. Areas are pixel count × PixelSpacing[0] × PixelSpacing[1] / 100 on the native grid.
 */
export interface MuscleMeasurements {
  areaCm2: number;
  meanHu: number;
  sdHu: number;
  /** Intermuscular adipose tissue area; null when not measured. */
  imatAreaCm2: number | null;
  /** Fraction (0..1) of muscle pixels in the low-attenuation range; written as % in the SR. */
  lowAttenuationFraction: number | null;
  /** Skeletal muscle index; only when the patient's height is known. */
  smiCm2PerM2: number | null;
  pixelCount: number;
}

/** The attenuation range that counts as muscle (e.g. −29..150 HU). */
export interface HuWindow {
  lowerHu: number;
  upperHu: number;
}


/**
 * Which slices are measured (config `measurement.slices`, `--slices`): the level's mid slice
 * alone, or every slice inside the chosen vertebral body as well (docs/outputs.md).
 */
export const MEASUREMENT_SLICES = ['mid', 'body'] as const;
export type MeasurementSlices = (typeof MEASUREMENT_SLICES)[number];

/** One measured slice of the vertebral body. */
export interface SliceMeasurement {
  /** Index in the ordered series (inferior → superior). */
  sliceIndex: number;
  sopInstanceUid: string;
  zMm: number;
  muscle: MuscleMeasurements;
  /** That slice's own review flags (they stay with it; the study's flags are the mid slice's). */
  flags: string[];
}

/** A body slice the segmenter could not measure: left out of the mean, with its reason. */
export interface SliceNotMeasured {
  sliceIndex: number;
  sopInstanceUid: string;
  zMm: number;
  code: string;
  message: string;
}

/** Mean and range of one figure over the measured slices. */
export interface FigureSpread {
  mean: number;
  min: number;
  max: number;
}

/**
 * measurement.slices "body": every slice whose slab lies inside the vertebral body, measured
 * like the mid slice. Each figure is the unweighted mean of the per-slice figures, with their
 * minimum and maximum; a figure some slice lacks (no height → no SMI) is null.
 */
export interface BodyMeasurements {
  /** The body's extent along z, endplate to endplate (mm), as the level finder placed it. */
  bodyMm: [inferior: number, superior: number];
  /** The rule that chose the slices, in words (also in the SR). */
  rule: string;
  /** Measured slices, inferior → superior; the mid slice is one of them. */
  slices: SliceMeasurement[];
  notMeasured: SliceNotMeasured[];
  areaCm2: FigureSpread;
  meanHu: FigureSpread;
  imatAreaCm2: FigureSpread | null;
  smiCm2PerM2: FigureSpread | null;
}
