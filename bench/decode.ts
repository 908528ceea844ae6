/**
 * npm run bench:decode — decoding speed on the shared real CT (uncompressed and JPEG 2000) and
 * peak memory while building a generated 1,000-slice volume. Prints figures; asserts nothing.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanPaths } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import { buildVolume } from '../src/dicom/volume.ts';
import { writePhantomStudy } from '../src/phantom/index.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const sharedData = process.env.CT_MUSCLE_DATA ?? resolve(root, '../shared/data');
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

async function timeSeries(label: string, dir: string, runs = 5): Promise<void> {
  if (!existsSync(dir)) {
    console.log(`${label}: skipped (${dir} absent; set CT_MUSCLE_DATA)`);
    return;
  }
  const group = groupIntoSeries((await scanPaths([dir])).headers)[0];
  await buildVolume(group); // warm-up: WebAssembly compilation, file cache
  const perSlice: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    const volume = await buildVolume(group);
    perSlice.push(Number(process.hrtime.bigint() - start) / 1e6 / volume.slices.length);
  }
  perSlice.sort((a, b) => a - b);
  console.log(
    `${label}: ${perSlice[runs >> 1].toFixed(2)} ms/slice median of ${runs} runs (min ${perSlice[0].toFixed(2)}, max ${perSlice[runs - 1].toFixed(2)}), ` +
      `${group.instances.length} slices ${group.instances[0].rows}×${group.instances[0].columns}, read + decode + HU`,
  );
}

async function peakMemory(sliceCount: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ctmn-bench-'));
  try {
    const started = Date.now();
    await writePhantomStudy(dir, { rows: 512, columns: 512, sliceCount, sliceThicknessMm: 0.5, seed: 7 });
    const generatedS = (Date.now() - started) / 1000;
    global.gc?.();
    const before = process.memoryUsage();
    let peakRss = before.rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
    const scanStart = Date.now();
    const { headers } = await scanPaths([dir]);
    const group = groupIntoSeries(headers)[0];
    const scanS = (Date.now() - scanStart) / 1000;
    const buildStart = Date.now();
    const volume = await buildVolume(group);
    const buildS = (Date.now() - buildStart) / 1000;
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    console.log(
      `${sliceCount}-slice 512×512 phantom: generated in ${generatedS.toFixed(1)} s; headers scanned in ${scanS.toFixed(1)} s; ` +
        `volume built in ${buildS.toFixed(1)} s (${((buildS * 1000) / volume.slices.length).toFixed(2)} ms/slice); ` +
        `HU volume ${mib(volume.hu.byteLength)} MiB; peak RSS ${mib(peakRss)} MiB (RSS before ${mib(before.rss)} MiB, ` +
        `so ${mib(peakRss - before.rss)} MiB for headers + volume); max RSS of the process ${mib(process.resourceUsage().maxRSS * 1024)} MiB`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const t11t12 = join(sharedData, 'totalsegmentator_example_ct_dicom_T11-T12');
await timeSeries('uncompressed (Explicit VR LE)', join(t11t12, 'uid_repaired_uncompressed'));
await timeSeries('JPEG 2000 lossless', join(t11t12, 'uid_repaired_j2k'));
await peakMemory(Number(process.env.BENCH_SLICES ?? 1000));
