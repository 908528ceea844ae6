/**
 * What the report stage takes and gives. The pipeline fills these from the level finder, the
 * segmenter and the measurer; the writers turn them into DICOM-SEG, TID 1500 SR and JSON.
 * Everything here is plain data so the writers stay pure functions of their input.
 */
import type { InstanceHeader } from '../dicom/types.ts';
import type { LevelEvidence } from '../level/types.ts';

/** Vertebral levels the report can name; each has an SCT code from DICOM CID 7603 (codes.ts). */
export type VertebralLevelName = 'T10' | 'T11' | 'T12' | 'L1' | 'L2' | 'L3' | 'L4' | 'L5';

/** How the measured slice was chosen when the level finder chose it. */
export interface FoundLevel {
  name: VertebralLevelName;
  /** Index of the slice in the ordered series (inferior → superior, as planVolume orders it). */
  sliceIndex: number;
  sopInstanceUid: string;
  /** LPS z of the slice (mm). */
  zMm: number;
  /** The rule that picked the slice within the level, e.g. 'mid-vertebral-body'. */
  rule: string;
  /** The method (and its version) that found the level, e.g. 'vertebra-detector 1.0'. */
  method: string;
  /** 0..1, or null when the method gives none. */
  confidence: number | null;
  /** What the level finder saw (vertebrae, discs, anchors); kept in the JSON result, not in DICOM. */
  evidence?: LevelEvidence | null;
  warnings: string[];
}

/** The slice was given by the user (or a test), not found: the SR says so and names no vertebra. */
export interface ProvidedSlice {
  name: 'as-provided';
  sliceIndex?: number;
  sopInstanceUid: string;
  zMm?: number;
  rule?: string;
  method?: string;
  confidence?: number | null;
  warnings: string[];
}

export type LevelInfo = FoundLevel | ProvidedSlice;

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

export type ContentQualification = 'RESEARCH' | 'PRODUCT';

export interface ReportOptions {
  /** SEG ContentQualification; RESEARCH unless the site validated the method. */
  contentQualification?: ContentQualification;
  /** SEG with one frame per slice of the series, empty except the measured one (needs seriesSlices). */
  fullStack?: boolean;
  /** SEG series number; the SR takes the next one. Default: 9000 + a hash of the model (uids.ts). */
  seriesNumber?: number;
  /** Manufacturer of the outputs (SEG/SR Manufacturer, SR device observer manufacturer). */
  manufacturer?: string;
  /** Version of this software (SoftwareVersions); not of the model. */
  softwareVersion?: string;
  /** DeviceSerialNumber (required by Enhanced General Equipment); default '0'. */
  deviceSerialNumber?: string;
  /** Content date and time; default now. The same input and the same `created` give byte-identical files. */
  created?: Date;
  /**
   * Extra discriminator for the UIDs (e.g. 'correction-1' after a user edited the SEG): outputs
   * with different content must not reuse UIDs, or some PACS answer 409.
   */
  revision?: string;
  /**
   * Also write a Secondary Capture overlay (the CT slice with the mask in colour and a caption) for
   * PACS viewers that cannot show DICOM-SEG. Off by default; needs ReportInput.hu.
   */
  overlay?: boolean;
  /** Display window of the overlay's CT; default W400/L40. */
  overlayWindow?: { center: number; width: number };
}

/** Everything the SEG and SR writers share. */
export interface ReportCommon {
  /** Header of the measured CT slice (InstanceHeader.dataset is the naturalized header without pixels). */
  source: InstanceHeader;
  /** Ordered slice headers of the series (inferior → superior); required when options.fullStack. */
  seriesSlices?: InstanceHeader[];
  level: LevelInfo;
  segmenter: SegmenterInfo;
  flags: string[];
  huWindow: HuWindow;
  options?: ReportOptions;
}

export interface SegInput extends ReportCommon {
  /** rows × columns values, 0 or 1, on the source's stored pixel grid, row-major (never re-oriented). */
  mask: Uint8Array;
}

/** What the SR needs to point at the SEG segment. */
export interface SegReference {
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  segmentNumber: number;
  /** 1-based frame of the SEG that holds the measured slice. */
  frameNumber: number;
  /**
   * A muscle pixel of the mask (the one nearest its centroid), as 0-based column/row on the source
   * grid. The SR points its measurements at it (SCOORD POINT), which is what lets OHIF show them.
   */
  anchor?: { column: number; row: number };
}

export interface SrInput extends ReportCommon {
  /** null when the slice is not measurable (no SEG is written then). */
  measurements: MuscleMeasurements | null;
  seg: SegReference | null;
  /** Why there are no measurements; required when measurements is null. */
  notMeasurableReason?: string;
}

export interface WrittenInstance {
  bytes: Uint8Array;
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  seriesNumber: number;
}

export interface SegOutput extends WrittenInstance {
  /** Reference to hand to writeSr. */
  ref: SegReference;
  numberOfFrames: number;
}

export interface SrOutput extends WrittenInstance {
  trackingUid: string;
}
