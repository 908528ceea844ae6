/**
 * npm run bench:node — the node beside Orthanc. Prints figures; asserts nothing.
 * - End-to-end latency from "study stable in Orthanc" (Lua OnStableStudy pushes it to the node)
 *   to "SEG and SR queryable in Orthanc", beside the floor measured in the same run: curl doing
 *   the same DICOMweb transfers (WADO-RS retrieval of the series + STOW-RS of the two objects).
 *   The level and segmentation stages answer from the phantom's truth here (the real ones are
 *   timed by bench:level and bench:speed), so this measures the node's own overhead.
 * - Intake throughput of the node's STOW endpoint beside Orthanc's STOW of the same files.
 * - Peak RSS of this process (node in-process).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';
import { stowInstances } from '../src/dicomweb/stow-client.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { startNode } from '../src/server.ts';
import { firstString, orthancUnavailableReason, qido, startOrthanc } from '../test/support/orthanc.ts';
import { truthStages } from '../test/support/truth-stages.ts';

const reason = orthancUnavailableReason();
if (reason) {
  console.log(`bench:node skipped: ${reason}`);
  process.exit(0);
}
const work = mkdtempSync(join(tmpdir(), 'ctmn-bench-node-'));
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const seconds = (ms: number) => (ms / 1000).toFixed(2);

async function until(check: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('timed out');
}

try {
  const sliceCount = Number(process.env.BENCH_SLICES ?? 300);
  const study = await generatePhantomStudy({ rows: 512, columns: 512, sliceCount, sliceThicknessMm: 1, fromLevel: 'L1', seed: 9 });
  const instances = study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid }));
  const megabytes = instances.reduce((n, i) => n + i.bytes.length, 0) / 1e6;

  // Intake throughput: Orthanc's STOW vs the node's STOW of the same files.
  const plain = await startOrthanc();
  let t = Date.now();
  await stowInstances({ url: plain.dicomWebRoot }, instances);
  const orthancStowMs = Date.now() - t;
  const defaults = loadConfig({ env: {} });
  const config: Config = {
    ...defaults,
    logLevel: 'warn',
    spoolDir: join(work, 'spool'),
    output: { dir: join(work, 'out'), overlay: false },
    server: { ...defaults.server, port: 0 },
    queue: { ...defaults.queue, path: join(work, 'jobs.sqlite') },
    assembly: { quietPeriodSeconds: 0.5 },
    writeBack: { destination: { url: plain.dicomWebRoot }, deadlineHours: 1 },
  };
  const node = await startNode(config, { stages: truthStages(study.truth) });
  t = Date.now();
  await stowInstances({ url: `${node.url}/dicomweb` }, instances);
  const nodeStowMs = Date.now() - t;
  console.log(
    `intake, ${instances.length} slices 512² (${megabytes.toFixed(0)} MB): node STOW ${seconds(nodeStowMs)} s (${(megabytes / (nodeStowMs / 1000)).toFixed(0)} MB/s, fsync per instance) ` +
      `vs Orthanc STOW ${seconds(orthancStowMs)} s (${(megabytes / (orthancStowMs / 1000)).toFixed(0)} MB/s)`,
  );
  await node.stop();
  await plain.stop();

  // End to end: Orthanc pushes the stable study to the node; the node writes SEG and SR back.
  const node2 = await startNode({ ...config, spoolDir: join(work, 'spool2'), queue: { ...config.queue, path: join(work, 'jobs2.sqlite') } }, { stages: truthStages(study.truth) });
  const lua = `function OnStableStudy(studyId, tags, metadata)\n  print('stable ' .. os.clock())\n  RestApiPost('/dicom-web/servers/node/stow', '{"Resources": ["' .. studyId .. '"]}')\nend\n`;
  const orthanc = await startOrthanc({ dicomWebServers: { node: `${node2.url}/dicomweb/` }, lua });
  const node2Config = { ...config, writeBack: { destination: { url: orthanc.dicomWebRoot }, deadlineHours: 1 } };
  await node2.stop();
  const node3 = await startNode({ ...node2Config, server: { ...config.server, port: Number(new URL(node2.url).port) }, spoolDir: join(work, 'spool3'), queue: { ...config.queue, path: join(work, 'jobs3.sqlite') } }, { stages: truthStages(study.truth) });
  await stowInstances({ url: orthanc.dicomWebRoot }, instances);
  const uploaded = Date.now();
  // "Stable" is Orthanc's StableAge (1 s in tests) after the last instance; measure from then.
  const stableAt = uploaded + 1000;
  const uid = study.truth.studyInstanceUid;
  await until(async () => {
    const modalities = (await qido(orthanc.dicomWebRoot, `studies/${uid}/series`)).map((s) => firstString(s, '00080060'));
    return modalities.includes('SEG') && modalities.includes('SR');
  });
  const endToEndMs = Date.now() - stableAt;

  // The floor: the same transfers with curl (WADO-RS of the series, STOW-RS of the two objects).
  const segSr = readdirOutputs(join(work, 'out', uid));
  const body = join(work, 'body.bin');
  t = Date.now();
  execFileSync('curl', ['-s', '-o', join(work, 'series.bin'), '-H', 'Accept: multipart/related; type="application/dicom"', `${orthanc.dicomWebRoot}/studies/${uid}/series/${study.truth.seriesInstanceUid}`]);
  const boundary = 'benchboundary';
  const parts = segSr.map((bytes) => Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), bytes, Buffer.from('\r\n')]));
  writeFileSync(body, Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]));
  execFileSync('curl', ['-s', '-o', '/dev/null', '-X', 'POST', '-H', `Content-Type: multipart/related; type="application/dicom"; boundary="${boundary}"`, '--data-binary', `@${body}`, `${orthanc.dicomWebRoot}/studies`]);
  const floorMs = Date.now() - t;
  console.log(
    `end to end, ${instances.length} slices: stable in Orthanc → SEG and SR queryable ${seconds(endToEndMs)} s (node quiet period ${config.assembly.quietPeriodSeconds} s included); ` +
      `floor (curl WADO-RS of the series + STOW-RS of SEG and SR) ${seconds(floorMs)} s; ratio ${(endToEndMs / floorMs).toFixed(1)}`,
  );
  await node3.stop();
  await orthanc.stop();
} finally {
  clearInterval(sampler);
  console.log(`peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MiB (generator, node and clients in one process)`);
  rmSync(work, { recursive: true, force: true });
}

function readdirOutputs(directory: string): Buffer[] {
  return ['seg.dcm', 'sr.dcm'].map((name) => readFileSync(join(directory, name)));
}
