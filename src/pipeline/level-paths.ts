/**
 * The level finder over files, for the CLI (`ct-muscle-node level <path>...`): DICOM files or
 * folders are scanned, grouped by series, one series per study is selected by the intake rules
 * and decoded onto the level finder's grid; .nii/.nii.gz files are read as volumes directly. Every outcome is
 * reported per series, a failure as `{code, message}`, so one bad input never hides the others.
 */
import { dirname } from 'node:path';
import { describeError } from '../errors.ts';
import type { InstanceHeader } from '../dicom/types.ts';
import { isNiftiPath, readNiftiVolume } from '../dicom/nifti.ts';
import type { Config } from '../config.ts';
import type { SelectionRules } from '../intake/select-series.ts';
import { findLevel, type LevelOptions } from '../level/index.ts';
import type { LevelResult } from '../model/index.ts';
import { byStudy, scanInputs, studyVolume, type RunOptions } from './study.ts';

export interface LevelForPathsOptions extends LevelOptions, RunOptions {
  selection?: Partial<SelectionRules>;
  /** Config `decode.levelGrid`, so that `level` finds the slice `analyze` measures. */
  levelGrid?: Config['decode']['levelGrid'];
}

export type PathLevelOutcome =
  | { source: string; seriesInstanceUid: string | null; ok: true; result: LevelResult }
  | { source: string; seriesInstanceUid: string | null; ok: false; error: { code: string; message: string } };

/** Where a series' files are, for people reading the output: their folders, joined. */
function foldersOf(instances: InstanceHeader[]): string {
  const folders = new Set(instances.map((i) => (i.source.kind === 'file' ? dirname(i.source.path) : i.source.label)));
  return [...folders].join(', ');
}

/**
 * The level finder's own result (with its evidence: the `level` command's contract) on the
 * series the pipeline selects and builds for one study.
 */
async function levelOfStudy(headers: InstanceHeader[], selection: Partial<SelectionRules> | undefined, levelOptions: LevelOptions, run: RunOptions & Pick<LevelForPathsOptions, 'levelGrid'>): Promise<PathLevelOutcome> {
  let seriesInstanceUid: string | null = null;
  try {
    const { group, volume, stack } = await studyVolume(headers, selection, run);
    seriesInstanceUid = group.seriesInstanceUid;
    return { source: foldersOf(group.instances), seriesInstanceUid, ok: true, result: findLevel(volume, levelOptions, stack) };
  } catch (error) {
    return { source: foldersOf(headers), seriesInstanceUid, ok: false, error: describeError(error) };
  }
}

export async function levelForPaths(paths: string[], options: LevelForPathsOptions = {}): Promise<PathLevelOutcome[]> {
  const { selection, observer, stages, levelGrid, ...levelOptions } = options;
  const run = { observer, stages, levelGrid };
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
    const { headers, errors } = await scanInputs(dicomPaths);
    for (const error of errors) outcomes.push({ source: error.path, seriesInstanceUid: null, ok: false, error: { code: error.code, message: error.message } });
    if (headers.length === 0) {
      if (errors.length === 0) outcomes.push({ source, seriesInstanceUid: null, ok: false, error: { code: 'E_NO_SERIES', message: 'No DICOM series was found in the input.' } });
      return outcomes;
    }
    for (const studyHeaders of byStudy(headers).values()) outcomes.push(await levelOfStudy(studyHeaders, selection, levelOptions, run));
  } catch (error) {
    outcomes.push({ source, seriesInstanceUid: null, ok: false, error: describeError(error) });
  }
  return outcomes;
}
