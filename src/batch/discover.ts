/** Inputs → studies: every DICOM file under the paths, grouped by study, with a fingerprint per study. */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { scanPaths, type ScanError } from '../dicom/scan.ts';
import type { InstanceHeader } from '../dicom/types.ts';
import type { BatchStudy } from './types.ts';

function fingerprint(headers: InstanceHeader[], sizes: Map<string, number>): string {
  const lines = headers.map((h) => `${h.sopInstanceUid}:${h.source.kind === 'file' ? sizes.get(h.source.path) ?? 0 : 0}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/** Reads headers only (no pixels); the worker reads the files again when it runs the study. */
export async function discoverStudies(paths: string[], fileSize: (path: string) => Promise<number>): Promise<{ studies: BatchStudy[]; errors: ScanError[] }> {
  const { headers, errors } = await scanPaths(paths);
  const byStudy = new Map<string, InstanceHeader[]>();
  for (const h of headers) byStudy.set(h.studyInstanceUid, [...(byStudy.get(h.studyInstanceUid) ?? []), h]);
  const studies: BatchStudy[] = [];
  for (const [studyInstanceUid, studyHeaders] of byStudy) {
    const files = studyHeaders.flatMap((h) => (h.source.kind === 'file' ? [h.source.path] : []));
    const sizes = new Map(await Promise.all(files.map(async (f) => [f, await fileSize(f)] as const)));
    const source = [...new Set(files.map((f) => dirname(f)))].join(', ');
    studies.push({ studyInstanceUid, files, inputHash: fingerprint(studyHeaders, sizes), source });
  }
  studies.sort((a, b) => a.source.localeCompare(b.source) || a.studyInstanceUid.localeCompare(b.studyInstanceUid));
  return { studies, errors };
}
