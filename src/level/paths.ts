/**
 * The level finder over files, for the CLI (`ct-muscle-node level <path>...`): DICOM files or
 * folders are scanned, grouped by series, one series per study is selected by the intake rules
 * and built into a volume; .nii/.nii.gz files are read as volumes directly. Every outcome is
 * reported per series, a failure as `{code, message}`, so one bad input never hides the others.
 */
import { dirname } from 'node:path';
import { describeError } from '../errors.ts';
import type { InstanceHeader } from '../dicom/types.ts';
import { isNiftiPath, readNiftiVolume } from '../dicom/nifti.ts';
import { scanPaths } from '../dicom/scan.ts';
import { groupIntoSeries, summarizeSeries } from '../dicom/series.ts';
import { buildVolume } from '../dicom/volume.ts';
import { requireSelectedSeries, selectSeries, type SelectionRules } from '../intake/select-series.ts';
import { findLevel } from './find-level.ts';
import type { LevelOptions, LevelResult } from './types.ts';

export interface LevelForPathsOptions extends LevelOptions {
  selection?: Partial<SelectionRules>;
}

export type PathLevelOutcome =
  | { source: string; seriesInstanceUid: string | null; ok: true; result: LevelResult }
  | { source: string; seriesInstanceUid: string | null; ok: false; error: { code: string; message: string } };

/** Where a series' files are, for people reading the output: their folders, joined. */
function foldersOf(instances: InstanceHeader[]): string {
  const folders = new Set(instances.map((i) => (i.source.kind === 'file' ? dirname(i.source.path) : i.source.label)));
  return [...folders].join(', ');
}

export async function levelForPaths(paths: string[], options: LevelForPathsOptions = {}): Promise<PathLevelOutcome[]> {
  const { selection, ...levelOptions } = options;
  const outcomes: PathLevelOutcome[] = [];
  for (const path of paths.filter(isNiftiPath)) {
    try {
      const volume = await readNiftiVolume(path);
      outcomes.push({ source: path, seriesInstanceUid: volume.seriesInstanceUid, ok: true, result: findLevel(volume, levelOptions) });
    } catch (error) {
      outcomes.push({ source: path, seriesInstanceUid: null, ok: false, error: describeError(error) });
    }
  }
  const dicomPaths = paths.filter((p) => !isNiftiPath(p));
  if (dicomPaths.length === 0) return outcomes;
  const source = dicomPaths.join(', ');
  try {
    const { headers, errors } = await scanPaths(dicomPaths);
    for (const error of errors) outcomes.push({ source: error.path, seriesInstanceUid: null, ok: false, error: { code: error.code, message: error.message } });
    const groups = groupIntoSeries(headers);
    if (groups.length === 0) {
      if (errors.length === 0) outcomes.push({ source, seriesInstanceUid: null, ok: false, error: { code: 'E_NO_SERIES', message: 'No DICOM series was found in the input.' } });
      return outcomes;
    }
    const studies = new Map<string, typeof groups>();
    for (const group of groups) studies.set(group.studyInstanceUid, [...(studies.get(group.studyInstanceUid) ?? []), group]);
    for (const studyGroups of studies.values()) {
      let seriesInstanceUid: string | null = null;
      try {
        const chosen = requireSelectedSeries(selectSeries(studyGroups.map(summarizeSeries), selection));
        seriesInstanceUid = chosen.seriesInstanceUid;
        const group = studyGroups.find((g) => g.seriesInstanceUid === chosen.seriesInstanceUid)!;
        const volume = await buildVolume(group);
        outcomes.push({ source: foldersOf(group.instances), seriesInstanceUid, ok: true, result: findLevel(volume, levelOptions) });
      } catch (error) {
        outcomes.push({ source: foldersOf(studyGroups.flatMap((g) => g.instances)), seriesInstanceUid, ok: false, error: describeError(error) });
      }
    }
  } catch (error) {
    outcomes.push({ source, seriesInstanceUid: null, ok: false, error: describeError(error) });
  }
  return outcomes;
}
