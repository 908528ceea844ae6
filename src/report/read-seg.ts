/**
 * Reading a BINARY SEG back into masks on the source grid: what the correction loop needs to
 * re-measure a SEG a user edited in a viewer. Uses the node's own reader and 1-bit frame decoder,
 * so a SEG written by another tool (OHIF, Slicer, highdicom) reads the same way as ours.
 */
import { numberValue, stringValue } from '../dicom/dataset-values.ts';
import { decodeFrame } from '../dicom/pixels.ts';
import { parseDicomAsync } from '../dicom/read.ts';
import type { NaturalDataset } from '../dicom/types.ts';
import { CtMuscleError } from '../errors.ts';
import { anchorPixel, SEG_SOP_CLASS_UID } from './seg.ts';
import type { SegReference } from './types.ts';

export interface SegFrame {
  /** 1-based frame number in the SEG. */
  frameNumber: number;
  segmentNumber: number;
  /** The source slice this frame was derived from (Derivation Image → Source Image). */
  referencedSopInstanceUid: string | null;
  imagePositionPatient: [number, number, number] | null;
  /** rows × columns values 0/1, row-major on the source grid. */
  mask: Uint8Array;
  pixelCount: number;
}

export interface SegSegment {
  number: number;
  label: string | null;
}

export interface SegReadout {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  frameOfReferenceUid: string | null;
  rows: number;
  columns: number;
  segments: SegSegment[];
  frames: SegFrame[];
  /** Source slices referenced by the frames, in frame order, without repeats. */
  referencedSopInstanceUids: string[];
}

/** dcmjs gives sequences as arrays; tolerate a lone item too. */
function items(value: unknown): NaturalDataset[] {
  if (Array.isArray(value)) return value.filter((v): v is NaturalDataset => typeof v === 'object' && v !== null);
  return typeof value === 'object' && value !== null ? [value as NaturalDataset] : [];
}

function first(value: unknown): NaturalDataset | undefined {
  return items(value)[0];
}

function frameSegmentNumber(perFrame: NaturalDataset | undefined, shared: NaturalDataset | undefined): number | undefined {
  const from = (group: NaturalDataset | undefined) => {
    const id = first(group?.SegmentIdentificationSequence);
    return id ? numberValue(id, 'ReferencedSegmentNumber') : undefined;
  };
  return from(perFrame) ?? from(shared);
}

function frameSource(perFrame: NaturalDataset | undefined, shared: NaturalDataset | undefined): string | null {
  for (const group of [perFrame, shared]) {
    for (const derivation of items(group?.DerivationImageSequence)) {
      for (const src of items(derivation.SourceImageSequence)) {
        const uid = stringValue(src, 'ReferencedSOPInstanceUID');
        if (uid) return uid;
      }
    }
  }
  return null;
}

function framePosition(perFrame: NaturalDataset | undefined, shared: NaturalDataset | undefined): [number, number, number] | null {
  for (const group of [perFrame, shared]) {
    const position = first(group?.PlanePositionSequence);
    const ipp = position?.ImagePositionPatient;
    if (Array.isArray(ipp) && ipp.length === 3) {
      const values = ipp.map(Number);
      if (values.every(Number.isFinite)) return values as [number, number, number];
    }
  }
  return null;
}

/** The only instance a lone-frame SEG can be derived from when frames do not say. */
function onlyReferencedInstance(dataset: NaturalDataset): string | null {
  const uids = items(dataset.ReferencedSeriesSequence).flatMap((s) =>
    items(s.ReferencedInstanceSequence).map((i) => stringValue(i, 'ReferencedSOPInstanceUID')).filter((u): u is string => !!u),
  );
  return uids.length === 1 ? uids[0] : null;
}

