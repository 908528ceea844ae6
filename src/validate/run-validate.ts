/**
 * `ct-muscle-node validate --reference REF --out DIR`: every reference case against the node,
 * one at a time (a case holds a whole CT), then the summary beside the paper's figures, the
 * plots, validation.json and validation.html.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { CtMuscleError } from '../errors.ts';
import { logger } from '../logging.ts';
import type { LevelName } from '../model/index.ts';
import type { Stages } from '../pipeline/index.ts';
import { readReference } from '../reference/read-reference.ts';
import { areaRecords } from './area-records.ts';
import { caseRecord } from './case-records.ts';
import { PAPER } from './metrics.ts';
import { summarizeRecords, validationHtml, writePlots } from './report.ts';
import type { CaseRecord, ValidationReport } from './types.ts';

export interface ValidateOptions {
  reference: string;
  outDir: string;
  config: Config;
  /** DICOM paths holding the studies of a CSV reference. */
  paths?: string[];
  stages?: Stages;
  target?: LevelName;
  segmenter?: 'default' | 'sam';
  onCase?: (record: CaseRecord, index: number, total: number) => void;
  created?: Date;
}

async function records(options: ValidateOptions, kind: Awaited<ReturnType<typeof readReference>>): Promise<CaseRecord[]> {
  if (kind.kind === 'areas') {
    if (!options.paths?.length) throw new CtMuscleError('E_REFERENCE_INVALID', 'A CSV of reader areas needs the studies too: give their DICOM folders after the options.');
    const out = await areaRecords(kind.areas, options.paths, options);
    out.forEach((r, i) => options.onCase?.(r, i + 1, out.length));
    return out;
  }
  const out: CaseRecord[] = [];
  for (const [i, c] of kind.cases.entries()) {
    const record = await caseRecord(c.id, c.directory, options.outDir, options);
    logger.info('validate: case', { id: c.id, status: record.status });
    options.onCase?.(record, i + 1, kind.cases.length);
    out.push(record);
  }
  return out;
}

export async function runValidate(options: ValidateOptions): Promise<ValidationReport> {
  const reference = await readReference(options.reference);
  await mkdir(options.outDir, { recursive: true });
  const cases = await records(options, reference);
  const summary = summarizeRecords(cases);
  const plots = await writePlots(options.outDir, cases, summary.primary);
  const report: ValidationReport = {
    format: 'ct-muscle-node/validation',
    version: 1,
    created: (options.created ?? new Date()).toISOString(),
    reference: options.reference,
    referenceKind: reference.kind,
    segmenters: [...new Set(cases.flatMap((c) => (c.segmenter ? [`${c.segmenter.id} ${c.segmenter.version}`] : [])))],
    paper: { dice: PAPER.dice, meanAreaErrorCm2: PAPER.meanAreaErrorCm2, gradeShares: { ...PAPER.gradeShares } },
    summary,
    cases,
    failed: cases.filter((c) => c.status !== 'ok').length,
    files: { json: join(options.outDir, 'validation.json'), html: join(options.outDir, 'validation.html'), ...plots },
  };
  await writeFile(report.files.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(report.files.html, validationHtml(report));
  return report;
}
