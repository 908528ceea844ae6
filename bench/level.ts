/**
 * npm run bench:level — level-finder speed on generated phantoms (256², 300 and 1,000 slices;
 * the time of findLevel alone, the volume already in memory) and the per-case answers on the
 * shared real CT next to the TotalSegmentator reference. Prints figures; asserts nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError } from '../src/errors.ts';
import { readNiftiVolume } from '../src/dicom/nifti.ts';
import { scanBuffers } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import { buildVolume } from '../src/dicom/volume.ts';
import type { CtVolume } from '../src/dicom/types.ts';
import { findLevel } from '../src/level/index.ts';
import type { LevelName as TargetLevel, LevelResult } from '../src/model/index.ts';
import { levelForPaths } from '../src/pipeline/index.ts';
import { generatePhantomStudy, type PhantomOptions } from '../src/phantom/index.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const sharedData = process.env.CT_MUSCLE_DATA ?? resolve(root, '../shared/data');

async function phantomVolume(options: PhantomOptions) {
  const { files, truth } = await generatePhantomStudy(options);
  const { headers } = scanBuffers(files.map((f) => ({ bytes: f.bytes, label: f.fileName })));
  return { volume: await buildVolume(groupIntoSeries(headers)[0]), truth };
}

function summary(result: LevelResult): string {
  return `slice ${result.sliceIndex} (z ${result.zMm.toFixed(1)} mm), confidence ${result.confidence}`;
}

function timed(volume: CtVolume, target: TargetLevel = 'T12'): { ms: number; text: string } {
  const start = performance.now();
  let text: string;
  try {
    text = summary(findLevel(volume, { target }));
  } catch (error) {
    text = JSON.stringify(describeError(error));
  }
  return { ms: performance.now() - start, text };
}

console.log('Phantom speed (256 × 256, findLevel only; volume already built):');
for (const [label, options] of [
  ['300 slices, 1 mm, L4 upward', { fromLevel: 'L4', sliceCount: 300, sliceThicknessMm: 1 }],
  ['1,000 slices, 0.5 mm, S1 upward', { fromLevel: 'S1', sliceCount: 1000, sliceThicknessMm: 0.5 }],
] as Array<[string, PhantomOptions]>) {
  const { volume, truth } = await phantomVolume(options);
  timed(volume); // warm-up (JIT)
  const runs = [timed(volume), timed(volume), timed(volume)];
  const ms = runs.map((r) => r.ms).sort((a, b) => a - b)[1];
  console.log(`  ${label}: ${ms.toFixed(0)} ms (median of 3) → ${runs[0].text}; truth T12 slice ${truth.t12.sliceIndex} (z ${truth.t12.zMm?.toFixed(1)})`);
}

console.log('\nShared real CT (reference = TotalSegmentator predictions, not manual truth):');
const cases: Array<{ label: string; path: string; target: TargetLevel; reference: string }> = [
  { label: 'example_ct_sm (L2→T12, 3 mm)', path: 'totalsegmentator_example_ct_sm/example_ct_sm.nii.gz', target: 'T12', reference: 'T12 body slices 20–29, mid ≈ 25' },
  { label: 'example_ct (pelvis→T12, 3 mm)', path: 'totalsegmentator_example_ct_full/example_ct.nii.gz', target: 'T12', reference: 'T12 body 102–111 (111 = top slice), centroid 107.4' },
  { label: 'example_ct, target L3', path: 'totalsegmentator_example_ct_full/example_ct.nii.gz', target: 'L3', reference: 'L3 body 69–79, centroid 73.8' },
  { label: 'DICOM T11/T12 (20 slices)', path: 'totalsegmentator_example_ct_dicom_T11-T12/uid_repaired_uncompressed', target: 'T12', reference: 'T12 on lower slices, T11 above; an error code is honest' },
  { label: 'dcmqi 3-slice CT', path: 'reference_seg_sr/dcmqi_liver_ct3slice/ct-3slice', target: 'T12', reference: 'E_INSUFFICIENT_COVERAGE' },
];
const sliceTable = resolve(sharedData, 'derived/dicom_T11-T12_slice_table.json');
for (const c of cases) {
  const path = resolve(sharedData, c.path);
  if (!existsSync(path)) {
    console.log(`  ${c.label}: skipped (${path} absent; set CT_MUSCLE_DATA)`);
    continue;
  }
  const start = performance.now();
  let text: string;
  if (path.endsWith('.nii.gz')) {
    const volume = await readNiftiVolume(path);
    text = timed(volume, c.target).text;
  } else {
    const [outcome] = await levelForPaths([path], { target: c.target });
    text = outcome.ok ? summary(outcome.result) : JSON.stringify(outcome.error);
    if (outcome.ok && existsSync(sliceTable)) {
      const rows = JSON.parse(readFileSync(sliceTable, 'utf8')).rows as Array<{ SOPInstanceUID: string; T12_area_cm2: number; T11_area_cm2: number }>;
      const row = rows.find((r) => r.SOPInstanceUID === outcome.result.sopInstanceUid);
      if (row) text += ` [reference: T12 ${row.T12_area_cm2} cm², T11 ${row.T11_area_cm2} cm²]`;
    }
  }
  console.log(`  ${c.label}: ${text} in ${(performance.now() - start).toFixed(0)} ms; reference: ${c.reference}`);
}
