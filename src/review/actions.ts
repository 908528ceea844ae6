/**
 * The review actions. Each checks its input before it changes anything, writes what it must
 * (amended SR, the edited SEG), hands the files to write-back (the same destination as the
 * node's first SR) and records who did it and when.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { correctionReport } from '../correction.ts';
import { CtMuscleError, isCtMuscleError } from '../errors.ts';
import { readSegMask, writeSr, type SrPredecessor } from '../report/index.ts';
import type { Basis } from './basis.ts';
import type { ReviewRecord, ReviewStore } from './review-store.ts';

export interface OutputFileRef {
  path: string;
  sopInstanceUid: string;
}

export interface ActionDeps {
  outputsDir: string;
  reviews: ReviewStore;
  organization: string;
  /** Queue files for write-back to the configured destination (or the local folder). */
  writeBack(studyInstanceUid: string, files: OutputFileRef[]): Promise<void>;
  /** Queue the study again, on the given slice (the `requeue --slice` path). */
  requeue(studyInstanceUid: string, sliceSopInstanceUid: string): Promise<unknown>;
}

export interface Reviewer {
  name: string;
  authenticatedAs: string;
}

const stamp = (at: number) => new Date(at).toISOString().replace(/[-:.]/g, '');

async function writeAmended(deps: ActionDeps, uid: string, name: string, bytes: Uint8Array): Promise<string> {
  const directory = join(deps.outputsDir, uid, 'review');
  await mkdir(directory, { recursive: true });
  const path = join(directory, name);
  await writeFile(path, bytes);
  return path;
}

function srRef(sr: { studyInstanceUid: string; seriesInstanceUid: string; sopClassUid: string; sopInstanceUid: string }): SrPredecessor {
  return { studyInstanceUid: sr.studyInstanceUid, seriesInstanceUid: sr.seriesInstanceUid, sopClassUid: sr.sopClassUid, sopInstanceUid: sr.sopInstanceUid };
}

/** accept: an amended SR, VERIFIED, with the reviewer as verifying observer. */
export async function accept(deps: ActionDeps, uid: string, basis: Basis, reviewer: Reviewer): Promise<ReviewRecord> {
  const at = Date.now();
  const sr = writeSr({
    ...basis.srInput,
    verification: { observerName: reviewer.name, organization: deps.organization, dateTime: new Date(at) },
    predecessor: basis.predecessor,
    options: { revision: `accept:${at}`, created: new Date(at) },
  });
  const path = await writeAmended(deps, uid, `sr-verified-${stamp(at)}.dcm`, sr.bytes);
  await deps.writeBack(uid, [{ path, sopInstanceUid: sr.sopInstanceUid }]);
  return await deps.reviews.record({ studyInstanceUid: uid, action: 'accept', who: reviewer.name, authenticatedAs: reviewer.authenticatedAs, at, detail: { sr: srRef(sr), srPath: path, result: basis.kind } });
}

/** reject: an amended SR without numbers that says the measurement is not to be used, and why. */
export async function reject(deps: ActionDeps, uid: string, basis: Basis, reviewer: Reviewer, reason: string): Promise<ReviewRecord> {
  const at = Date.now();
  const why = reason.trim() || 'no reason given';
  const sr = writeSr({
    ...basis.srInput,
    measurements: null,
    seg: null,
    notMeasurableReason: `Rejected on review by ${reviewer.name} (${new Date(at).toISOString()}): ${why}. The measurement of the predecessor report is not to be used.`,
    flags: [...basis.srInput.flags, 'rejected on review: not to be used'],
    predecessor: basis.predecessor,
    options: { revision: `reject:${at}`, created: new Date(at) },
  });
  const path = await writeAmended(deps, uid, `sr-rejected-${stamp(at)}.dcm`, sr.bytes);
  await deps.writeBack(uid, [{ path, sopInstanceUid: sr.sopInstanceUid }]);
  return await deps.reviews.record({ studyInstanceUid: uid, action: 'reject', who: reviewer.name, authenticatedAs: reviewer.authenticatedAs, at, detail: { sr: srRef(sr), srPath: path, reason: why } });
}

