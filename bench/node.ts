/**
 * npm run bench:node — the node beside Orthanc, with the real stages (level finder, anatomic
 * segmenter, measurements, SEG/SR writers). Prints figures; asserts nothing.
 * - End-to-end latency from "study stable in Orthanc" (Lua OnStableStudy pushes it to the node)
 *   to "SEG and SR queryable in Orthanc", beside the floor measured in the same run: curl doing
 *   the same DICOMweb transfers (WADO-RS retrieval of the series + STOW-RS of two objects).
 *   Cases: a 300-slice 512² phantom; real CT (the shared example_ct.nii.gz, pelvis → T12, turned
 *   into a DICOM series in memory at run time); the shared real DICOM series (T11/T12, 20 slices
 *   512²), on which the level finder honestly answers E_INSUFFICIENT_COVERAGE: there the figure
 *   is "stable → job finished" and nothing is written back.
 * - "Quiet period ended → results written": from the end of the study's quiet period (its last
 *   instance's arrival + assembly.quietPeriodSeconds) to the end of the pipeline's outputs stage
 *   (SEG, SR and result.json written on the node), with the node's per-stage times of that run.
 *   With it, how many slices the analysis filed from the working grid made while the study
 *   arrived (decode.whileArriving) instead of decoding them. The phantom runs twice: first on a
 *   node without the start-up warm-up (`warmUp` false: the process's first study, its code cold),
 *   then as deployed (the node warms up at start; the study is sent once it has).
 * - Intake throughput of the node's STOW endpoint beside Orthanc's STOW of the same files, the node
 *   with its background work on (decode.whileArriving, after decode.whileArrivingLullMs, as in
 *   service) and off. For it the node runs as deployed, `serve` in a process of its own from dist/
 *   (when the build is fresh), as Orthanc runs in its own, and both take a small study first (a
 *   fresh process's first request is not intake); the median of BENCH_INTAKE_RUNS (5) runs, each
 *   with fresh processes. The end-to-end runs keep the node in this process, to see its stages.
 * - Peak RSS of this process (generator, node and clients in one process).
 * usage: npm run bench:node   (BENCH_SLICES=80 for a quicker phantom run; BENCH_QUIET_SECONDS=5 for
 *   a longer quiet period, see QUIET_SECONDS; BENCH_INTAKE_RUNS=1 for one intake run each)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';
import { readNiftiVolume } from '../src/dicom/nifti.ts';
import { scanPaths } from '../src/dicom/scan.ts';
import { median } from '../src/image/statistics.ts';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import type { StageEvent } from '../src/pipeline/index.ts';
import { startNode, type RunningNode } from '../src/server.ts';
import { countsByOutcome } from '../test/support/metrics.ts';
import { firstString, freeLoopbackPort, orthancUnavailableReason, qido, startOrthanc, type OrthancHandle } from '../test/support/orthanc.ts';
import { volumeAsDicomSeries, type SeriesInMemory } from './support/nifti-series.ts';
import { freshBuild } from './support/build.ts';
import { startServe, stopServe } from '../test/support/serve-process.ts';

const reason = orthancUnavailableReason();
if (reason) {
  console.log(`bench:node skipped: ${reason}`);
  process.exit(0);
}
const data = process.env.CT_MUSCLE_DATA ?? join(import.meta.dirname, '..', '..', 'shared', 'data');
const work = mkdtempSync(join(tmpdir(), 'ctmn-bench-node-'));
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const megabytesOf = (series: SeriesInMemory) => series.instances.reduce((n, i) => n + i.bytes.length, 0) / 1e6;

async function until(check: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('timed out');
}

/**
 * The node's quiet period: 0.5 s keeps the end-to-end figure near the transfer time, but leaves the
 * background lane (10 nicer than the receivers, and starting only decode.whileArrivingLullMs after
 * the last arrival) little time to put slices on the working grid;
 * BENCH_QUIET_SECONDS=5 (the default in service is 60) shows "quiet period ended → results
 * written" with every slice made while the study arrived.
 */
const QUIET_SECONDS = Number(process.env.BENCH_QUIET_SECONDS ?? 0.5);

function nodeConfig(name: string, port: number, destination: string): Config {
  const defaults = loadConfig({ env: {} });
  return {
    ...defaults,
    logLevel: 'warn',
    spoolDir: join(work, name, 'spool'),
    output: { dir: join(work, name, 'out'), overlay: false, notMeasuredSr: true },
    server: { ...defaults.server, port },
    queue: { ...defaults.queue, path: join(work, name, 'jobs.sqlite') },
    assembly: { quietPeriodSeconds: QUIET_SECONDS },
    writeBack: { destination: { url: destination }, deadlineHours: 1 },
  };
}

