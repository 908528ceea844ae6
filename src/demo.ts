/**
 * `npm run demo`: the job on embedded defaults, with no PACS and no model files. It generates a
 * seeded CT phantom study, then runs the stages that exist on it and says which are still to come.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config.ts';
import { inspectPaths } from './intake/inspect.ts';
import { logger } from './logging.ts';
import { writePhantomStudy } from './phantom/index.ts';

export interface DemoOptions {
  outDir?: string;
  config: Config;
}

export async function runDemo({ outDir, config }: DemoOptions): Promise<Record<string, unknown>> {
  const directory = outDir ?? (await mkdtemp(join(tmpdir(), 'ct-muscle-node-demo-')));
  const phantom = await writePhantomStudy(directory, { seed: 1, arms: true, fieldOfViewMm: 500 });
  logger.info('demo phantom written', { directory, slices: phantom.files.length });
  const report = await inspectPaths(phantom.files, config.selection);
  const selected = report.series.find((s) => s.selected);
  const t12 = phantom.truth.t12;
  return {
    phantom: {
      directory,
      truthFile: phantom.truthPath,
      sliceCount: phantom.files.length,
      orientation: phantom.truth.patientPosition,
      t12: { bodyZRangeMm: [t12.bodyInferiorMm, t12.bodySuperiorMm], midBodyMm: t12.midBodyMm, nearestSlice: t12.sopInstanceUid, muscleAreaCm2: t12.muscleAreaCm2 },
    },
    intake: {
      series: report.series.map(({ slices, ...rest }) => ({ ...rest, firstZMm: slices[0]?.zMm ?? null, lastZMm: slices.at(-1)?.zMm ?? null })),
      errors: report.errors,
      selectedSeriesInstanceUid: selected?.seriesInstanceUid ?? null,
    },
    stages: {
      intake: 'done: series read, geometry checked, series selected',
      level: 'not built yet: finding the T12 slice comes with the level-finder issue',
      segmentation: 'not built yet: comes with the segmentation issue',
      report: 'not built yet: DICOM-SEG and TID 1500 SR come with the outputs issue',
    },
  };
}
