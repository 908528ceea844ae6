/**
 * The correction loop: a SEG that a reader edited (in a viewer, stored back) is re-measured on
 * the CT slice it references, and an amended SR is written that points at the edited SEG and
 * says the measurement was corrected. Its UIDs carry the edited SEG's UID as a revision, so the
 * amended report never collides with the original one.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InstanceHeader } from './dicom/types.ts';
import { CtMuscleError } from './errors.ts';
import { measureMuscle } from './measure/muscle.ts';
import { MUSCLE_HU_WINDOW, type MuscleMeasurements, type OutputFile } from './model/index.ts';
import { patientHeightM, scanInputs, sliceVolume } from './pipeline/index.ts';
import { maskForSlice, readSegMask, segReferenceOf, writeSr, type SrInput } from './report/index.ts';

export const CORRECTION_SEGMENTER = { id: 'ct-muscle-node/correction', version: '1' };

export interface RemeasureResult {
  studyInstanceUid: string;
  editedSeg: { sopInstanceUid: string; seriesInstanceUid: string };
  measuredSlice: { sopInstanceUid: string; frameNumber: number };
  muscle: MuscleMeasurements;
  outputs: { sr?: OutputFile };
}

/** What re-measuring an edited SEG gives: the figures, and the SR input that reports them. */
export interface CorrectionReport {
  result: RemeasureResult;
  /** The amended SR's content, without options (the caller sets revision, predecessor, verification). */
  srInput: Omit<SrInput, 'options'>;
  /** The edited mask on the measured slice. */
  mask: Uint8Array;
}

/**
 * Re-measure an edited SEG (its bytes; `label` names it in messages) on the CT slice it references
 * among `headers` (`measuredSopInstanceUid`, when given and drawn on, among several). Writes nothing: E_EMPTY_MASK, E_SLICE_NOT_FOUND or E_INCONSISTENT_GEOMETRY
 * before anything is changed.
 */
export async function correctionReport(segBytes: Uint8Array, headers: InstanceHeader[], label: string, measuredSopInstanceUid?: string): Promise<CorrectionReport> {
  const readout = await readSegMask(segBytes);
  // The measured slice is the frame that holds the mask (full-stack SEGs have empty frames too).
  // A "body" SEG holds a mask on several slices: the slice the study was measured on wins when
  // the caller knows it (the review page); otherwise the largest mask.
  const held = [...readout.frames].filter((f) => f.pixelCount > 0 && f.referencedSopInstanceUid).sort((a, b) => b.pixelCount - a.pixelCount);
  const frame = held.find((f) => f.referencedSopInstanceUid === measuredSopInstanceUid) ?? held[0];
  if (!frame) throw new CtMuscleError('E_EMPTY_MASK', `${label}: the edited segmentation is empty; there is nothing to re-measure.`);
  const sopInstanceUid = frame.referencedSopInstanceUid!;
  const { source, ordered, sliceIndex, volume } = await sliceVolume(headers, sopInstanceUid);
  const { rows, columns, pixelSpacingMm } = volume.geometry;
  if (rows !== readout.rows || columns !== readout.columns) {
    throw new CtMuscleError('E_INCONSISTENT_GEOMETRY', `The SEG is ${readout.rows}×${readout.columns}; the CT slice is ${rows}×${columns}.`);
  }
  const mask = maskForSlice(readout, sopInstanceUid, frame.segmentNumber)!;
  const muscle = measureMuscle({ mask, hu: volume.hu, rows, columns, pixelSpacingMm, heightM: patientHeightM(source) });
  if (!muscle) throw new CtMuscleError('E_EMPTY_MASK', `${label}: the edited segmentation is empty.`);
  const result: RemeasureResult = {
    studyInstanceUid: source.studyInstanceUid,
    editedSeg: { sopInstanceUid: readout.sopInstanceUid, seriesInstanceUid: readout.seriesInstanceUid },
    measuredSlice: { sopInstanceUid, frameNumber: frame.frameNumber },
    muscle,
    outputs: {},
  };
  const srInput: Omit<SrInput, 'options'> = {
    source,
    seriesSlices: ordered,
    level: { name: 'as-provided', sliceIndex, sopInstanceUid, zMm: volume.slices[0].zMm, rule: 'slice of the edited segmentation', method: 'manual correction', confidence: null, warnings: [] },
    segmenter: { ...CORRECTION_SEGMENTER, prompt: `edited DICOM-SEG ${readout.sopInstanceUid}` },
    flags: [`corrected: re-measured from the edited segmentation ${readout.sopInstanceUid}; supersedes the automatic measurement of this slice`],
    huWindow: MUSCLE_HU_WINDOW,
    measurements: muscle,
    seg: segReferenceOf(readout, frame, mask),
  };
  return { result, srInput, mask };
}

export async function remeasureFromSeg(segPath: string, ctPaths: string[], options: { outDir?: string; created?: Date } = {}): Promise<RemeasureResult> {
  const segBytes = new Uint8Array(await readFile(segPath));
  const { headers } = await scanInputs(ctPaths);
  const { result, srInput } = await correctionReport(segBytes, headers, segPath);
  if (!options.outDir) return result;
  const sr = writeSr({ ...srInput, options: { revision: `correction:${result.editedSeg.sopInstanceUid}`, created: options.created } });
  const directory = join(options.outDir, result.studyInstanceUid);
  await mkdir(directory, { recursive: true });
  const path = join(directory, 'sr-corrected.dcm');
  await writeFile(path, sr.bytes);
  result.outputs.sr = { path, sopInstanceUid: sr.sopInstanceUid, seriesInstanceUid: sr.seriesInstanceUid };
  return result;
}
