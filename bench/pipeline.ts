/**
 * npm run bench:pipeline — per-stage milliseconds of `analyze` on a generated phantom (512²),
 * beside the read floor measured in the same run (reading the same files' bytes), as a ratio;
 * and the peak RSS of the measuring process. Prints figures; asserts nothing.
 *
 * usage: npm run bench:pipeline -- [--slices 300] [--slices 1000] [--j2k] [--runs 1]
 *   --slices  series length(s) to measure (default 300; repeat the flag for several)
 *   --j2k     also measure the same phantom stored as JPEG 2000 lossless (and once more with
 *             config decode.levelGrid "half": slices put on the level finder's grid from
 *             half-resolution decodes; the result line shows the slice it chose)
 *
 * The phantom is generated into a temporary folder by this process; each measurement then runs
 * in a fresh child process so that its peak RSS (maxRSS) is that of `analyze` alone and not of
 * the generator. The read floor is taken warm (the files were just written, so they are in the
 * page cache), as the pipeline reads them warm too: the ratio compares like with like.
 *
 * The measuring child runs the TypeScript sources through tsx (~50 MB of RSS of its own). So the
 * installed command's own figure is printed beside it: `analyze` from dist/ (plain Node, as
 * bin/ct-muscle-node.js runs it) on the same files: the whole process's wall time (Node's start
 * and the loading of every module included: ~0.5 s before the analysis begins), the time from
 * loading main.js, and peak RSS; only when dist/ is newer than every source file (`npm run
 * build`), otherwise it says why it was skipped. The measuring child's stage times start at the
 * scan, with its modules already loaded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { dicomLimitsFromConfig } from '../src/dicom/limits.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import { NATIVE_SYNTAXES } from '../src/dicom/transfer-syntax.ts';
import type { InstanceHeader } from '../src/dicom/types.ts';
import { decodeSeries, planVolume } from '../src/dicom/volume.ts';
import { PHANTOM_TRANSFER_SYNTAXES } from '../src/phantom/options.ts';
import { writePhantomStudy } from '../src/phantom/index.ts';
import { analyzeHeaders, scanInputs, type StageEvent } from '../src/pipeline/index.ts';
import { compiledMain, freshBuild } from './support/build.ts';

/** Stage names as the issue lists them (pipeline stage → printed name). */
const PRINTED: Record<string, string> = { select: 'select', volume: 'decode/HU', level: 'level', slices: 're-read measured slices', 'segment-measure': 'segment+measure', report: 'report', outputs: 'write' };

const { values: args } = parseArgs({
  options: {
    slices: { type: 'string', multiple: true },
    j2k: { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
    measure: { type: 'string' },
    'level-grid': { type: 'string' },
  },
});

const load = () => loadavg().map((v) => v.toFixed(1)).join(' ');

/** Read every file of the folder once, as the pipeline must at least do; milliseconds and bytes. */
async function readFloor(dir: string): Promise<{ ms: number; bytes: number }> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.dcm'));
  const started = performance.now();
  let bytes = 0;
  for (const name of names) bytes += (await readFile(join(dir, name))).byteLength;
  return { ms: performance.now() - started, bytes };
}

/**
 * A compressed series decoded again on this thread alone (after the pipeline, so the peak RSS is
 * the pipeline's): the issue's target for it is 1.2 × this / cores + 0.5 s. Null for native data.
 */
async function singleCoreDecode(headers: InstanceHeader[]): Promise<number | null> {
  if (headers.every((h) => NATIVE_SYNTAXES.has(h.transferSyntaxUid))) return null;
  const group = groupIntoSeries(headers)[0];
  const started = performance.now();
  await decodeSeries(group, planVolume(group), () => undefined);
  return performance.now() - started;
}

