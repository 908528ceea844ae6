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

