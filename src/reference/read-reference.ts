/**
 * A site's reference for `validate` (format in docs/validation.md): either a folder with one
 * subfolder per case (CT as DICOM or ct.nii[.gz]; the reader's mask as a DICOM-SEG or
 * mask.nii[.gz] on the CT grid; optional case.json), or a CSV of reader areas per study.
 * Each case is read on its own, so one bad case is reported and never hides the others.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CtMuscleError, describeError } from '../errors.ts';
import { readReferenceAreas } from './areas-csv.ts';
import { readCaseJson, type CaseJson } from './case-json.ts';
import { dicomCaseCt, niftiCaseCt, requireOneSeries, scanCaseDicom, type CaseCt } from './case-ct.ts';
import { niftiCaseMask, readCaseSeg, segCaseMask, type CaseMask } from './case-mask.ts';
import { chooseReaderSlice } from './slice-choice.ts';
import type { MaskSource, ReferenceArea, ReferenceCase, ReferenceCaseOutcome } from './types.ts';

export type * from './types.ts';

export type Reference = { kind: 'cases'; cases: Array<{ id: string; directory: string }> } | { kind: 'areas'; path: string; areas: ReferenceArea[] };

const NIFTI_NAME = /^(ct|mask)\.nii(\.gz)?$/i;

/** What REF is: a CSV of areas, or a folder whose subfolders are cases. */
export async function readReference(ref: string): Promise<Reference> {
  let info;
  try {
    info = await stat(ref);
  } catch (error) {
    throw new CtMuscleError('E_REFERENCE_INVALID', `The reference ${ref} cannot be read: ${(error as Error).message}`);
  }
  if (info.isFile() && /\.csv$/i.test(ref)) return { kind: 'areas', path: ref, areas: await readReferenceAreas(ref) };
  if (!info.isDirectory()) throw new CtMuscleError('E_REFERENCE_INVALID', `The reference ${ref} is neither a folder of cases nor a .csv of reader areas.`);
  const entries = await readdir(ref, { withFileTypes: true });
  const cases = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => ({ id: e.name, directory: join(ref, e.name) }))
    .sort((a, b) => a.id.localeCompare(b.id));
  if (cases.length === 0) throw new CtMuscleError('E_REFERENCE_INVALID', `The reference folder ${ref} holds no case folder.`);
  return { kind: 'cases', cases };
}

interface CaseFiles {
  ctNifti?: string;
  maskNifti?: string;
  /** Everything else, searched for DICOM. */
  others: string[];
}

async function caseFiles(directory: string): Promise<CaseFiles> {
  const entries = await readdir(directory, { withFileTypes: true });
  const files: CaseFiles = { others: [] };
  for (const entry of entries) {
    const path = join(directory, entry.name);
    const nifti = NIFTI_NAME.exec(entry.name);
    if (nifti && nifti[1].toLowerCase() === 'ct') files.ctNifti = path;
    else if (nifti) files.maskNifti = path;
    else if (entry.name !== 'case.json' && !entry.name.startsWith('.')) files.others.push(path);
  }
  return files;
}

interface CtAndMask {
  ct: CaseCt;
  mask: CaseMask;
  maskSource: MaskSource;
}

async function loadCtAndMask(id: string, files: CaseFiles, caseJson: CaseJson): Promise<CtAndMask> {
  const dicom = files.others.length > 0 ? await scanCaseDicom(files.others) : { ctSeries: [], segPaths: [] };
  if (files.ctNifti && dicom.ctSeries.length > 0) throw new CtMuscleError('E_REFERENCE_INVALID', `${id}: both ct.nii and DICOM CT; keep one.`);
  if (dicom.segPaths.length > 1) throw new CtMuscleError('E_REFERENCE_INVALID', `${id}: ${dicom.segPaths.length} DICOM-SEG files; keep the reader's one.`);
  if (dicom.segPaths.length === 1 && files.maskNifti) throw new CtMuscleError('E_REFERENCE_INVALID', `${id}: both a DICOM-SEG and mask.nii; keep one.`);
  const segPath = dicom.segPaths[0];
  if (!segPath && !files.maskNifti) throw new CtMuscleError('E_REFERENCE_NO_MASK', `${id}: no DICOM-SEG and no mask.nii/mask.nii.gz.`);
  const readout = segPath ? await readCaseSeg(segPath) : undefined;
  const ct = files.ctNifti ? await niftiCaseCt(files.ctNifti) : dicomCaseCt(requireOneSeries(dicom.ctSeries, id, readout?.referencedSopInstanceUids ?? []));
  if (readout && segPath) {
    const mask = segCaseMask(readout, ct, id, caseJson.label);
    return { ct, mask, maskSource: { kind: 'seg', path: segPath, sopInstanceUid: readout.sopInstanceUid } };
  }
  const maskPath = files.maskNifti!;
  return { ct, mask: await niftiCaseMask(maskPath, ct, id, caseJson.label), maskSource: { kind: 'nifti', path: maskPath } };
}

