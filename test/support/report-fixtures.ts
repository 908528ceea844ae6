/**
 * Inputs for the report tests: a real slice of the shared T11/T12 series (headers only), a
 * synthetic mask with a known pixel count, and synthetic headers built by changing a real one's
 * geometry, and phantom series in each patient position with their true T12 mask. Measurements
 * are computed from the mask so the numbers are self-consistent.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import dcmjs from 'dcmjs';
import { readInstanceHeader } from '../../src/dicom/read.ts';
import { scanPaths } from '../../src/dicom/scan.ts';
import { groupIntoSeries } from '../../src/dicom/series.ts';
import type { InstanceHeader } from '../../src/dicom/types.ts';
import { buildVolume, planVolume } from '../../src/dicom/volume.ts';
import { decodeMaskRle, generatePhantomStudy, type PatientPosition } from '../../src/phantom/index.ts';
import { writeReport, type ReportOutput } from '../../src/report/report.ts';
import type { FoundLevel, HuWindow, MuscleMeasurements, SegmenterInfo } from '../../src/model/index.ts';
import type { ReportCommon } from '../../src/report/types.ts';
import { dataPath, makeTempDir, run } from './env.ts';
import { countOnes } from '../../src/image/morphology.ts';

export const SHARED_SERIES_DIR = dataPath('totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_uncompressed');
export const CREATED = new Date(Date.UTC(2025, 5, 30, 12, 34, 56, 789));
export const SEGMENTER: SegmenterInfo = { id: 'muscle-sam2', version: '1.2.0', prompt: 'box from detector' };
export const HU_WINDOW: HuWindow = { lowerHu: -29, upperHu: 150 };
/** Index (inferior → superior) of the slice the tests measure. */
export const MEASURED_INDEX = 12;

export interface SharedSeries {
  ordered: InstanceHeader[];
  source: InstanceHeader;
}

export async function loadSharedSeries(): Promise<SharedSeries> {
  const { headers, errors } = await scanPaths([SHARED_SERIES_DIR]);
  if (errors.length > 0) throw new Error(`cannot read the shared series: ${JSON.stringify(errors)}`);
  const [group] = groupIntoSeries(headers);
  const { ordered } = planVolume(group);
  return { ordered, source: ordered[MEASURED_INDEX] };
}

export const SHARED_LABELS_NIFTI = dataPath('totalsegmentator_example_ct_dicom_T11-T12', 'example_seg_dicom.nii.gz');

/**
 * TotalSegmentator's erector spinae (autochthon, labels 86/87) on one slice of the shared series,
 * on the DICOM grid (data README: DICOM row = 511 − j, column = i; NIfTI k = slice index
 * inferior → superior). A realistic stand-in for a segmenter's output in the viewer check and
 * the docs; model-predicted, not ground truth.
 */
export function autochthonMask(sliceIndex: number): Uint8Array {
  const nifti = gunzipSync(readFileSync(SHARED_LABELS_NIFTI));
  const dims = [1, 2, 3].map((k) => nifti.readInt16LE(40 + 2 * k));
  const datatype = nifti.readInt16LE(70);
  const offset = Math.round(nifti.readFloatLE(108));
  if (datatype !== 2 || dims[0] !== 512 || dims[1] !== 512) throw new Error(`unexpected label volume ${dims} type ${datatype}`);
  const [ni, nj] = dims;
  const mask = new Uint8Array(512 * 512);
  for (let j = 0; j < nj; j++) {
    for (let i = 0; i < ni; i++) {
      const label = nifti[offset + sliceIndex * ni * nj + j * ni + i];
      if (label === 86 || label === 87) mask[(511 - j) * 512 + i] = 1;
    }
  }
  return mask;
}

/** HU of one slice of the shared series (the grid the mask and the overlay use). */
export async function sliceHu(ordered: InstanceHeader[], sliceIndex: number): Promise<Int16Array> {
  const [group] = groupIntoSeries(ordered);
  const volume = await buildVolume(group, { sliceIndices: [sliceIndex] });
  return volume.hu.slice(0, volume.geometry.rows * volume.geometry.columns);
}

/**
 * Numbers measured from HU inside `mask` for the report tests: area, mean/SD HU, IMAT
 * (−190..−30 HU) area and the −29..29 HU fraction; no height, so no SMI. Not src/measure on
 * purpose: it counts IMAT inside the mask itself, so the hole-free synthetic masks of these tests
 * still carry a non-zero IMAT for the SR and viewer checks to find.
 */
