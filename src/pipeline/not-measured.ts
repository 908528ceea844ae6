/**
 * A study the node looked at but could not measure (no suitable series, level not in view, …)
 * gets an SR that says why (output.notMeasuredSr, on by default), so a radiologist can tell "not
 * measurable" from "not processed". Node failures (missing stage, I/O, model files) get none:
 * those studies are retried once the node is fixed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SeriesGroup } from '../dicom/series.ts';
import type { InstanceHeader } from '../dicom/types.ts';
import { ERROR_CODES } from '../errors.ts';
import { PACKAGE_VERSION, type LevelName, type StudyOutputs } from '../model/index.ts';
import { writeNotMeasuredSr } from '../report/index.ts';

/** Statuses that say the node (not the study) failed. */
export const NODE_FAILURE_CODES: ReadonlySet<string> = new Set(['E_STAGE_UNAVAILABLE', 'E_INTERNAL', 'E_IO', 'E_MODEL_MANIFEST', 'E_MODEL_FILE', 'E_MODEL_LOAD', 'E_MODEL_FORMAT']);

/** The sentence a reader sees first, then the node's own message. */
function headline(code: string, target: LevelName): string {
  switch (code) {
    case 'E_LEVEL_NOT_IN_VIEW':
      return `${target} not in the field of view`;
    case 'E_INSUFFICIENT_COVERAGE':
      return `Too little of the spine in the field of view to find ${target}`;
    case 'E_LEVEL_AMBIGUOUS':
      return `The vertebral level ${target} cannot be told with certainty`;
    case 'E_NO_SUITABLE_SERIES':
      return 'No CT series suitable for measurement';
    default:
      return (ERROR_CODES as Record<string, string>)[code]?.replace(/\.$/, '') ?? 'Not measurable';
  }
}

export function notMeasuredReason(code: string, message: string, target: LevelName): string {
  const first = headline(code, target);
  return message && message !== first ? `${first}. ${message}` : `${first}.`;
}

/** The chosen series' middle image, else the study's first CT image, else its first instance. */
function representative(headers: InstanceHeader[], group: SeriesGroup | undefined): InstanceHeader | undefined {
  if (group?.instances.length) return group.instances[Math.floor(group.instances.length / 2)];
  return headers.find((h) => h.modality === 'CT' && h.hasPixelData) ?? headers[0];
}

export interface NotMeasuredOptions {
  code: string;
  message: string;
  target: LevelName;
  outDir: string;
  created?: Date;
}

/** sr.dcm and result.json for a not-measured study under outDir/<StudyInstanceUID>/; none for node failures. */
export async function writeNotMeasured(headers: InstanceHeader[], group: SeriesGroup | undefined, options: NotMeasuredOptions): Promise<StudyOutputs> {
  const source = representative(headers, group);
  if (!source || NODE_FAILURE_CODES.has(options.code)) return {};
  const reason = notMeasuredReason(options.code, options.message, options.target);
  const sr = writeNotMeasuredSr({ source, target: options.target, code: options.code, reason, software: { id: 'ct-muscle-node', version: PACKAGE_VERSION }, options: { created: options.created, softwareVersion: PACKAGE_VERSION } });
  const directory = join(options.outDir, source.studyInstanceUid);
  await mkdir(directory, { recursive: true });
  const path = join(directory, 'sr.dcm');
  await writeFile(path, sr.bytes);
  const json = join(directory, 'result.json');
  const result = { studyInstanceUid: source.studyInstanceUid, outcome: 'not-measured', status: options.code, reason, sr: { sopInstanceUid: sr.sopInstanceUid, seriesInstanceUid: sr.seriesInstanceUid } };
  await writeFile(json, `${JSON.stringify(result, null, 2)}\n`);
  return { sr: { path, sopInstanceUid: sr.sopInstanceUid, seriesInstanceUid: sr.seriesInstanceUid }, json };
}
