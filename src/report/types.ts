/**
 * What the report writers take and give. The pipeline fills these from the level finder, the
 * segmenter and the measurer (their shapes live in src/model); the writers turn them into
 * DICOM-SEG, TID 1500 SR and JSON. Plain data, so the writers stay pure functions of their input.
 */
import type { InstanceHeader } from '../dicom/types.ts';
import type { BodyMeasurements, HuWindow, LevelInfo, MuscleMeasurements, SegmenterInfo } from '../model/index.ts';

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

/**
 * measurement.slices "body": every measured slice of the vertebral body, the measured (mid) one
 * included. The SEG gets a frame per slice, the SR a measurement group per slice and one for the
 * body's mean and range, the JSON the figures; the outputs' UIDs differ from a "mid" run's.
 */
export interface BodyReportInput {
  figures: BodyMeasurements;
  /** One per figures.slices entry, in the same order: that slice's header and its 0/1 mask. */
  slices: Array<{ source: InstanceHeader; mask: Uint8Array }>;
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
  /** measurement.slices "body" only. */
  body?: BodyReportInput;
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
  /** measurement.slices "body": the frame and anchor of every measured slice (the measured one included). */
  bodyFrames?: BodyFrame[];
}

export interface BodyFrame {
  sopInstanceUid: string;
  frameNumber: number;
  anchor: { column: number; row: number };
}

export interface SrInput extends ReportCommon {
  /** null when the slice is not measurable (no SEG is written then). */
  measurements: MuscleMeasurements | null;
  seg: SegReference | null;
  /** Why there are no measurements; required when measurements is null. */
  notMeasurableReason?: string;
  /**
   * A person checked the report (the review page's "accept"): VerificationFlag VERIFIED with this
   * verifying observer. Without it the SR is UNVERIFIED, as every SR the node writes on its own.
   */
  verification?: SrVerification;
  /** The SR this one amends (PredecessorDocumentsSequence); give options.revision too, for new UIDs. */
  predecessor?: SrPredecessor;
}

export interface SrVerification {
  /** Person Name of whoever verified (DICOM PN, e.g. "Doe^Jane" or a user name). */
  observerName: string;
  organization: string;
  dateTime: Date;
}

export interface SrPredecessor {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopClassUid: string;
  sopInstanceUid: string;
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
