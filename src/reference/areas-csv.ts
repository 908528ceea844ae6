/** A CSV of reader areas: `StudyInstanceUID,areaCm2[,sliceSopInstanceUid]`, header row optional. */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { CtMuscleError } from '../errors.ts';
import type { ReferenceArea } from './types.ts';

const UID = /^[0-9]+(\.[0-9]+)*$/;

function rowOf(cells: string[], line: number, path: string): ReferenceArea {
  const [studyInstanceUid, area, slice] = cells.map((c) => c.trim());
  const areaCm2 = Number(area);
  if (!UID.test(studyInstanceUid ?? '')) throw new CtMuscleError('E_REFERENCE_INVALID', `${path} line ${line}: "${studyInstanceUid}" is not a StudyInstanceUID.`);
  if (!(areaCm2 > 0) || !Number.isFinite(areaCm2)) throw new CtMuscleError('E_REFERENCE_INVALID', `${path} line ${line}: area "${area}" is not a positive number of cm².`);
  if (slice && !UID.test(slice)) throw new CtMuscleError('E_REFERENCE_INVALID', `${path} line ${line}: "${slice}" is not a SOP Instance UID.`);
  return slice ? { studyInstanceUid, areaCm2, sliceSopInstanceUid: slice } : { studyInstanceUid, areaCm2 };
}

export async function readReferenceAreas(path: string): Promise<ReferenceArea[]> {
  let records: string[][];
  try {
    records = parse(await readFile(path, 'utf8'), { skip_empty_lines: true, relax_column_count: true, comment: '#', bom: true });
  } catch (error) {
    throw new CtMuscleError('E_REFERENCE_INVALID', `${path}: ${(error as Error).message}`);
  }
  const hasHeader = records.length > 0 && /studyinstanceuid/i.test(records[0][0] ?? '');
  const rows = records.slice(hasHeader ? 1 : 0).map((cells, i) => rowOf(cells, i + (hasHeader ? 2 : 1), path));
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.studyInstanceUid)) throw new CtMuscleError('E_REFERENCE_INVALID', `${path}: study ${row.studyInstanceUid} is listed twice.`);
    seen.add(row.studyInstanceUid);
  }
  if (rows.length === 0) throw new CtMuscleError('E_REFERENCE_INVALID', `${path} lists no study.`);
  return rows;
}