/** Child process: floor, then scan + the pipeline stages, printed as one JSON line. */
async function measure(dir: string): Promise<void> {
  const floor = await readFloor(dir);
  const defaults = loadConfig({ env: {} });
  const levelGrid = args['level-grid'] === 'half' ? 'half' : defaults.decode.levelGrid;
  const config = { ...defaults, decode: { ...defaults.decode, levelGrid } };
  const out = mkdtempSync(join(tmpdir(), 'ctmn-bench-out-'));
  const stages: Record<string, number> = {};
  try {
    const started = performance.now();
    const { headers } = await scanInputs([dir], dicomLimitsFromConfig(config.limits), { decodeWorkers: config.decode.workers });
    stages.scan = performance.now() - started;
    const observer = (e: StageEvent) => (stages[PRINTED[e.stage] ?? e.stage] = (stages[PRINTED[e.stage] ?? e.stage] ?? 0) + e.ms);
    const [result] = await analyzeHeaders(headers, { config, outDir: out, observer, created: new Date(0) });
    const totalMs = performance.now() - started;
    const peakRssMiB = (process.resourceUsage().maxRSS * 1024) / 2 ** 20;
    const outcome = { status: result.status, level: result.level?.name, sliceIndex: result.level?.sliceIndex, areaCm2: result.muscle?.areaCm2 };
    const singleCoreDecodeMs = await singleCoreDecode(headers);
    process.stdout.write(`${JSON.stringify({ floor, stages, totalMs, peakRssMiB, outcome, singleCoreDecodeMs })}\n`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

interface Measurement {
  floor: { ms: number; bytes: number };
  stages: Record<string, number>;
  totalMs: number;
  peakRssMiB: number;
  outcome: unknown;
  singleCoreDecodeMs: number | null;
}

/** `levelGrid`: config `decode.levelGrid` for this run (default: the configuration's, "full"). */
function runChild(dir: string, levelGrid?: 'half'): Measurement {
  const options = levelGrid ? ['--level-grid', levelGrid] : [];
  const child = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, '--measure', dir, ...options], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(`measuring process failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Measurement;
}

/**
 * The installed command's way: dist/ in plain Node, `analyze DIR --out OUT`. Printed: the whole
 * process's wall time (Node's own start, loading the modules, the analysis, exit: what a user
 * waits for), the time from calling main() (the command's lazy imports included), the process's
 * peak RSS, and the issue's target beside them.
 */
function runCompiledCommand(dir: string, label: string, targetMs: number): void {
  if (!freshBuild()) {
    console.log(`${label}: analyze from dist/ skipped (no build newer than the sources: npm run build)`);
    return;
  }
  const out = mkdtempSync(join(tmpdir(), 'ctmn-bench-cmd-'));
  const script = `const t = performance.now(); const { main } = await import(${JSON.stringify(pathToFileURL(compiledMain).href)});
const code = await main(['analyze', ${JSON.stringify(dir)}, '--out', ${JSON.stringify(out)}]);
process.stderr.write('BENCH ' + JSON.stringify({ code, ms: performance.now() - t, peakRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\\n');`;
  try {
    const started = performance.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const wallMs = performance.now() - started;
    const line = child.stderr.split('\n').find((l) => l.startsWith('BENCH '));
    if (!line) throw new Error(`analyze from dist/ failed (${child.status}): ${child.stderr.slice(-2000)}`);
    const m = JSON.parse(line.slice(6)) as { code: number; ms: number; peakRssMiB: number };
    console.log(
      `${label}: analyze from dist/ (the installed command): exit ${m.code}, whole process ${wallMs.toFixed(0)} ms, from loading main.js ${m.ms.toFixed(0)} ms ` +
        `(target ${targetMs.toFixed(0)} ms), peak RSS ${m.peakRssMiB.toFixed(0)} MiB; load average ${load()}`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Prints the measurement; returns the issue's target for it (ms). */
function print(label: string, m: Measurement): number {
  const stages = Object.entries(m.stages).map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', ');
  const ratio = m.totalMs / m.floor.ms;
  console.log(
    `${label}: total ${m.totalMs.toFixed(0)} ms = ${ratio.toFixed(1)} × the read floor (${m.floor.ms.toFixed(0)} ms for ${(m.floor.bytes / 2 ** 20).toFixed(0)} MiB); ` +
      `stages ms: ${stages}; peak RSS ${m.peakRssMiB.toFixed(0)} MiB; result ${JSON.stringify(m.outcome)}; load average ${load()}`,
  );
  if (m.singleCoreDecodeMs === null) {
    const target = 3 * m.floor.ms + 500;
    console.log(`${label}: the issue's target for the whole analysis, 3 × the read floor + 0.5 s = ${target.toFixed(0)} ms, against ${m.totalMs.toFixed(0)} ms`);
    return target;
  }
  const cores = availableParallelism();
  const target = (1.2 * m.singleCoreDecodeMs) / cores + 500;
  console.log(
    `${label}: the same series decoded on one thread ${m.singleCoreDecodeMs.toFixed(0)} ms; the issue's target for the whole analysis, 1.2 × that / ${cores} cores + 0.5 s = ${target.toFixed(0)} ms, ` +
      `against ${m.totalMs.toFixed(0)} ms (decode/HU on the worker pool ${(m.stages['decode/HU'] ?? 0).toFixed(0)} ms)`,
  );
  return target;
}

async function benchmark(sliceCount: number, transferSyntaxUid: string, label: string, runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ctmn-bench-pipeline-'));
  try {
    const started = performance.now();
    await writePhantomStudy(dir, { rows: 512, columns: 512, sliceCount, sliceThicknessMm: 1, seed: 7, arms: true, table: true, transferSyntaxUid });
    console.log(`${label}: ${sliceCount}-slice phantom generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    for (let r = 0; r < runs; r++) {
      const run = `${label}, ${sliceCount} slices${runs > 1 ? `, run ${r + 1}` : ''}`;
      runCompiledCommand(dir, run, print(run, runChild(dir)));
    }
    // The opt-in half-resolution working grid (docs/configuration.md): its time against the same target, and the slice it chose.
    if (transferSyntaxUid === PHANTOM_TRANSFER_SYNTAXES.jpeg2000Lossless) print(`${label}, ${sliceCount} slices, decode.levelGrid "half"`, runChild(dir, 'half'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args.measure) {
  await measure(args.measure);
} else {
  console.log(`node ${process.version}; load average (1, 5, 15 min) at start ${load()} — figures on a loaded machine vary run to run.`);
  const runs = Number(args.runs);
  for (const slices of (args.slices ?? ['300']).map(Number)) {
    await benchmark(slices, PHANTOM_TRANSFER_SYNTAXES.explicitVrLittleEndian, 'uncompressed', runs);
    if (args.j2k) await benchmark(slices, PHANTOM_TRANSFER_SYNTAXES.jpeg2000Lossless, 'JPEG 2000 lossless', runs);
  }
}