export function measureHu(hu: ArrayLike<number>, mask: Uint8Array, pixelSpacing: [number, number]): MuscleMeasurements {
  const pixelArea = (pixelSpacing[0] * pixelSpacing[1]) / 100;
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  let fat = 0;
  let low = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const value = hu[i];
    n++;
    sum += value;
    sumSq += value * value;
    if (value >= -190 && value <= -30) fat++;
    if (value >= -29 && value <= 29) low++;
  }
  const mean = sum / n;
  return {
    areaCm2: n * pixelArea,
    meanHu: mean,
    sdHu: Math.sqrt(Math.max(0, sumSq / n - mean * mean)),
    imatAreaCm2: fat * pixelArea,
    lowAttenuationFraction: low / n,
    smiCm2PerM2: null,
    pixelCount: n,
  };
}

/** Numbers measured on the real slice inside `mask` (see measureHu). */
export async function measureOnSlice(series: SharedSeries, sliceIndex: number, mask: Uint8Array): Promise<MuscleMeasurements> {
  return measureHu(await sliceHu(series.ordered, sliceIndex), mask, series.ordered[sliceIndex].pixelSpacing!);
}

export const PHANTOM_ORIENTATIONS = ['HFS', 'FFS', 'HFP', 'FFP'] as const satisfies readonly PatientPosition[];

export interface PhantomCase {
  orientation: PatientPosition;
  /** Instance files in acquisition order (what a scanner would send). */
  files: Uint8Array[];
  /** Slice headers inferior → superior. */
  ordered: InstanceHeader[];
  /** The T12 slice of the phantom's truth. */
  source: InstanceHeader;
  sliceIndex: number;
  /** The phantom's true T12 muscle mask, on the stored grid. */
  mask: Uint8Array;
  hu: Int16Array;
  measurements: MuscleMeasurements;
  level: FoundLevel;
}

/**
 * A small phantom series (256², L1 → T11, ~26 slices, ~0.2 s) in one patient position, each in
 * its own study (the patient ID differs), with its T12 slice, true muscle mask, HU and numbers.
 */
export function phantomCase(orientation: PatientPosition): Promise<PhantomCase> {
  let pending = phantomCases.get(orientation);
  if (!pending) phantomCases.set(orientation, (pending = makePhantomCase(orientation)));
  return pending;
}

/** Generated once per test run and shared (the cases are read-only). */
const phantomCases = new Map<PatientPosition, Promise<PhantomCase>>();

async function makePhantomCase(orientation: PatientPosition): Promise<PhantomCase> {
  const { files, truth } = await generatePhantomStudy({
    rows: 256,
    columns: 256,
    fromLevel: 'L1',
    toLevel: 'T11',
    orientation,
    patient: { id: `PHANTOM-${orientation}`, name: `PHANTOM^${orientation}` },
  });
  const headers = await Promise.all(files.map((f) => readInstanceHeader({ kind: 'memory', bytes: f.bytes, label: f.fileName })));
  const [group] = groupIntoSeries(headers);
  const { ordered } = planVolume(group);
  const sliceIndex = ordered.findIndex((h) => h.sopInstanceUid === truth.t12.sopInstanceUid);
  if (sliceIndex < 0 || sliceIndex !== truth.t12.sliceIndex || !truth.t12.muscleMask) throw new Error(`phantom ${orientation}: T12 slice not found`);
  const source = ordered[sliceIndex];
  const mask = decodeMaskRle(truth.t12.muscleMask);
  const hu = await sliceHu(ordered, sliceIndex);
  return {
    orientation,
    files: files.map((f) => f.bytes),
    ordered,
    source,
    sliceIndex,
    mask,
    hu,
    measurements: measureHu(hu, mask, source.pixelSpacing!),
    level: { ...levelFor(source, sliceIndex), method: 'phantom truth', confidence: 1, warnings: [] },
  };
}

/** SEG + SR + overlay (options.overlay) for a phantom case's T12 slice and true mask. */
export function phantomReport(c: PhantomCase, overlay = true): ReportOutput {
  return writeReport({
    ...commonFor(c.source),
    level: c.level,
    options: { created: CREATED, softwareVersion: '0.1.0', overlay },
    mask: c.mask,
    hu: c.hu,
    measurements: c.measurements,
  });
}