async function phantomSeries(sliceCount: number, seed = 9): Promise<SeriesInMemory> {
  const study = await generatePhantomStudy({ rows: 512, columns: 512, sliceCount, sliceThicknessMm: 1, fromLevel: 'L3', seed });
  const uidOf = new Map(study.truth.slices.map((s) => [s.fileName, s.sopInstanceUid]));
  return {
    studyInstanceUid: study.truth.studyInstanceUid,
    seriesInstanceUid: study.truth.seriesInstanceUid,
    instances: study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: uidOf.get(f.fileName)! })),
  };
}

async function dicomFolderSeries(folder: string): Promise<SeriesInMemory> {
  const { headers } = await scanPaths([folder]);
  return {
    studyInstanceUid: headers[0].studyInstanceUid,
    seriesInstanceUid: headers[0].seriesInstanceUid,
    instances: headers.map((h) => ({ sopInstanceUid: h.sopInstanceUid, bytes: new Uint8Array(readFileSync((h.source as { path: string }).path)) })),
  };
}

/** The same transfers the node makes, done by curl: WADO-RS of the series, STOW-RS of two objects. */
function curlFloorMs(orthanc: OrthancHandle, series: SeriesInMemory, outputs: Buffer[]): number {
  const body = join(work, 'body.bin');
  const boundary = 'benchboundary';
  const parts = outputs.map((bytes) => Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), bytes, Buffer.from('\r\n')]));
  writeFileSync(body, Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]));
  const t = Date.now();
  execFileSync('curl', ['-sf', '-o', join(work, 'series.bin'), '-H', 'Accept: multipart/related; type="application/dicom"', `${orthanc.dicomWebRoot}/studies/${series.studyInstanceUid}/series/${series.seriesInstanceUid}`]);
  execFileSync('curl', ['-sf', '-o', '/dev/null', '-X', 'POST', '-H', `Content-Type: multipart/related; type="application/dicom"; boundary="${boundary}"`, '--data-binary', `@${body}`, `${orthanc.dicomWebRoot}/studies`]);
  return Date.now() - t;
}

/**
 * The node's STOW of the files, with instances put on the working grid while arriving (`lanes`) or
 * not (0). The node runs as deployed: `serve` in a process of its own (the installed command:
 * dist/ when the build is fresh), as Orthanc does, so the client here does not share its thread.
 */
async function nodeStow(label: string, series: SeriesInMemory, lanes: number, destination: string, warm: SeriesInMemory): Promise<{ ms: number; made: Record<string, number> }> {
  const name = `intake-${label.replace(/[^a-z0-9]+/gi, '-')}-${lanes}`;
  const defaults = nodeConfig(name, 0, destination);
  const configPath = join(work, `${name}.json`);
  // A quiet period longer than the run keeps the workers out of the measurement; no warm-up either
  // (it would compile the pipeline in the node process while the instances arrive).
  const port = await freeLoopbackPort();
  writeFileSync(
    configPath,
    JSON.stringify({
      logLevel: 'warn',
      spoolDir: defaults.spoolDir,
      output: defaults.output,
      server: { port },
      queue: { path: defaults.queue.path },
      assembly: { quietPeriodSeconds: 3600 },
      writeBack: defaults.writeBack,
      warmUp: false,
      decode: { whileArriving: lanes },
    }),
  );
  const node = await startServe('all', configPath, { env: { CT_MUSCLE_NODE_FROM_SOURCE: '0' } });
  try {
    await stowInstances({ url: `${node.url}/dicomweb` }, warm.instances);
    const before = await countsByOutcome(node, 'ctmn_arrival_grid_slices_total');
    const t = Date.now();
    await stowInstances({ url: `${node.url}/dicomweb` }, series.instances);
    // The working-grid slices are made in the background; they are not part of the acknowledgement.
    const ms = Date.now() - t;
    const after = await countsByOutcome(node, 'ctmn_arrival_grid_slices_total');
    return { ms, made: Object.fromEntries(Object.entries(after).map(([outcome, n]) => [outcome, n - (before[outcome] ?? 0)])) };
  } finally {
    await stopServe(node);
  }
}

/** Instances of the study each receiver takes before the timed one (another phantom: other UIDs). */
const WARM_UP_SLICES = 8;

/**
 * Intake runs of each receiver: one STOW of a 20-instance study takes ~0.2–0.3 s, and single runs
 * on a 2-core machine scattered by ±50 ms, more than the differences looked for. Each run has
 * fresh processes (Orthanc, the node with and without the background work, in alternating order);
 * printed: the median, and the range.
 */
const INTAKE_RUNS = Number(process.env.BENCH_INTAKE_RUNS ?? 5);

