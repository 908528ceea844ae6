/** What validate writes (validation.json) and the HTML report reads. */
import type { BodyMeasurements } from '../model/index.ts';
import type { AgreementSummary, AreaComparison, Grade } from './metrics.ts';

export interface LevelAgreement {
  ours: string;
  oursZMm: number | null;
  readerZMm: number;
  /** |our slice − the reader's slice| along z (mm); null when our level has no position. */
  differenceMm: number | null;
  /** The same in slices of the series. */
  differenceSlices: number | null;
}

export interface BodyArea {
  slices: number;
  meanCm2: number;
  minCm2: number;
  maxCm2: number;
}

export type ComparisonRecord = Pick<AreaComparison, 'readerAreaCm2' | 'oursAreaCm2' | 'differenceCm2' | 'relativeDifference' | 'dice'> & { grade: Grade };

export interface CaseRecord {
  id: string;
  /** 'ok' or the error code (the case could not be read or run). */
  status: string;
  message: string;
  studyInstanceUid: string | null;
  ct: 'dicom' | 'nifti' | null;
  mask: 'seg' | 'nifti' | 'csv' | null;
  sliceIndex: number | null;
  sliceSopInstanceUid: string | null;
  sliceZMm: number | null;
  sliceChoice: string | null;
  notes: string[];
  statedAreaCm2: number | null;
  /** Our mask vs the reader's pixels within −29..150 HU (CSV: our area vs the reader's area). */
  primary: ComparisonRecord | null;
  /** Our mask vs the reader's whole mask (none for a CSV reference). */
  full: ComparisonRecord | null;
  level: LevelAgreement | { error: { code: string; message: string } } | null;
  segmenter: { id: string; version: string } | null;
  /**
   * measurement.slices "body": the node's area over the vertebral body it found (mean and range
   * over its slices), beside the reader's single slice; null otherwise or when no level was found.
   */
  oursBody: BodyArea | null;
  /** Picture of the reader's slice, relative to the output folder. */
  picture: string | null;
}

export interface LevelSummary {
  n: number;
  meanAbsMm: number;
  maxAbsMm: number;
  /** Share of cases whose slice is within one slice of the reader's. */
  withinOneSlice: number;
}

export interface ValidationReport {
  format: 'ct-muscle-node/validation';
  version: 1;
  created: string;
  reference: string;
  referenceKind: 'cases' | 'areas';
  segmenters: string[];
  paper: { dice: number; meanAreaErrorCm2: number; gradeShares: Record<Grade, number> };
  summary: { primary: AgreementSummary | null; full: AgreementSummary | null; level: LevelSummary | null };
  cases: CaseRecord[];
  failed: number;
  files: { json: string; html: string; blandAltman: string | null; scatter: string | null };
}

/** The record's view of a body measurement (null without one). */
export function bodyAreaOf(body: BodyMeasurements | undefined): BodyArea | null {
  return body ? { slices: body.slices.length, meanCm2: body.areaCm2.mean, minCm2: body.areaCm2.min, maxCm2: body.areaCm2.max } : null;
}
