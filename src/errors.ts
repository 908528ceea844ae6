/**
 * Typed errors: every failure a user can meet carries a stable code (for scripts and the
 * job queue) and a human message (for people). Codes never change meaning once published.
 */
export const ERROR_CODES = {
  E_NOT_DICOM: 'The input is not a readable DICOM Part 10 file or dataset.',
  E_MISSING_UID: 'A required UID (Study, Series or SOP Instance) is missing or empty.',
  E_MISSING_ATTRIBUTE: 'A required attribute is missing or malformed.',
  E_UNSUPPORTED_TRANSFER_SYNTAX: 'The transfer syntax is not supported by the decoder.',
  E_UNSUPPORTED_PIXEL_FORMAT: 'The pixel format (bits, samples, photometric interpretation) is not supported.',
  E_NO_PIXEL_DATA: 'The instance has no pixel data.',
  E_DECODE_FAILED: 'The pixel data could not be decoded.',
  E_INCONSISTENT_GEOMETRY: 'The slices of the series do not form one consistent volume.',
  E_NO_SERIES: 'No series was found in the input.',
  E_NO_SUITABLE_SERIES: 'No series met the selection rules.',
  E_CONFIG_INVALID: 'The configuration is invalid.',
  E_USAGE: 'A command option has an invalid value.',
  E_PHANTOM_OPTIONS: 'The phantom options are invalid.',
  E_NOT_NIFTI: 'The input is not a readable NIfTI-1/2 volume.',
  E_PACS_UNAVAILABLE: 'The PACS could not be reached or answered with a server error; the node retries.',
  E_PACS_REJECTED: 'The PACS refused the objects (or did not acknowledge them all).',
  E_STAGE_UNAVAILABLE: 'A processing stage is not available in this build; the study was not measured.',
  E_SLICE_NOT_FOUND: 'The requested slice is not in the selected series.',
  E_STUDY_NOT_FOUND: 'The study is not in the node\'s spool.',
  E_IO: 'A file could not be read or written.',
  E_QUEUE_UNREACHABLE: 'The queue database (PostgreSQL, queue.url) cannot be reached or refused the connection.',
  E_QUEUE_SCHEMA: 'The queue database holds a schema this version cannot use (made by a newer version, or not migrated).',
  E_QUEUE_LEASE_EXPIRED: 'The worker running the job stopped renewing its lease (it died or hung); the job was taken back.',
  E_EMPTY_MASK: 'The segmentation mask has no foreground pixel: no DICOM-SEG is written (the SR reports the slice as not measurable).',
  E_LEVEL_NOT_IN_VIEW: 'The field of view does not reach the target vertebral level.',
  E_INSUFFICIENT_COVERAGE: 'The series shows too little of the spine to count vertebrae.',
  E_LEVEL_AMBIGUOUS: 'The vertebral level cannot be told with certainty (e.g. a transitional spine).',
  E_REPORT_INVALID: 'The input of the SEG/SR/JSON report writer is invalid.',
  E_MODEL_MANIFEST: 'The model manifest (models/models.json) is missing, invalid, or does not list the requested model.',
  E_MODEL_FILE: 'A model file is missing or its sha256 does not match the manifest.',
  E_MODEL_LOAD: 'An ONNX model could not be loaded.',
  E_MODEL_FORMAT: 'An ONNX model does not have the inputs/outputs of a supported format (SAM, SAM2, YOLOv8/11, YOLOv10).',
  E_UNAUTHORIZED: 'Credentials are required (bearer token, basic credentials or a signed-in session).',
  E_CSRF: 'The request carries no valid CSRF token (or comes from another origin); nothing was changed.',
  E_NOT_SEG: 'The uploaded file is not a DICOM Segmentation (SEG) instance.',
  E_SEG_MISMATCH: 'The segmentation belongs to another study or series than the one reviewed.',
  E_REVIEW_STATE: 'The study has no result this review action applies to.',
  E_SEGMENT_INPUT: 'The slice given to the segmenter is invalid (size, spacing or orientation).',
  E_MALFORMED_DICOM: 'The DICOM structure is broken: a length, VR, item or nesting does not fit the bytes present.',
  E_INVALID_UID: 'A Study, Series or SOP Instance UID is not a valid DICOM UID (PS3.5 9.1); it is refused, never repaired.',
  E_INSTANCE_TOO_LARGE: 'The instance (or its inflated dataset) exceeds the configured size limit or what its image size can explain.',
  E_INCOMPLETE_PIXEL_DATA: 'The pixel data is shorter than the image size the instance declares (cut in transfer?).',
  E_NOT_A_FILE: 'The path is not a regular file (FIFO, socket, device…); it is not read.',
  E_ADAPT_TOO_FEW_CASES: 'The adaptation training (or validation) set has fewer cases than the configured minimum.',
  E_ADAPT_MASK: 'A case of the adaptation set has an empty mask, a mask that does not match its CT slice, or no usable prompt.',
  E_ADAPT_PYTHON: 'The training step needs Python 3 with PyTorch and the onnx package (Debian: python3-torch, python3-onnx), and they were not found.',
  E_ADAPT_TRAINING: 'The training step failed or did not produce a decoder.',
  E_ADAPT_EXPORT: 'The exported decoder does not reproduce the trained PyTorch decoder within the tolerance.',
  E_ADAPT_UNSUPPORTED: 'The configured model pipeline cannot be adapted by this node (only segment-anything SAM decoders can).',
  E_PACS_CAPPED: 'The PACS capped the query results (a full last page); some studies may be missing: narrow the query.',
  E_WORKER_EXITED: 'The worker thread running a batch study stopped (out of memory or a crash); the study was not measured.',
  E_REFERENCE_INVALID: 'The reference (folder of cases, case.json or CSV of reader areas) is malformed.',
  E_REFERENCE_NO_CT: 'A reference case holds no CT (no CT image instances, no ct.nii/ct.nii.gz).',
  E_REFERENCE_NO_MASK: "A reference case holds no reader's mask (no DICOM-SEG, no mask.nii/mask.nii.gz).",
  E_REFERENCE_GRID_MISMATCH: "The reader's mask is not on the CT's grid (size, spacing or slice positions differ).",
  E_REFERENCE_EMPTY_MASK: "The reader's mask has no muscle pixel on the chosen slice (or on any slice).",
  E_REFERENCE_SEG_SERIES: "The reader's DICOM-SEG was drawn on another series than the case's CT.",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class CtMuscleError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERROR_CODES[code]);
    this.name = 'CtMuscleError';
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isCtMuscleError(value: unknown): value is CtMuscleError {
  return value instanceof CtMuscleError;
}

/** Any thrown value as a `{code, message}` pair; unexpected (programming) errors become E_INTERNAL. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof CtMuscleError) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'E_INTERNAL', message };
}
