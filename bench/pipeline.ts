/**
 * npm run bench:pipeline — per-stage milliseconds of `analyze` on a generated phantom (512²),
 * beside the read floor measured in the same run (reading the same files' bytes), as a ratio;
 * and the peak RSS of the measuring process. Prints figures; asserts nothing.
 *
 * usage: npm run bench:pipeline -- [--slices 300] [--slices 1000] [--j2k] [--runs 1]
 *   --slices  series length(s) to measure (default 300; repeat the flag for several)
 *   --j2k     also measure the same phantom stored as JPEG 2000 lossless
 *
 * The phantom is generated into a temporary folder by this process; each measurement then runs
 * in a fresh child process so that its peak RSS (maxRSS) is that of `analyze` alone and not of
 * the generator. The read floor is taken warm (the files were just written, so they are in the
 * page cache), as the pipeline reads them warm too: the ratio compares like with like.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { dicomLimitsFromConfig } from '../src/dicom/limits.ts';
import { PHANTOM_TRANSFER_SYNTAXES } from '../src/phantom/options.ts';
import { writePhantomStudy } from '../src/phantom/index.ts';
import { analyzeHeaders, scanInputs, type StageEvent } from '../src/pipeline/index.ts';

/** Stage names as the issue lists them (pipeline stage → printed name). */
const PRINTED: Record<string, string> = { select: 'select', volume: 'decode/HU', level: 'level', slices: 're-read measured slices', 'segment-measure': 'segment+measure', report: 'report', outputs: 'write' };

const { values: args } = parseArgs({
  options: {
    slices: { type: 'string', multiple: true },
    j2k: { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
    measure: { type: 'string' },
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

/** Child process: floor, then scan + the pipeline stages, printed as one JSON line. */
async function measure(dir: string): Promise<void> {
  const floor = await readFloor(dir);
  const config = loadConfig({ env: {} });
  const out = mkdtempSync(join(tmpdir(), 'ctmn-bench-out-'));
  const stages: Record<string, number> = {};
  try {
    const started = performance.now();
    const { headers } = await scanInputs([dir], dicomLimitsFromConfig(config.limits));
    stages.scan = performance.now() - started;
    const observer = (e: StageEvent) => (stages[PRINTED[e.stage] ?? e.stage] = (stages[PRINTED[e.stage] ?? e.stage] ?? 0) + e.ms);
    const [result] = await analyzeHeaders(headers, { config, outDir: out, observer, created: new Date(0) });
    const totalMs = performance.now() - started;
    const peakRssMiB = (process.resourceUsage().maxRSS * 1024) / 2 ** 20;
    const outcome = { status: result.status, level: result.level?.name, areaCm2: result.muscle?.areaCm2 };
    process.stdout.write(`${JSON.stringify({ floor, stages, totalMs, peakRssMiB, outcome })}\n`);
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
}

function runChild(dir: string): Measurement {
  const child = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, '--measure', dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(`measuring process failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Measurement;
}

function print(label: string, m: Measurement): void {
  const stages = Object.entries(m.stages).map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', ');
  const ratio = m.totalMs / m.floor.ms;
  console.log(
    `${label}: total ${m.totalMs.toFixed(0)} ms = ${ratio.toFixed(1)} × the read floor (${m.floor.ms.toFixed(0)} ms for ${(m.floor.bytes / 2 ** 20).toFixed(0)} MiB); ` +
      `stages ms: ${stages}; peak RSS ${m.peakRssMiB.toFixed(0)} MiB; result ${JSON.stringify(m.outcome)}; load average ${load()}`,
  );
}

async function benchmark(sliceCount: number, transferSyntaxUid: string, label: string, runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ctmn-bench-pipeline-'));
  try {
    const started = performance.now();
    await writePhantomStudy(dir, { rows: 512, columns: 512, sliceCount, sliceThicknessMm: 1, seed: 7, arms: true, table: true, transferSyntaxUid });
    console.log(`${label}: ${sliceCount}-slice phantom generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    for (let r = 0; r < runs; r++) print(`${label}, ${sliceCount} slices${runs > 1 ? `, run ${r + 1}` : ''}`, runChild(dir));
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
