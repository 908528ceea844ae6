/**
 * Input checks shared by the writers: a wrong mask size, a missing geometry attribute or an
 * impossible number must stop the writer with a typed error, never produce a file a viewer
 * draws in the wrong place.
 */
import { CtMuscleError } from '../errors.ts';
import type { InstanceHeader } from '../dicom/types.ts';
import type { MuscleMeasurements } from '../model/index.ts';
import type { BodyReportInput, ReportCommon } from './types.ts';

export interface SourceGeometry {
  rows: number;
  columns: number;
  imagePositionPatient: [number, number, number];
  imageOrientationPatient: [number, number, number, number, number, number];
  pixelSpacing: [number, number];
  sliceThickness: number | undefined;
  frameOfReferenceUid: string;
}

/** The attributes a pixel-aligned SEG frame copies from its source slice. */
export function requireGeometry(header: InstanceHeader): SourceGeometry {
  const missing: string[] = [];
  if (!header.rows) missing.push('Rows');
  if (!header.columns) missing.push('Columns');
  if (!header.imagePositionPatient) missing.push('ImagePositionPatient');
  if (!header.imageOrientationPatient) missing.push('ImageOrientationPatient');
  if (!header.pixelSpacing || header.pixelSpacing.some((v) => !(v > 0))) missing.push('PixelSpacing');
  if (!header.frameOfReferenceUid) missing.push('FrameOfReferenceUID');
  if (missing.length > 0) {
    throw new CtMuscleError('E_MISSING_ATTRIBUTE', `${header.sopInstanceUid}: ${missing.join(', ')} missing or invalid; the SEG could not be aligned with the CT.`, { missing });
  }
  if (header.numberOfFrames > 1) {
    throw new CtMuscleError('E_UNSUPPORTED_PIXEL_FORMAT', `${header.sopInstanceUid} is multi-frame; SEG output supports single-frame CT slices.`);
  }
  return {
    rows: header.rows!,
    columns: header.columns!,
    imagePositionPatient: header.imagePositionPatient!,
    imageOrientationPatient: header.imageOrientationPatient!,
    pixelSpacing: header.pixelSpacing!,
    sliceThickness: header.sliceThickness,
    frameOfReferenceUid: header.frameOfReferenceUid!,
  };
}

export function requireText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new CtMuscleError('E_REPORT_INVALID', `${what} must be a non-empty string.`);
  return value.trim();
}

export function validateCommon(input: ReportCommon): void {
  if (!input.source) throw new CtMuscleError('E_REPORT_INVALID', 'The source slice header is missing.');
  requireText(input.segmenter?.id, 'segmenter.id');
  requireText(input.segmenter?.version, 'segmenter.version');
  const { lowerHu, upperHu } = input.huWindow ?? {};
  if (!Number.isFinite(lowerHu) || !Number.isFinite(upperHu) || lowerHu >= upperHu) {
    throw new CtMuscleError('E_REPORT_INVALID', `huWindow must be two finite numbers, lower < upper; got ${lowerHu}..${upperHu}.`);
  }
  if (!Array.isArray(input.flags) || input.flags.some((f) => typeof f !== 'string')) {
    throw new CtMuscleError('E_REPORT_INVALID', 'flags must be an array of strings.');
  }
  const level = input.level;
  if (!level || typeof level.name !== 'string') throw new CtMuscleError('E_REPORT_INVALID', 'level is missing.');
  if (level.sopInstanceUid !== input.source.sopInstanceUid) {
    throw new CtMuscleError(
      'E_REPORT_INVALID',
      `level.sopInstanceUid ${level.sopInstanceUid} is not the source slice ${input.source.sopInstanceUid}.`,
    );
  }
  if (level.confidence !== undefined && level.confidence !== null && !(level.confidence >= 0 && level.confidence <= 1)) {
    throw new CtMuscleError('E_REPORT_INVALID', `level.confidence must be within 0..1 or null; got ${level.confidence}.`);
  }
  if (input.options?.created !== undefined && Number.isNaN(input.options.created.getTime())) {
    throw new CtMuscleError('E_REPORT_INVALID', 'options.created is not a valid date.');
  }
}

/** Finite-but-impossible numbers are errors; non-finite ones are only left out of the outputs. */
export function validateMeasurements(m: MuscleMeasurements): void {
  const nonNegative: Array<[string, number | null]> = [
    ['areaCm2', m.areaCm2],
    ['sdHu', m.sdHu],
    ['imatAreaCm2', m.imatAreaCm2],
    ['smiCm2PerM2', m.smiCm2PerM2],
    ['pixelCount', m.pixelCount],
  ];
  for (const [name, value] of nonNegative) {
    if (value !== null && Number.isFinite(value) && value < 0) throw new CtMuscleError('E_REPORT_INVALID', `${name} must not be negative; got ${value}.`);
  }
  const f = m.lowAttenuationFraction;
  if (f !== null && Number.isFinite(f) && (f < 0 || f > 1)) {
    throw new CtMuscleError('E_REPORT_INVALID', `lowAttenuationFraction is a fraction 0..1; got ${f}.`);
  }
}

/**
 * A body measurement must describe the slices it brings: the same slices in the same order as
 * its figures, none twice, the measured slice among them, every figure possible, and a mean that
 * lies within its range.
 */
export function validateBody(body: BodyReportInput, measuredSopInstanceUid: string): void {
  const { figures, slices } = body;
  const invalid = (why: string) => new CtMuscleError('E_REPORT_INVALID', `body: ${why}`);
  if (!figures || !Array.isArray(slices) || slices.length === 0) throw invalid('needs the measured slices and their figures.');
  if (figures.slices.length !== slices.length) throw invalid(`${slices.length} slices but figures for ${figures.slices.length}.`);
  const seen = new Set<string>();
  slices.forEach((slice, i) => {
    const uid = slice.source?.sopInstanceUid;
    if (uid !== figures.slices[i].sopInstanceUid) throw invalid(`slice ${i + 1} is ${uid}, its figures are for ${figures.slices[i].sopInstanceUid}.`);
    if (seen.has(uid)) throw invalid(`${uid} is listed twice.`);
    seen.add(uid);
    validateMeasurements(figures.slices[i].muscle);
  });
  if (!seen.has(measuredSopInstanceUid)) throw invalid(`the measured slice ${measuredSopInstanceUid} is not among the body slices.`);
  for (const [name, spread] of [['areaCm2', figures.areaCm2], ['meanHu', figures.meanHu], ['imatAreaCm2', figures.imatAreaCm2], ['smiCm2PerM2', figures.smiCm2PerM2]] as const) {
    if (spread === null && (name === 'areaCm2' || name === 'meanHu')) throw invalid(`${name} has no mean.`);
    if (spread && !(spread.min <= spread.mean && spread.mean <= spread.max)) throw invalid(`${name}: mean ${spread.mean} is not within ${spread.min}..${spread.max}.`);
  }
}
