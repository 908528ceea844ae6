/**
 * npm run bench:dimse — C-STORE intake throughput of the node's storage SCP (parse, spool with
 * fsync, scheduling per instance) beside Orthanc's DICOM port receiving the same files from the
 * same storescu, and the real J2K series. Prints figures; asserts nothing. Stages are not run
 * (the quiet period is long): this is intake only.
 * usage: npm run bench:dimse   (BENCH_SLICES=40 for a quicker run)
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { startNode } from '../src/server.ts';
import { orthancUnavailableReason, startOrthanc } from '../test/support/orthanc.ts';

const slices = Number(process.env.BENCH_SLICES ?? 120);
const work = mkdtempSync(join(tmpdir(), 'ctmn-bench-dimse-'));
const data = process.env.CT_MUSCLE_DATA ?? join(import.meta.dirname, '..', '..', 'shared', 'data');

function storescu(port: number, calledAe: string, path: string, extra: string[] = []): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) =>
    execFile('storescu', ['-aet', 'BENCH', '-aec', calledAe, ...extra, '+sd', '127.0.0.1', String(port), path], { maxBuffer: 1 << 24 }, (error, _out, stderr) =>
      error ? reject(new Error(stderr)) : resolve(performance.now() - started),
    ),
  );
}

function folderMegabytes(path: string): { files: number; mb: number } {
  const names = readdirSync(path);
  return { files: names.length, mb: names.reduce((n, name) => n + statSync(join(path, name)).size, 0) / 1e6 };
}

function line(label: string, ms: number, size: { files: number; mb: number }): void {
  console.log(`${label.padEnd(44)} ${(ms / 1000).toFixed(2)} s  ${(size.files / (ms / 1000)).toFixed(1)} instances/s  ${(size.mb / (ms / 1000)).toFixed(1)} MB/s  (${size.files} files, ${size.mb.toFixed(1)} MB)`);
}

try {
  const study = await generatePhantomStudy({ rows: 512, columns: 512, sliceCount: slices, seed: 7 });
  const phantomDir = join(work, 'phantom');
  mkdirSync(phantomDir);
  for (const file of study.files) writeFileSync(join(phantomDir, file.fileName), file.bytes);
  const base = loadConfig({ env: {} });
  const node = await startNode({
    ...base,
    spoolDir: join(work, 'spool'),
    output: { ...base.output, dir: join(work, 'out'), overlay: false },
    server: { ...base.server, port: 0 },
    queue: { ...base.queue, path: join(work, 'jobs.sqlite') },
    assembly: { quietPeriodSeconds: 3600 },
    dimse: { ...base.dimse, enabled: true, aeTitle: 'CTMN', port: 0 },
  });
  const phantomSize = folderMegabytes(phantomDir);
  line(`node SCP, phantom ${slices} × 512² (explicit LE)`, await storescu(node.dimse!.port, 'CTMN', phantomDir), phantomSize);
  const j2k = join(data, 'totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_j2k');
  if (existsSync(j2k)) line('node SCP, shared real series (JPEG 2000, -xv)', await storescu(node.dimse!.port, 'CTMN', j2k, ['-xv']), folderMegabytes(j2k));
  await node.stop();
  const reason = orthancUnavailableReason();
  if (reason) console.log(`Orthanc floor skipped: ${reason}`);
  else {
    const orthanc = await startOrthanc({ dicom: { aeTitle: 'ORTHANC' } });
    try {
      line(`Orthanc DICOM port, same phantom`, await storescu(orthanc.dicomPort!, 'ORTHANC', phantomDir), phantomSize);
    } finally {
      await orthanc.stop();
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