/** choose another slice: the study runs again on it (level finding skipped). */
export async function chooseSlice(deps: ActionDeps, uid: string, basis: Pick<Basis, 'ordered'>, reviewer: Reviewer, sliceIndex: number): Promise<ReviewRecord> {
  const slice = Number.isInteger(sliceIndex) ? basis.ordered[sliceIndex] : undefined;
  if (!slice) throw new CtMuscleError('E_SLICE_NOT_FOUND', `Slice ${sliceIndex} is not in the measured series (0..${basis.ordered.length - 1}).`);
  await deps.requeue(uid, slice.sopInstanceUid);
  return await deps.reviews.record({
    studyInstanceUid: uid,
    action: 'choose-slice',
    who: reviewer.name,
    authenticatedAs: reviewer.authenticatedAs,
    detail: { sliceIndex, sopInstanceUid: slice.sopInstanceUid, zMm: slice.imagePositionPatient?.[2] ?? null },
  });
}

/** Reads the upload as a SEG of this study, or says why not (E_NOT_SEG, E_SEG_MISMATCH). */
async function checkUploadedSeg(bytes: Uint8Array, uid: string): Promise<void> {
  let readout;
  try {
    readout = await readSegMask(bytes);
  } catch (error) {
    const why = isCtMuscleError(error) ? error.message : String(error);
    throw new CtMuscleError('E_NOT_SEG', `The uploaded file is not a DICOM Segmentation: ${why}`);
  }
  if (readout.studyInstanceUid !== uid) throw new CtMuscleError('E_SEG_MISMATCH', `The segmentation belongs to study ${readout.studyInstanceUid}, not to the reviewed study ${uid}.`);
}

/**
 * upload an edited SEG: re-measured on the slice it references in the measured series, an amended
 * SR that references it; the SEG and the SR go to the destination. Nothing is stored when the SEG
 * is not a SEG, belongs elsewhere, has another geometry or an empty mask.
 */
export async function correct(deps: ActionDeps, uid: string, basis: Basis, reviewer: Reviewer, bytes: Uint8Array): Promise<ReviewRecord> {
  await checkUploadedSeg(bytes, uid);
  let report;
  try {
    report = await correctionReport(bytes, basis.ordered, 'the uploaded segmentation', basis.ordered[basis.sliceIndex]?.sopInstanceUid);
  } catch (error) {
    if (isCtMuscleError(error) && error.code === 'E_SLICE_NOT_FOUND') {
      throw new CtMuscleError('E_SEG_MISMATCH', `The segmentation is drawn on a slice that is not in the measured series: ${error.message}`);
    }
    throw error;
  }
  const at = Date.now();
  const sr = writeSr({ ...report.srInput, predecessor: basis.predecessor, options: { revision: `correction:${report.result.editedSeg.sopInstanceUid}:${at}`, created: new Date(at) } });
  const editedSegPath = await writeAmended(deps, uid, `seg-edited-${stamp(at)}.dcm`, bytes);
  const srPath = await writeAmended(deps, uid, `sr-corrected-${stamp(at)}.dcm`, sr.bytes);
  await deps.writeBack(uid, [
    { path: editedSegPath, sopInstanceUid: report.result.editedSeg.sopInstanceUid },
    { path: srPath, sopInstanceUid: sr.sopInstanceUid },
  ]);
  const { pixelCount, ...muscle } = report.result.muscle;
  return await deps.reviews.record({
    studyInstanceUid: uid,
    action: 'correct',
    who: reviewer.name,
    authenticatedAs: reviewer.authenticatedAs,
    at,
    detail: { sr: srRef(sr), srPath, editedSegPath, editedSeg: report.result.editedSeg, measuredSlice: report.result.measuredSlice, muscle, pixelCount },
  });
}
