/**
 * The correction loop: a SEG that a reader edited (in a viewer, stored back) is re-measured on
 * the CT slice it references, and an amended SR is written that points at the edited SEG and
 * says the measurement was corrected. Its UIDs carry the edited SEG's UID as a revision, so the
 * amended report never collides with the original one.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CtMuscleError } from './errors.ts';
import { measureMuscle } from './measure/muscle.ts';
import { MUSCLE_HU_WINDOW, type MuscleMeasurements, type OutputFile } from './model/index.ts';
import { patientHeightM, scanInputs, sliceVolume } from './pipeline/index.ts';
import { anchorPixel, maskForSlice, readSegMask, SEG_SOP_CLASS_UID, writeSr } from './report/index.ts';

export const CORRECTION_SEGMENTER = { id: 'ct-muscle-node/correction', version: '1' };

export interface RemeasureResult {
  studyInstanceUid: string;
  editedSeg: { sopInstanceUid: string; seriesInstanceUid: string };
  measuredSlice: { sopInstanceUid: string; frameNumber: number };
  muscle: MuscleMeasurements;
  outputs: { sr?: OutputFile };
}

export async function remeasureFromSeg(segPath: string, ctPaths: string[], options: { outDir?: string; created?: Date } = {}): Promise<RemeasureResult> {
  const readout = await readSegMask(new Uint8Array(await readFile(segPath)));
  // The measured slice is the frame that holds the mask (full-stack SEGs have empty frames too).
  const frame = [...readout.frames].filter((f) => f.pixelCount > 0 && f.referencedSopInstanceUid).sort((a, b) => b.pixelCount - a.pixelCount)[0];
  if (!frame) throw new CtMuscleError('E_EMPTY_MASK', `${segPath}: the edited segmentation is empty; there is nothing to re-measure.`);
  const sopInstanceUid = frame.referencedSopInstanceUid!;
  const { headers } = await scanInputs(ctPaths);
  const { source, ordered, sliceIndex, volume } = await sliceVolume(headers, sopInstanceUid);
  const { rows, columns, pixelSpacingMm } = volume.geometry;
  if (rows !== readout.rows || columns !== readout.columns) {
    throw new CtMuscleError('E_INCONSISTENT_GEOMETRY', `The SEG is ${readout.rows}×${readout.columns}; the CT slice is ${rows}×${columns}.`);
  }
  const mask = maskForSlice(readout, sopInstanceUid, frame.segmentNumber)!;
  const muscle = measureMuscle({ mask, hu: volume.hu, rows, columns, pixelSpacingMm, heightM: patientHeightM(source) });
  if (!muscle) throw new CtMuscleError('E_EMPTY_MASK', `${segPath}: the edited segmentation is empty.`);
  const result: RemeasureResult = {
    studyInstanceUid: source.studyInstanceUid,
    editedSeg: { sopInstanceUid: readout.sopInstanceUid, seriesInstanceUid: readout.seriesInstanceUid },
    measuredSlice: { sopInstanceUid, frameNumber: frame.frameNumber },
    muscle,
    outputs: {},
  };
  if (!options.outDir) return result;
  const sr = writeSr({
    source,
    seriesSlices: ordered,
    level: { name: 'as-provided', sliceIndex, sopInstanceUid, zMm: volume.slices[0].zMm, rule: 'slice of the edited segmentation', method: 'manual correction', confidence: null, warnings: [] },
    segmenter: { ...CORRECTION_SEGMENTER, prompt: `edited DICOM-SEG ${readout.sopInstanceUid}` },
    flags: [`corrected: re-measured from the edited segmentation ${readout.sopInstanceUid}; supersedes the automatic measurement of this slice`],
    huWindow: MUSCLE_HU_WINDOW,
    measurements: muscle,
    seg: {
      sopClassUid: SEG_SOP_CLASS_UID,
      sopInstanceUid: readout.sopInstanceUid,
      seriesInstanceUid: readout.seriesInstanceUid,
      segmentNumber: frame.segmentNumber,
      frameNumber: frame.frameNumber,
      anchor: anchorPixel(mask, rows, columns),
    },
    options: { revision: `correction:${readout.sopInstanceUid}`, created: options.created },
  });
  const directory = join(options.outDir, source.studyInstanceUid);
  await mkdir(directory, { recursive: true });
  const path = join(directory, 'sr-corrected.dcm');
  await writeFile(path, sr.bytes);
  result.outputs.sr = { path, sopInstanceUid: sr.sopInstanceUid, seriesInstanceUid: sr.seriesInstanceUid };
  return result;
}
