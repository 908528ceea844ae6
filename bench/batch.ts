/**
 * Batch throughput: studies per hour for 300-slice 512×512 phantoms (1 mm slices from L3 up),
 * one study at a time and two at a time (worker threads), and the speed-up. The phantoms are
 * generated once into a temp folder (kept for reruns: CT_MUSCLE_BENCH_DIR). The machine's load
 * average is printed beside the figures: other work on the cores lowers them.
 * usage: npm run bench:batch [-- studies]   (default 4 studies)
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBatch } from '../src/batch/run-batch.ts';
import { loadConfig } from '../src/config.ts';
import { writePhantomStudy } from '../src/phantom/index.ts';

const studies = Number(process.argv[2] ?? 4);
const root = process.env.CT_MUSCLE_BENCH_DIR ?? join(tmpdir(), 'ctmn-bench-batch');
const config = { ...loadConfig({ env: {} }), logLevel: 'warn' as const };

async function phantoms(): Promise<string> {
  const input = join(root, 'in');
  for (let seed = 1; seed <= studies; seed++) {
    const directory = join(input, `s${seed}`);
    if (existsSync(join(directory, 'truth.json'))) continue;
    const t0 = Date.now();
    await writePhantomStudy(directory, { seed, rows: 512, columns: 512, fromLevel: 'L3', sliceCount: 300, sliceThicknessMm: 1 });
    console.log(`generated phantom ${seed} (300 slices) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  return input;
}

async function run(input: string, concurrency: number): Promise<number> {
  const outDir = join(root, `out-${concurrency}`);
  await rm(outDir, { recursive: true, force: true });
  const load = loadavg()[0];
  const summary = await runBatch({ paths: [input], outDir, config, concurrency });
  const perHour = (3600 * summary.ran) / summary.seconds;
  console.log(
    `concurrency ${concurrency}: ${summary.ran} studies (${summary.failed} failed) in ${summary.seconds.toFixed(1)} s → ${perHour.toFixed(0)} studies/hour (load average before: ${load.toFixed(2)})`,
  );
  return summary.seconds;
}

console.log(`${studies} studies of 300 slices, ${availableParallelism()} cores`);
const input = await phantoms();
const one = await run(input, 1);
const two = await run(input, 2);
console.log(`speed-up 1 → 2 parallel studies: ×${(one / two).toFixed(2)}`);
