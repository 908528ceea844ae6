/** results.csv and errors.csv of a batch (RFC 4180 through csv-stringify; one row per study). */
import { stringify } from 'csv-stringify/sync';
import type { ScanError } from '../dicom/scan.ts';
import type { BatchRow } from './types.ts';

/** Column → value. Numbers keep the measurer's precision; flags are joined with " | ". */
export const RESULT_COLUMNS: Array<[string, (row: BatchRow) => string | number | null]> = [
  ['study_instance_uid', (r) => r.studyInstanceUid],
  ['series_instance_uid', (r) => r.seriesInstanceUid],
  ['accession_number', (r) => r.accessionNumber],
  ['patient_age', (r) => r.patientAge],
  ['patient_sex', (r) => r.patientSex],
  ['patient_height_m', (r) => r.patientHeightM],
  ['level', (r) => r.level],
  ['slice_sop_instance_uid', (r) => r.sliceSopInstanceUid],
  ['slice_z_mm', (r) => r.sliceZMm],
  ['sma_cm2', (r) => r.smaCm2],
  ['smra_mean_hu', (r) => r.smraMeanHu],
  ['smra_sd_hu', (r) => r.smraSdHu],
  ['imat_cm2', (r) => r.imatCm2],
  ['low_attenuation_fraction', (r) => r.lowAttenuationFraction],
  ['smi_cm2_per_m2', (r) => r.smiCm2PerM2],
  ['verdict', (r) => r.verdict],
  ['flags', (r) => r.flags.join(' | ')],
  ['segmenter_id', (r) => r.segmenterId],
  ['segmenter_version', (r) => r.segmenterVersion],
  ['status', (r) => r.status],
  ['message', (r) => r.message],
  ['source', (r) => r.source],
  // measurement.slices "body" (empty otherwise); after the older columns so their positions stay.
  ['body_slices', (r) => r.body?.slices ?? null],
  ['body_sma_mean_cm2', (r) => r.body?.smaMeanCm2 ?? null],
  ['body_sma_min_cm2', (r) => r.body?.smaMinCm2 ?? null],
  ['body_sma_max_cm2', (r) => r.body?.smaMaxCm2 ?? null],
  ['body_smi_mean_cm2_per_m2', (r) => r.body?.smiMeanCm2PerM2 ?? null],
];

export function resultsCsv(rows: BatchRow[]): string {
  return stringify([RESULT_COLUMNS.map(([name]) => name), ...rows.map((row) => RESULT_COLUMNS.map(([, value]) => value(row) ?? ''))]);
}

/** Failed studies, and files that could not be read as DICOM (no study to put them in). */
export function errorsCsv(rows: BatchRow[], scanErrors: ScanError[]): string {
  const failed = rows.filter((r) => r.status !== 'ok').map((r) => [r.studyInstanceUid, r.source, r.status, r.message]);
  const unreadable = scanErrors.map((e) => ['', e.path, e.code, e.message]);
  return stringify([['study_instance_uid', 'source', 'code', 'message'], ...failed, ...unreadable]);
}
