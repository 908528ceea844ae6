/**
 * The CT of a reference case: DICOM CT image instances anywhere under the case folder, or
 * ct.nii/ct.nii.gz. DICOM-SEG files found on the way are handed back for the mask reader.
 */
import type { Vec3 } from '../dicom/geometry.ts';
import { readNiftiVolume } from '../dicom/nifti.ts';
import { scanPaths } from '../dicom/scan.ts';
import { groupIntoSeries, type SeriesGroup } from '../dicom/series.ts';
import type { CtVolume, InstanceHeader, SliceInfo, VolumeGeometry } from '../dicom/types.ts';
import { buildVolume, planVolume } from '../dicom/volume.ts';
import { CtMuscleError } from '../errors.ts';
import { SEG_SOP_CLASS_UID } from '../report/index.ts';
import type { GridDescription } from './grid.ts';
import type { CtSource } from './types.ts';

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

export interface CaseCt extends GridDescription {
  source: CtSource;
  /** DICOM: the series' headers in volume order; NIfTI: empty. */
  ordered: InstanceHeader[];
  studyInstanceUid: string | null;
  seriesInstanceUid: string | null;
  frameOfReferenceUid?: string;
  /**
   * case.json's sliceIndex → volume order. NIfTI: the index along the file's slice axis (what
   * viewers show); DICOM: already the index in the series sorted inferior → superior.
   */
  volumeIndexOf(sliceIndex: number): number;
  /** HU and slice description of slice k (volume order). */
  sliceAt(k: number): Promise<{ hu: Int16Array; slice: SliceInfo }>;
  loadVolume(): Promise<CtVolume>;
}

export interface DicomFindings {
  ctSeries: SeriesGroup[];
  segPaths: string[];
}

/** CT image instances (grouped by series) and SEG files under the given paths; other files are ignored. */
export async function scanCaseDicom(paths: string[]): Promise<DicomFindings> {
  const { headers } = await scanPaths(paths);
  const ct = headers.filter((h) => h.hasPixelData && (h.sopClassUid === CT_IMAGE_STORAGE || (h.modality === 'CT' && h.sopClassUid !== SEG_SOP_CLASS_UID)));
  const segPaths = headers.filter((h) => h.sopClassUid === SEG_SOP_CLASS_UID && h.source.kind === 'file').map((h) => (h.source as { path: string }).path);
  return { ctSeries: groupIntoSeries(ct), segPaths };
}

function sliceOfVolume(volume: CtVolume, k: number): { hu: Int16Array; slice: SliceInfo } {
  const n = volume.geometry.rows * volume.geometry.columns;
  return { hu: volume.hu.subarray(k * n, (k + 1) * n), slice: volume.slices[k] };
}

export function dicomCaseCt(group: SeriesGroup): CaseCt {
  const plan = planVolume(group);
  const paths = group.instances.map((h) => (h.source.kind === 'file' ? h.source.path : h.source.label));
  let whole: Promise<CtVolume> | undefined;
  return {
    source: { kind: 'dicom', paths },
    ordered: plan.ordered,
    studyInstanceUid: group.studyInstanceUid,
    seriesInstanceUid: group.seriesInstanceUid,
    frameOfReferenceUid: plan.ordered[0].frameOfReferenceUid,
    geometry: plan.geometry,
    positions: plan.ordered.map((h) => h.imagePositionPatient as Vec3),
    volumeIndexOf: (sliceIndex) => sliceIndex,
    sliceAt: async (k) => sliceOfVolume(await buildVolume(group, { sliceIndices: [k] }), 0),
    loadVolume: () => (whole ??= buildVolume(group)),
  };
}

export function volumeGrid(volume: CtVolume): { geometry: VolumeGeometry; positions: Vec3[] } {
  return { geometry: volume.geometry, positions: volume.slices.map((s) => s.imagePositionPatient) };
}

export async function niftiCaseCt(path: string): Promise<CaseCt> {
  const volume = await readNiftiVolume(path);
  return {
    source: { kind: 'nifti', path },
    ordered: [],
    studyInstanceUid: null,
    seriesInstanceUid: null,
    ...volumeGrid(volume),
    volumeIndexOf: (sliceIndex) => volume.slices.findIndex((s) => s.frameIndex === sliceIndex),
    sliceAt: async (k) => sliceOfVolume(volume, k),
    loadVolume: async () => volume,
  };
}

/** The one CT series of a DICOM case; several only when a SEG tells which one was drawn on. */
export function requireOneSeries(series: SeriesGroup[], caseId: string, referencedSopUids: string[]): SeriesGroup {
  if (series.length === 0) throw new CtMuscleError('E_REFERENCE_NO_CT', `${caseId}: no CT image instance and no ct.nii/ct.nii.gz.`);
  if (series.length === 1) return series[0];
  const wanted = new Set(referencedSopUids);
  const referenced = series.filter((g) => g.instances.some((h) => wanted.has(h.sopInstanceUid)));
  if (referenced.length === 1) return referenced[0];
  throw new CtMuscleError('E_REFERENCE_INVALID', `${caseId}: ${series.length} CT series and the mask does not tell which one the reader used; keep one series per case.`);
}
