/** The report stage: DICOM-SEG, TID 1500 SR, the JSON result and an optional SC overlay (see docs/outputs.md). */
export { writeSeg, checkMask, anchorPixel, SEG_SOP_CLASS_UID, SEGMENT_NUMBER, SEGMENT_LABEL } from './seg.ts';
export { writeSr, writeNotMeasuredSr, COMPREHENSIVE_3D_SR_SOP_CLASS_UID, type NotMeasuredSrInput } from './sr.ts';
export { REPORTED_DECIMALS } from './sr-group.ts';
export {
  writeOverlay,
  overlayCaption,
  SECONDARY_CAPTURE_SOP_CLASS_UID,
  DEFAULT_OVERLAY_WINDOW,
  OVERLAY_COLOUR,
  type OverlayInput,
  type OverlayOutput,
  type DisplayWindow,
} from './overlay.ts';
export { writeReport, EMPTY_MASK_REASON, type ReportInput, type ReportOutput } from './report.ts';
export { buildResultJson, RESULT_SCHEMA, type ResultBody, type ResultJson, type ResultJsonInput } from './result-json.ts';
export { readSegMask, maskForSlice, segReferenceOf, type SegReadout, type SegFrame } from './read-seg.ts';
export { deriveUid, deriveSeriesNumber, dicomDateTime, type UidKind, type UidSeed } from './uids.ts';
export { CODES, UNITS, VERTEBRA_CODES } from './codes.ts';
export type * from './types.ts';
