/**
 * A site's reference for `validate`: cases (CT + the reader's mask on one slice) or reader areas
 * only (CSV). The shapes are shared by the reader (this folder) and the validation (src/validate).
 */
import type { CtVolume, InstanceHeader, SliceInfo, VolumeGeometry } from '../dicom/types.ts';

export type CtSource = { kind: 'dicom'; paths: string[] } | { kind: 'nifti'; path: string };
export type MaskSource = { kind: 'seg'; path: string; sopInstanceUid: string } | { kind: 'nifti'; path: string };

/** How the reader's slice was chosen: case.json, the only slice with mask pixels, or the largest of several. */
export type SliceChoice = 'case.json' | 'only-mask-slice' | 'largest-mask-slice';

export interface ReferenceCase {
  /** The case folder's name. */
  id: string;
  directory: string;
  ctSource: CtSource;
  maskSource: MaskSource;
  /** The CT series' headers, for the pipeline (DICOM cases); empty for NIfTI cases. */
  ctHeaders: InstanceHeader[];
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
  geometry: VolumeGeometry;
  sliceCount: number;
  /** The reader's slice, in volume order (inferior → superior for axial stacks). */
  sliceIndex: number;
  /** SOP Instance UID of the reader's slice (DICOM cases only). */
  sliceSopInstanceUid?: string;
  slice: SliceInfo;
  /** HU of the reader's slice, rows × columns. */
  hu: Int16Array;
  pixelSpacingMm: [number, number];
  /** The reader's mask on the slice grid, 0/1. */
  mask: Uint8Array;
  /** Area of the reader's mask (all pixels, whatever their HU). */
  readerAreaCm2: number;
  /** The area the reader wrote in case.json, when given (reported beside the mask's own area). */
  statedAreaCm2?: number;
  sliceChoice: SliceChoice;
  /** Things a person should know (several mask slices, a label chosen, …). */
  notes: string[];
  /** The whole CT volume (decoded on demand for DICOM; already read for NIfTI). */
  loadVolume(): Promise<CtVolume>;
}

/** One row of a CSV reference: the reader's area for a study (no mask). */
export interface ReferenceArea {
  studyInstanceUid: string;
  areaCm2: number;
  sliceSopInstanceUid?: string;
}

/** One case folder read, or why it could not be. */
export type ReferenceCaseOutcome =
  | { id: string; directory: string; ok: true; reference: ReferenceCase }
  | { id: string; directory: string; ok: false; error: { code: string; message: string } };