/** case.json's slice in volume order, or undefined when it names none. */
function explicitSlice(id: string, ct: CaseCt, caseJson: CaseJson): number | undefined {
  if (caseJson.sliceSopInstanceUid !== undefined) {
    if (ct.source.kind !== 'dicom') throw new CtMuscleError('E_REFERENCE_INVALID', `${id}: sliceSopInstanceUid needs a DICOM CT; use sliceIndex with ct.nii.`);
    const k = ct.ordered.findIndex((h) => h.sopInstanceUid === caseJson.sliceSopInstanceUid);
    if (k < 0) throw new CtMuscleError('E_REFERENCE_INVALID', `${id}: case.json's slice ${caseJson.sliceSopInstanceUid} is not in the CT series.`);
    if (caseJson.sliceIndex !== undefined && ct.volumeIndexOf(caseJson.sliceIndex) !== k) {
      throw new CtMuscleError('E_REFERENCE_INVALID', `${id}: case.json's sliceSopInstanceUid and sliceIndex name different slices.`);
    }
    return k;
  }
  return caseJson.sliceIndex === undefined ? undefined : ct.volumeIndexOf(caseJson.sliceIndex);
}

/** One case folder → the reader's slice, its HU and mask, and access to the whole CT. */
export async function readReferenceCase(directory: string): Promise<ReferenceCase> {
  const id = basename(directory);
  const caseJson = await readCaseJson(join(directory, 'case.json'));
  const files = await caseFiles(directory);
  const { ct, mask, maskSource } = await loadCtAndMask(id, files, caseJson);
  const chosen = chooseReaderSlice(mask.pixelCounts, explicitSlice(id, ct, caseJson), id);
  const { hu, slice } = await ct.sliceAt(chosen.sliceIndex);
  const sliceMask = mask.maskAt(chosen.sliceIndex);
  const pixelSpacingMm = ct.geometry.pixelSpacingMm;
  const notes = [...chosen.notes];
  if (caseJson.label !== undefined) notes.push(`${maskSource.kind === 'seg' ? 'segment' : 'label'} ${caseJson.label} only`);
  return {
    id,
    directory,
    ctSource: ct.source,
    maskSource,
    ctHeaders: ct.ordered,
    studyInstanceUid: ct.studyInstanceUid,
    seriesInstanceUid: ct.seriesInstanceUid,
    geometry: ct.geometry,
    sliceCount: ct.positions.length,
    sliceIndex: chosen.sliceIndex,
    sliceSopInstanceUid: ct.source.kind === 'dicom' ? slice.sopInstanceUid : undefined,
    slice,
    hu,
    pixelSpacingMm,
    mask: sliceMask,
    readerAreaCm2: (mask.pixelCounts[chosen.sliceIndex] * pixelSpacingMm[0] * pixelSpacingMm[1]) / 100,
    statedAreaCm2: caseJson.areaCm2,
    sliceChoice: chosen.choice,
    notes,
    loadVolume: ct.loadVolume,
  };
}

/** The same, with any failure as a typed outcome instead of a throw. */
export async function readReferenceCaseOutcome(id: string, directory: string): Promise<ReferenceCaseOutcome> {
  try {
    return { id, directory, ok: true, reference: await readReferenceCase(directory) };
  } catch (error) {
    return { id, directory, ok: false, error: describeError(error) };
  }
}
