/**
 * A CSV reference (reader areas, no masks) → CaseRecords: each listed study is found under the
 * given DICOM paths and run through the pipeline (on the reader's slice when the CSV names it),
 * and our area is compared with the reader's. No Dice: there is no mask to compare.
 */
import { stat } from 'node:fs/promises';
import { discoverStudies } from '../batch/discover.ts';
import type { Config } from '../config.ts';
import { scanPaths } from '../dicom/scan.ts';
import { describeError } from '../errors.ts';
import { analyzeHeaders, type Stages } from '../pipeline/index.ts';
import type { ReferenceArea } from '../reference/read-reference.ts';
import { comparisonRecord, emptyRecord } from './case-records.ts';
import { compareAreas } from './metrics.ts';
import { bodyAreaOf, type CaseRecord } from './types.ts';

export async function areaRecords(areas: ReferenceArea[], paths: string[], options: { config: Config; stages?: Stages }): Promise<CaseRecord[]> {
  const { studies } = await discoverStudies(paths, async (p) => (await stat(p)).size);
  const byUid = new Map(studies.map((s) => [s.studyInstanceUid, s]));
  const records: CaseRecord[] = [];
  for (const area of areas) {
    const record: CaseRecord = { ...emptyRecord(area.studyInstanceUid), studyInstanceUid: area.studyInstanceUid, mask: 'csv', ct: 'dicom', sliceSopInstanceUid: area.sliceSopInstanceUid ?? null };
    records.push(record);
    const study = byUid.get(area.studyInstanceUid);
    if (!study) {
      Object.assign(record, { status: 'E_STUDY_NOT_FOUND', message: `Study ${area.studyInstanceUid} is not under ${paths.join(', ')}.`, ct: null });
      continue;
    }
    try {
      const { headers } = await scanPaths(study.files);
      const [result] = await analyzeHeaders(headers, { config: options.config, stages: options.stages, sliceSopInstanceUid: area.sliceSopInstanceUid });
      record.segmenter = result.segmenter && { id: result.segmenter.id, version: result.segmenter.version };
      record.sliceZMm = result.level?.zMm ?? null;
      record.sliceChoice = area.sliceSopInstanceUid ? 'csv' : 'ours';
      record.oursBody = bodyAreaOf(result.body);
      if (!result.muscle) throw Object.assign(new Error(result.message), { status: result.status });
      record.primary = comparisonRecord(compareAreas(result.muscle.areaCm2, area.areaCm2));
      record.message = 'compared';
    } catch (error) {
      const status = (error as { status?: string }).status;
      record.status = status ?? describeError(error).code;
      record.message = describeError(error).message;
    }
  }
  return records;
}
