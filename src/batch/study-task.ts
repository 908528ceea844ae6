/**
 * One study of a batch, through the pipeline's study-level function: the study's files are read,
 * analyzed (level, segmentation, measurement; SEG/SR with --dicom) and turned into a results.csv
 * row, with a thumbnail of the measured slice and its mask.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Config } from '../config.ts';
import { stringValue } from '../dicom/dataset-values.ts';
import { scanPaths } from '../dicom/scan.ts';
import type { InstanceHeader } from '../dicom/types.ts';
import { describeError } from '../errors.ts';
import { analyzeHeaders, patientHeightM, type Stages, type StudyResult } from '../pipeline/index.ts';
import { renderSlicePng } from '../render/slice-png.ts';
import { capturingStages, type CapturedSlice } from './capture-stages.ts';
import type { BatchRow, StudyTask } from './types.ts';

/** A row with nothing measured yet. */
export function emptyRow(task: StudyTask): BatchRow {
  return {
    studyInstanceUid: task.study.studyInstanceUid,
    seriesInstanceUid: null,
    accessionNumber: null,
    patientAge: null,
    patientSex: null,
    patientHeightM: null,
    level: null,
    sliceSopInstanceUid: null,
    sliceZMm: null,
    smaCm2: null,
    smraMeanHu: null,
    smraSdHu: null,
    imatCm2: null,
    lowAttenuationFraction: null,
    smiCm2PerM2: null,
    body: null,
    verdict: null,
    flags: [],
    segmenterId: null,
    segmenterVersion: null,
    status: 'ok',
    message: '',
    source: task.study.source,
    thumbnail: null,
    outputs: [],
  };
}

function patientFields(header: InstanceHeader | undefined): Pick<BatchRow, 'accessionNumber' | 'patientAge' | 'patientSex' | 'patientHeightM'> {
  if (!header) return { accessionNumber: null, patientAge: null, patientSex: null, patientHeightM: null };
  const text = (keyword: string) => stringValue(header.dataset, keyword)?.trim() || null;
  return { accessionNumber: text('AccessionNumber'), patientAge: text('PatientAge'), patientSex: text('PatientSex'), patientHeightM: patientHeightM(header) ?? null };
}

/** "low muscle (smi 38.2 < 41; citation)" or "not low (…)"; null when no site cut-off applies. */
function verdictText(verdict: StudyResult['verdict']): string | null {
  if (!verdict) return null;
  const comparison = `${verdict.measure} ${Number(verdict.value.toFixed(2))} ${verdict.lowMuscle ? '<' : '≥'} ${verdict.threshold}`;
  return `${verdict.lowMuscle ? 'low muscle' : 'not low'} (${comparison}; ${verdict.citation})`;
}

function bodyOf(body: StudyResult['body']): BatchRow['body'] {
  if (!body) return null;
  return { slices: body.slices.length, smaMeanCm2: body.areaCm2.mean, smaMinCm2: body.areaCm2.min, smaMaxCm2: body.areaCm2.max, smiMeanCm2PerM2: body.smiCm2PerM2?.mean ?? null };
}

/** The results.csv row of a pipeline result (pure: no I/O). */
export function rowOf(task: StudyTask, result: StudyResult, header: InstanceHeader | undefined): BatchRow {
  const m = result.muscle;
  return {
    ...emptyRow(task),
    ...patientFields(header),
    seriesInstanceUid: result.seriesInstanceUid,
    level: result.level?.name ?? null,
    sliceSopInstanceUid: result.level?.sopInstanceUid ?? null,
    sliceZMm: result.level?.zMm ?? null,
    smaCm2: m?.areaCm2 ?? null,
    smraMeanHu: m?.meanHu ?? null,
    smraSdHu: m?.sdHu ?? null,
    imatCm2: m?.imatAreaCm2 ?? null,
    lowAttenuationFraction: m?.lowAttenuationFraction ?? null,
    smiCm2PerM2: m?.smiCm2PerM2 ?? null,
    body: bodyOf(result.body),
    verdict: verdictText(result.verdict),
    flags: result.flags,
    segmenterId: result.segmenter?.id ?? null,
    segmenterVersion: result.segmenter?.version ?? null,
    status: result.status,
    message: result.message,
    outputs: [result.outputs.seg?.path, result.outputs.sr?.path].filter((p): p is string => !!p).map((p) => relative(task.outDir, p)),
  };
}

async function writeThumbnail(task: StudyTask, slice: CapturedSlice): Promise<string> {
  const directory = join(task.outDir, 'thumbnails');
  await mkdir(directory, { recursive: true });
  const name = `${task.study.studyInstanceUid}.png`;
  await writeFile(join(directory, name), renderSlicePng({ ...slice, mask: slice.mask }));
  return `thumbnails/${name}`;
}

/** Never throws: a failure is the row's status. `stages` replaces the default ones in tests. */
export async function runStudyTask(task: StudyTask, config: Config, stages?: Stages): Promise<BatchRow> {
  try {
    const { headers, errors } = await scanPaths(task.study.files);
    if (headers.length === 0) {
      const first = errors[0];
      return { ...emptyRow(task), status: first?.code ?? 'E_NO_SERIES', message: first ? `${first.path}: ${first.message}` : 'No DICOM instance left in the study.' };
    }
    const capture = capturingStages(stages);
    const [result] = await analyzeHeaders(headers, {
      config,
      stages: capture.stages,
      outDir: task.dicom ? join(task.outDir, 'studies') : undefined,
      segmenter: task.segmenter,
      target: task.target,
      // A batch thread analyses study after study; stages passed in (tests) might keep the stack.
      keepStackMemory: stages === undefined,
    });
    const header = headers.find((h) => h.seriesInstanceUid === result.seriesInstanceUid && h.sopInstanceUid === result.level?.sopInstanceUid) ?? headers.find((h) => h.seriesInstanceUid === result.seriesInstanceUid);
    const row = rowOf(task, result, header);
    const slice = capture.captured();
    if (slice && result.status === 'ok') row.thumbnail = await writeThumbnail(task, slice);
    return row;
  } catch (error) {
    const { code, message } = describeError(error);
    return { ...emptyRow(task), status: code, message };
  }
}