export async function readSegMask(bytes: Uint8Array): Promise<SegReadout> {
  const parsed = await parseDicomAsync(bytes);
  const ds = parsed.dataset;
  const sopClassUid = stringValue(ds, 'SOPClassUID') ?? stringValue(parsed.meta, 'MediaStorageSOPClassUID');
  if (sopClassUid !== SEG_SOP_CLASS_UID) {
    throw new CtMuscleError('E_REPORT_INVALID', `Not a Segmentation Storage instance (SOP Class ${sopClassUid ?? 'missing'}).`);
  }
  const segmentationType = stringValue(ds, 'SegmentationType');
  if (segmentationType !== 'BINARY') {
    throw new CtMuscleError('E_UNSUPPORTED_PIXEL_FORMAT', `Only BINARY segmentations can be re-measured; this one is ${segmentationType ?? 'untyped'}.`);
  }
  const rows = numberValue(ds, 'Rows');
  const columns = numberValue(ds, 'Columns');
  if (!rows || !columns) throw new CtMuscleError('E_MISSING_ATTRIBUTE', 'The SEG lacks Rows/Columns.');
  const frameCount = numberValue(ds, 'NumberOfFrames') ?? 1;
  const perFrame = items(ds.PerFrameFunctionalGroupsSequence);
  const shared = first(ds.SharedFunctionalGroupsSequence);
  const fallbackSource = frameCount === 1 ? onlyReferencedInstance(ds) : null;

  const frames: SegFrame[] = [];
  for (let f = 0; f < frameCount; f++) {
    const values = await decodeFrame(parsed, f);
    const mask = new Uint8Array(values.length);
    let pixelCount = 0;
    for (let i = 0; i < values.length; i++) {
      if (values[i] !== 0) {
        mask[i] = 1;
        pixelCount++;
      }
    }
    const segmentNumber = frameSegmentNumber(perFrame[f], shared);
    if (segmentNumber === undefined) throw new CtMuscleError('E_MISSING_ATTRIBUTE', `SEG frame ${f + 1} names no segment (SegmentIdentificationSequence).`);
    frames.push({
      frameNumber: f + 1,
      segmentNumber,
      referencedSopInstanceUid: frameSource(perFrame[f], shared) ?? fallbackSource,
      imagePositionPatient: framePosition(perFrame[f], shared),
      mask,
      pixelCount,
    });
  }

  const segments = items(ds.SegmentSequence)
    .map((s) => ({ number: numberValue(s, 'SegmentNumber') ?? 0, label: stringValue(s, 'SegmentLabel') ?? null }))
    .filter((s) => s.number > 0);
  const referenced = [...new Set(frames.map((fr) => fr.referencedSopInstanceUid).filter((u): u is string => u !== null))];
  return {
    sopInstanceUid: stringValue(ds, 'SOPInstanceUID') ?? '',
    seriesInstanceUid: stringValue(ds, 'SeriesInstanceUID') ?? '',
    studyInstanceUid: stringValue(ds, 'StudyInstanceUID') ?? '',
    frameOfReferenceUid: stringValue(ds, 'FrameOfReferenceUID') ?? null,
    rows,
    columns,
    segments,
    frames,
    referencedSopInstanceUids: referenced,
  };
}

/**
 * The mask of one segment on one source slice (union of its frames there), or null when the
 * SEG has no frame of that segment for the slice.
 */
export function maskForSlice(readout: SegReadout, sopInstanceUid: string, segmentNumber = 1): Uint8Array | null {
  const frames = readout.frames.filter((f) => f.referencedSopInstanceUid === sopInstanceUid && f.segmentNumber === segmentNumber);
  if (frames.length === 0) return null;
  const out = new Uint8Array(readout.rows * readout.columns);
  for (const frame of frames) for (let i = 0; i < out.length; i++) out[i] |= frame.mask[i];
  return out;
}

/** What an SR needs to point at a frame of a SEG that was read back (with `mask`, that frame's mask). */
export function segReferenceOf(readout: SegReadout, frame: SegFrame, mask: Uint8Array): SegReference {
  return {
    sopClassUid: SEG_SOP_CLASS_UID,
    sopInstanceUid: readout.sopInstanceUid,
    seriesInstanceUid: readout.seriesInstanceUid,
    segmentNumber: frame.segmentNumber,
    frameNumber: frame.frameNumber,
    anchor: anchorPixel(mask, readout.rows, readout.columns),
  };
}
