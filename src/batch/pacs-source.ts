/**
 * `batch --from-pacs`: studies found by QIDO-RS filters, the series the selection rules pick
 * retrieved by WADO-RS into OUT/pacs/<StudyInstanceUID>/ (the node's spool layout: atomic
 * writes, one file per instance). A study already there in full is not retrieved again, so a
 * resumed batch only fetches what is missing. The batch then runs on that folder.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { firstString, retrieveSeries, searchAll } from '../dicomweb/client/dicomweb-client.ts';
import type { StowTarget } from '../dicomweb/client/stow-client.ts';
import { headerFromParsed, parseDicom } from '../dicom/read.ts';
import { describeError } from '../errors.ts';
import { chooseSeriesOnPacs } from '../node/poller.ts';
import type { SelectionRules } from '../intake/select-series.ts';
import { spooledPath, spoolInstance } from '../intake/spool.ts';

export interface PacsFilters {
  /** QIDO StudyDate: YYYYMMDD, or a range YYYYMMDD-YYYYMMDD (either end may be open). */
  studyDate?: string;
  /** ModalitiesInStudy (default CT). */
  modality?: string;
  accessionNumber?: string;
  patientId?: string;
}

export interface PacsFetchReport {
  directory: string;
  studiesFound: number;
  studiesRetrieved: number;
  instancesRetrieved: number;
  capped: boolean;
  errors: Array<{ studyInstanceUid: string; code: string; message: string }>;
}

export function qidoParams(filters: PacsFilters): Record<string, string> {
  const params: Record<string, string> = { ModalitiesInStudy: filters.modality ?? 'CT' };
  if (filters.studyDate) params.StudyDate = filters.studyDate;
  if (filters.accessionNumber) params.AccessionNumber = filters.accessionNumber;
  if (filters.patientId) params.PatientID = filters.patientId;
  return params;
}

async function allPresent(paths: string[]): Promise<boolean> {
  const present = await Promise.all(paths.map((p) => access(p).then(() => true, () => false)));
  return present.every(Boolean);
}

async function fetchOne(source: StowTarget, studyInstanceUid: string, directory: string, rules: SelectionRules, maxInstanceBytes: number): Promise<number> {
  const found = await chooseSeriesOnPacs(source, studyInstanceUid, rules);
  if (!found) return 0;
  if (await allPresent(found.instances.map((h) => spooledPath(directory, studyInstanceUid, h.sopInstanceUid)))) return 0;
  return retrieveSeries(
    source,
    studyInstanceUid,
    found.seriesInstanceUid,
    async (bytes) => {
      const header = headerFromParsed(parseDicom(bytes, { headerOnly: true }), { kind: 'memory', bytes, label: 'WADO-RS part' });
      await spoolInstance(directory, header.studyInstanceUid, header.sopInstanceUid, bytes);
    },
    { maxInstanceBytes },
  );
}

export async function fetchFromPacs(
  source: StowTarget,
  filters: PacsFilters,
  outDir: string,
  options: { selection: SelectionRules; pageSize: number; maxPages: number; maxInstanceBytes: number },
): Promise<PacsFetchReport> {
  const directory = join(outDir, 'pacs');
  const { items, capped } = await searchAll(source, 'studies', qidoParams(filters), '0020000D', options);
  const report: PacsFetchReport = { directory, studiesFound: items.length, studiesRetrieved: 0, instancesRetrieved: 0, capped, errors: [] };
  for (const item of items) {
    const studyInstanceUid = firstString(item, '0020000D');
    if (!studyInstanceUid) continue;
    try {
      const count = await fetchOne(source, studyInstanceUid, directory, options.selection, options.maxInstanceBytes);
      if (count > 0) report.studiesRetrieved++;
      report.instancesRetrieved += count;
    } catch (error) {
      // One study the PACS will not give never stops the others; it is listed in errors.csv.
      report.errors.push({ studyInstanceUid, ...describeError(error) });
    }
  }
  return report;
}