/** Orthanc's STOW vs the node's STOW of the same files, with and without putting them on the working grid meanwhile. */
async function intake(label: string, series: SeriesInMemory): Promise<void> {
  // Both receivers take a small study first, as a PACS-facing service has: what is timed is
  // intake, not a fresh process's first request (its JIT, its first spool folders and database rows).
  const warm = await phantomSeries(WARM_UP_SLICES, 10);
  const lanes = loadConfig({ env: {} }).decode.whileArriving;
  const times = { orthanc: [] as number[], off: [] as number[], on: [] as number[] };
  const made: Array<Record<string, number>> = [];
  for (let run = 0; run < INTAKE_RUNS; run++) {
    const orthanc = await startOrthanc();
    try {
      await stowInstances({ url: orthanc.dicomWebRoot }, warm.instances);
      const t = Date.now();
      await stowInstances({ url: orthanc.dicomWebRoot }, series.instances);
      times.orthanc.push(Date.now() - t);
      const withLanes = async () => {
        const on = await nodeStow(`${label}-${run}`, series, lanes, orthanc.dicomWebRoot, warm);
        times.on.push(on.ms);
        made.push(on.made);
      };
      const without = async () => times.off.push((await nodeStow(`${label}-${run}`, series, 0, orthanc.dicomWebRoot, warm)).ms);
      if (run % 2 === 0) await without().then(withLanes);
      else await withLanes().then(without);
    } finally {
      await orthanc.stop();
    }
  }
  const mb = megabytesOf(series);
  const rate = (values: number[]) => {
    const mbs = (ms: number) => (mb / (ms / 1000)).toFixed(0);
    return `${seconds(median(values))} s (${mbs(median(values))} MB/s; runs ${mbs(Math.max(...values))}–${mbs(Math.min(...values))} MB/s)`;
  };
  const code = freshBuild() ? 'dist/' : 'the sources through tsx (no fresh build: npm run build)';
  const { whileArrivingLullMs } = loadConfig({ env: {} }).decode;
  console.log(
    `intake, ${label}, ${series.instances.length} instances (${mb.toFixed(0)} MB), fsync per instance, each receiver warmed by an ${WARM_UP_SLICES}-instance study, node as its own process from ${code}; median of ${INTAKE_RUNS} runs: ` +
      `node STOW ${rate(times.on)} with the background work (decode.whileArriving ${lanes}, whileArrivingLullMs ${whileArrivingLullMs}; by the last answer, per run: ${made.map((m) => JSON.stringify(m)).join(' ')}), ` +
      `${rate(times.off)} without (0); Orthanc STOW ${rate(times.orthanc)}`,
  );
}

/** The analysis job that ended for good (not one that only rescheduled itself). */
async function finishedAnalysis(node: RunningNode, studyInstanceUid: string) {
  return [...(await node.queue.list('done')), ...(await node.queue.list('dead'))].find(
    (j) => j.key === studyInstanceUid && j.kind === 'analyze-study' && (j.result as { outcome?: string } | null)?.outcome !== 'deferred',
  );
}

/** Orthanc pushes the stable study to the node; the node writes the SEG and SR back (or records why not). */
async function endToEnd(label: string, series: SeriesInMemory, expectOutputs: boolean, warmUp = true): Promise<void> {
  const port = await freeLoopbackPort();
  const lua = `function OnStableStudy(studyId, tags, metadata)\n  RestApiPost('/dicom-web/servers/node/stow', '{"Resources": ["' .. studyId .. '"]}')\nend\n`;
  const orthanc = await startOrthanc({ dicomWebServers: { node: `http://127.0.0.1:${port}/dicomweb/` }, lua });
  const config = { ...nodeConfig(`e2e-${label}`, port, orthanc.dicomWebRoot), warmUp };
  let node: RunningNode | null = null;
  try {
    const stages: Array<StageEvent & { at: number }> = [];
    node = await startNode(config, { observer: (event) => stages.push({ ...event, at: Date.now() }) });
    // The start-up warm-up (config warmUp, on by default) is let finish: a PACS sends studies to a running node.
    await node.warmedUp();
    await stowInstances({ url: orthanc.dicomWebRoot }, series.instances);
    // "Stable" is Orthanc's StableAge (1 s in tests) after the last instance; measure from then.
    const stableAt = Date.now() + 1000;
    const uid = series.studyInstanceUid;
    const running = node;
    if (expectOutputs) {
      await until(async () => {
        const finished = await finishedAnalysis(running, uid);
        const status = (finished?.result as { status?: string } | undefined)?.status;
        if (finished && status !== 'ok') throw new Error(`${label}: the job ended ${finished.state} with ${status ?? finished.lastErrorCode}: no SEG/SR to wait for`);
        const modalities = (await qido(orthanc.dicomWebRoot, `studies/${uid}/series`)).map((s) => firstString(s, '00080060'));
        return modalities.includes('SEG') && modalities.includes('SR');
      });
    } else {
      await until(async () => (await finishedAnalysis(running, uid)) !== undefined);
    }
    const endToEndMs = Date.now() - stableAt;
    const job = await finishedAnalysis(node, uid);
    const result = (job?.result ?? {}) as { status?: string; outputs?: { seg?: { path: string }; sr?: { path: string } } };
    const outputs = result.outputs?.seg && result.outputs.sr ? [readFileSync(result.outputs.seg.path), readFileSync(result.outputs.sr.path)] : [];
    // Without outputs of its own, the floor still moves two objects of typical size (the SEG and SR of the phantom case).
    const floorMs = curlFloorMs(orthanc, series, outputs.length ? outputs : lastOutputs);
    if (outputs.length) lastOutputs = outputs;
    const finish = expectOutputs ? 'SEG and SR queryable' : `job finished (${result.status ?? 'unknown'}; nothing written back)`;
    console.log(
      `end to end, ${label}, ${series.instances.length} instances (${megabytesOf(series).toFixed(0)} MB): stable in Orthanc → ${finish} ${seconds(endToEndMs)} s ` +
        `(node quiet period ${config.assembly.quietPeriodSeconds} s included); floor (curl WADO-RS of the series + STOW-RS of two objects) ${seconds(floorMs)} s; ratio ${(endToEndMs / floorMs).toFixed(1)}`,
    );
    printQuietToWritten(label, job?.payload as { lastArrivalAt?: number } | undefined, config.assembly.quietPeriodSeconds, stages.filter((e) => e.studyInstanceUid === uid));
    console.log(`  slices put on the working grid while arriving, ${label}: ${await precomputedSlices(node)}`);
  } finally {
    await node?.stop();
    await orthanc.stop();
  }
}

