/** Reference cases → CaseRecords: read, evaluated, pictured; every failure becomes the case's status. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../errors.ts';
import type { ReferenceCase } from '../reference/read-reference.ts';
import { readReferenceCaseOutcome } from '../reference/read-reference.ts';
import { renderSlicePng } from '../render/slice-png.ts';
import { evaluateCase, type CaseEvaluation, type EvaluateOptions } from './evaluate-case.ts';
import type { AreaComparison } from './metrics.ts';
import type { CaseRecord, ComparisonRecord, LevelAgreement } from './types.ts';

export function emptyRecord(id: string): CaseRecord {
  return {
    id, status: 'ok', message: '', studyInstanceUid: null, ct: null, mask: null, sliceIndex: null, sliceSopInstanceUid: null, sliceZMm: null,
    sliceChoice: null, notes: [], statedAreaCm2: null, primary: null, full: null, level: null, segmenter: null, oursBody: null, picture: null,
  };
}

export function comparisonRecord(c: AreaComparison): ComparisonRecord {
  const { readerAreaCm2, oursAreaCm2, differenceCm2, relativeDifference, dice, grade } = c;
  return { readerAreaCm2, oursAreaCm2, differenceCm2, relativeDifference, dice, grade };
}

function levelAgreement(ref: ReferenceCase, level: CaseEvaluation['level']): CaseRecord['level'] {
  if ('error' in level) return level;
  const readerZMm = ref.slice.zMm;
  const differenceMm = level.zMm === null ? null : Math.abs(level.zMm - readerZMm);
  const spacing = ref.geometry.sliceSpacingMm;
  const agreement: LevelAgreement = { ours: level.name, oursZMm: level.zMm, readerZMm, differenceMm, differenceSlices: differenceMm !== null && spacing ? differenceMm / spacing : null };
  return agreement;
}

async function writePicture(outDir: string, ref: ReferenceCase, evaluation: CaseEvaluation): Promise<string> {
  await mkdir(join(outDir, 'cases'), { recursive: true });
  const name = `cases/${ref.id.replace(/[^A-Za-z0-9._-]/g, '_')}.png`;
  const { rows, columns } = ref.geometry;
  await writeFile(join(outDir, name), renderSlicePng({ hu: ref.hu, rows, columns, pixelSpacingMm: ref.pixelSpacingMm, mask: evaluation.ours.mask, outline: ref.mask, size: 320 }));
  return name;
}

function referenceFields(ref: ReferenceCase): Partial<CaseRecord> {
  return {
    studyInstanceUid: ref.studyInstanceUid,
    ct: ref.ctSource.kind,
    mask: ref.maskSource.kind,
    sliceIndex: ref.sliceIndex,
    sliceSopInstanceUid: ref.sliceSopInstanceUid ?? null,
    sliceZMm: ref.slice.zMm,
    sliceChoice: ref.sliceChoice,
    notes: ref.notes,
    statedAreaCm2: ref.statedAreaCm2 ?? null,
  };
}

/** One case folder → its record (never throws). */
export async function caseRecord(id: string, directory: string, outDir: string, options: EvaluateOptions): Promise<CaseRecord> {
  const outcome = await readReferenceCaseOutcome(id, directory);
  if (!outcome.ok) return { ...emptyRecord(id), status: outcome.error.code, message: outcome.error.message };
  const ref = outcome.reference;
  const record: CaseRecord = { ...emptyRecord(id), ...referenceFields(ref) };
  try {
    const evaluation = await evaluateCase(ref, options);
    record.primary = comparisonRecord(evaluation.inRange);
    record.full = comparisonRecord(evaluation.full);
    record.level = levelAgreement(ref, evaluation.level);
    record.segmenter = evaluation.segmenter;
    record.oursBody = evaluation.oursBody;
    record.picture = await writePicture(outDir, ref, evaluation);
    record.message = 'compared';
  } catch (error) {
    const { code, message } = describeError(error);
    record.status = code;
    record.message = message;
  }
  return record;
}