/** A filled ellipse plus a separate rectangle: asymmetric, so any flip or transpose shows. */
export function syntheticMask(rows: number, columns: number): Uint8Array {
  const mask = new Uint8Array(rows * columns);
  const cy = rows * 0.55;
  const cx = columns * 0.4;
  const ry = rows * 0.2;
  const rx = columns * 0.3;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const inEllipse = ((r - cy) / ry) ** 2 + ((c - cx) / rx) ** 2 <= 1;
      const inRectangle = r >= Math.floor(rows * 0.1) && r < Math.floor(rows * 0.2) && c >= Math.floor(columns * 0.75) && c < Math.floor(columns * 0.9);
      if (inEllipse || inRectangle) mask[r * columns + c] = 1;
    }
  }
  return mask;
}

export function measurementsFor(mask: Uint8Array, pixelSpacing: [number, number]): MuscleMeasurements {
  const pixelCount = countOnes(mask);
  return {
    areaCm2: (pixelCount * pixelSpacing[0] * pixelSpacing[1]) / 100,
    meanHu: 38.25,
    sdHu: 17.04,
    imatAreaCm2: 4.875,
    lowAttenuationFraction: 0.1234,
    smiCm2PerM2: 41.237,
    pixelCount,
  };
}

export function levelFor(source: InstanceHeader, index = MEASURED_INDEX): FoundLevel {
  return {
    name: 'T12',
    sliceIndex: index,
    sopInstanceUid: source.sopInstanceUid,
    zMm: source.imagePositionPatient![2],
    rule: 'mid-vertebral-body',
    method: 'test-level-finder 0.1',
    confidence: 0.87,
    warnings: ['T12 body partly above the field of view'],
  };
}

export function commonFor(source: InstanceHeader, extra: Partial<ReportCommon> = {}): ReportCommon {
  return {
    source,
    level: levelFor(source),
    segmenter: SEGMENTER,
    flags: ['iv-contrast'],
    huWindow: HU_WINDOW,
    options: { created: CREATED, softwareVersion: '0.1.0' },
    ...extra,
  };
}

export interface GeometryChange {
  sopInstanceUid?: string;
  rows?: number;
  columns?: number;
  imagePositionPatient?: [number, number, number];
  imageOrientationPatient?: [number, number, number, number, number, number];
}

/** A copy of a real header with other geometry (and optionally another SOP Instance UID). */
export function withGeometry(header: InstanceHeader, change: GeometryChange): InstanceHeader {
  const dataset = { ...header.dataset };
  const out: InstanceHeader = { ...header, dataset };
  if (change.sopInstanceUid) {
    out.sopInstanceUid = change.sopInstanceUid;
    dataset.SOPInstanceUID = change.sopInstanceUid;
  }
  if (change.rows !== undefined) out.rows = dataset.Rows = change.rows;
  if (change.columns !== undefined) out.columns = dataset.Columns = change.columns;
  if (change.imagePositionPatient) {
    out.imagePositionPatient = change.imagePositionPatient;
    dataset.ImagePositionPatient = [...change.imagePositionPatient];
  }
  if (change.imageOrientationPatient) {
    out.imageOrientationPatient = change.imageOrientationPatient;
    dataset.ImageOrientationPatient = [...change.imageOrientationPatient];
  }
  return out;
}

/** Parse written bytes with dcmjs directly (not the node's reader): an independent check. */
export function naturalize(bytes: Uint8Array): Record<string, unknown> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const dict = dcmjs.data.DicomMessage.readFile(buffer);
  const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
  dataset._meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.meta);
  return dataset;
}

export interface ValidatorReport {
  status: number;
  errors: string[];
  warnings: string[];
  output: string;
}

/** dciodvfy (dicom3tools) on bytes: its Error and Warning lines; it exits 1 on errors. */
export function dciodvfy(bytes: Uint8Array): ValidatorReport {
  const dir = makeTempDir('ctmn-dciodvfy-');
  try {
    const file = join(dir.path, 'object.dcm');
    writeFileSync(file, bytes);
    const result = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    const lines = output.split('\n');
    return {
      status: result.status ?? -1,
      errors: lines.filter((l) => l.startsWith('Error')),
      warnings: lines.filter((l) => l.startsWith('Warning')),
      output,
    };
  } finally {
    dir.remove();
  }
}

/** dsrdump (dcmtk) with concept name codes. */
export function dsrdump(bytes: Uint8Array): string {
  const dir = makeTempDir('ctmn-dsrdump-');
  try {
    const file = join(dir.path, 'sr.dcm');
    writeFileSync(file, bytes);
    return run('dsrdump', ['+Pc', '+Pu', file]);
  } finally {
    dir.remove();
  }
}