/** How many slices the analyses filed from the working grid made while the study arrived, of how many looked up. */
async function precomputedSlices(node: RunningNode): Promise<string> {
  const made = await countsByOutcome(node, 'ctmn_arrival_grid_slices_total');
  const looked = await countsByOutcome(node, 'ctmn_precomputed_slices_total');
  const total = Object.values(looked).reduce((a, b) => a + b, 0);
  return `${looked.used ?? 0} of ${total} slices looked up came precomputed (intake: ${JSON.stringify(made)}; look-ups: ${JSON.stringify(looked)})`;
}

/** Quiet period ended → the outputs stage done, with the stages of the run that wrote them. */
function printQuietToWritten(label: string, payload: { lastArrivalAt?: number } | undefined, quietSeconds: number, events: Array<StageEvent & { at: number }>): void {
  const written = events.findLast((e) => e.stage === 'outputs' && e.ok);
  if (payload?.lastArrivalAt === undefined || !written) {
    console.log(`quiet period ended → results written, ${label}: not measured (${written ? 'no arrival time on the job' : 'the study was not measured: no outputs stage ran'})`);
    return;
  }
  const quietEndedAt = payload.lastArrivalAt + quietSeconds * 1000;
  // The last run's stages: those that ended after the quiet period did.
  const run = events.filter((e) => e.at >= quietEndedAt).map((e) => `${e.stage} ${e.ms.toFixed(0)}`).join(', ');
  console.log(`quiet period ended → results written, ${label}: ${seconds(written.at - quietEndedAt)} s (stages ms: ${run})`);
}

let lastOutputs: Buffer[] = [];

try {
  const sliceCount = Number(process.env.BENCH_SLICES ?? 300);
  const phantom = await phantomSeries(sliceCount);
  await intake('phantom 512²', phantom);
  // First on a node started without the warm-up: the first study of this process runs the
  // pipeline's code cold. Then as deployed (warmUp on by default); V8's compiled code is per
  // process, so this one is warm from the run before as much as from its own warm-up.
  await endToEnd(`phantom ${sliceCount} slices 512², warmUp off (first study of a process)`, phantom, true, false);
  await endToEnd(`phantom ${sliceCount} slices 512²`, phantom, true);

  const niftiPath = join(data, 'totalsegmentator_example_ct_full', 'example_ct.nii.gz');
  const dicomFolder = join(data, 'totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_uncompressed');
  if (existsSync(niftiPath)) {
    const real = volumeAsDicomSeries(await readNiftiVolume(niftiPath), niftiPath);
    await endToEnd('real CT example_ct (pelvis → T12, 122×101, 3 mm; NIfTI sent as DICOM)', real, true);
  } else console.log(`real CT skipped: ${niftiPath} not found`);
  if (existsSync(dicomFolder)) {
    const real = await dicomFolderSeries(dicomFolder);
    await intake('real DICOM T11/T12', real);
    await endToEnd('real DICOM T11/T12 (512², 2 mm)', real, false);
  } else console.log(`real DICOM series skipped: ${dicomFolder} not found`);
} finally {
  clearInterval(sampler);
  console.log(`peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MiB (generator, node and clients in one process)`);
  rmSync(work, { recursive: true, force: true });
}
