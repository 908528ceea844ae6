/**
 * Faults the node must survive with nothing lost or duplicated: kill -9 during receive, during
 * processing and during write-back, and Orthanc stopped during write-back. After restarts, every
 * accepted study ends with exactly one SEG and one SR in Orthanc. The node runs as a real child
 * process (test/support/node-main.ts); its level/segmentation stages answer from phantom truth.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { AnalyzeStudyResult } from '../src/node/jobs.ts';
import { SqliteJobQueue } from '../src/queue/sqlite-queue.ts';
import { join } from 'node:path';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { makeTempDir, repoRoot } from './support/env.ts';
import { freeLoopbackPort, type OrthancHandle, outputsInOrthanc, requireOrthanc, startOrthanc } from './support/orthanc.ts';

interface NodeProcess {
  child: ChildProcess;
  url: string;
  output: string[];
}

async function spawnNode(configPath: string, truthPath: string, env: Record<string, string> = {}): Promise<NodeProcess> {
  const child = spawn(process.execPath, ['--import=tsx', join(repoRoot, 'test/support/node-main.ts'), configPath, truthPath], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start:\n${output.join('')}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      const text = d.toString();
      output.push(text);
      const match = /READY (\S+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`node exited (${code}):\n${output.join('')}`)));
  });
  return { child, url, output };
}

function kill9(node: NodeProcess): Promise<void> {
  return new Promise((resolve) => {
    if (node.child.exitCode !== null) return resolve();
    node.child.once('exit', () => resolve());
    node.child.kill('SIGKILL');
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('faults: kill -9 and a PACS outage lose and duplicate nothing', function () {
  this.timeout(240_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let orthanc: OrthancHandle;
  let node: NodeProcess | undefined;

  before(async function () {
    requireOrthanc(this);
  });
  beforeEach(async () => {
    tmp = makeTempDir('ctmn-faults-');
    orthanc = await startOrthanc();
  });
  afterEach(async () => {
    if (node) await kill9(node);
    node = undefined;
    await orthanc?.stop();
    tmp.remove();
  });

  async function setUp(seed: number, orthancUrl: string) {
    const study = await generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed });
    const truthPath = join(tmp.path, 'truth.json');
    writeFileSync(truthPath, JSON.stringify(study.truth));
    const port = await freeLoopbackPort();
    const configPath = join(tmp.path, 'node.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        logLevel: 'warn',
        spoolDir: join(tmp.path, 'spool'),
        output: { dir: join(tmp.path, 'out'), overlay: false },
        server: { port },
        queue: { path: join(tmp.path, 'jobs.sqlite'), baseDelayMs: 200, maxDelayMs: 1000, maxAttempts: 50 },
        assembly: { quietPeriodSeconds: 0.5 },
        writeBack: { destination: { url: orthancUrl }, deadlineHours: 1 },
      }),
    );
    const instances = study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid }));
    return { study, truthPath, configPath, instances };
  }

  it('kill -9 during receive: the PACS pushes again, the study is measured once', async () => {
    const { study, truthPath, configPath, instances } = await setUp(41, orthanc.dicomWebRoot);
    node = await spawnNode(configPath, truthPath);
    await stowInstances({ url: `${node.url}/dicomweb` }, instances.slice(0, 8));
    await kill9(node); // before the quiet period ends: the study is only partly received
    node = await spawnNode(configPath, truthPath);
    await stowInstances({ url: `${node.url}/dicomweb` }, instances); // the sender retries its push
    await waitFor('SEG and SR in Orthanc', async () => {
      const o = await outputsInOrthanc(orthanc, study.truth.studyInstanceUid);
      return o.seg >= 1 && o.sr >= 1;
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(await outputsInOrthanc(orthanc, study.truth.studyInstanceUid), { seg: 1, sr: 1 });
  });

  it('kill -9 during processing: the job is recovered at restart and completes', async () => {
    const { study, truthPath, configPath, instances } = await setUp(42, orthanc.dicomWebRoot);
    node = await spawnNode(configPath, truthPath, { STAGE_DELAY_MS: '60000' });
    await stowInstances({ url: `${node.url}/dicomweb` }, instances);
    await waitFor('segmentation to start', async () => node!.output.join('').includes('SEGMENTING'));
    await kill9(node);
    node = await spawnNode(configPath, truthPath);
    await waitFor('SEG and SR in Orthanc', async () => {
      const o = await outputsInOrthanc(orthanc, study.truth.studyInstanceUid);
      return o.seg >= 1 && o.sr >= 1;
    });
    assert.deepEqual(await outputsInOrthanc(orthanc, study.truth.studyInstanceUid), { seg: 1, sr: 1 });
  });

  it('Orthanc down during write-back, node killed while retrying: results arrive once Orthanc returns', async () => {
    const orthancPort = Number(new URL(orthanc.baseUrl).port);
    const { study, truthPath, configPath, instances } = await setUp(43, orthanc.dicomWebRoot);
    await orthanc.stop(); // the PACS goes down before the node can write back
    node = await spawnNode(configPath, truthPath);
    await stowInstances({ url: `${node.url}/dicomweb` }, instances);
    await new Promise((resolve) => setTimeout(resolve, 2500)); // processed; write-back failing and retrying
    await kill9(node);
    orthanc = await startOrthanc({ port: orthancPort });
    node = await spawnNode(configPath, truthPath);
    await waitFor('SEG and SR in Orthanc', async () => {
      const o = await outputsInOrthanc(orthanc, study.truth.studyInstanceUid);
      return o.seg >= 1 && o.sr >= 1;
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(await outputsInOrthanc(orthanc, study.truth.studyInstanceUid), { seg: 1, sr: 1 });
  });

  it('kill -9 four times during a load of four studies pushed in pieces: each study is measured once and has exactly one SEG and one SR', async function () {
    const quietPeriodSeconds = 1;
    const studies = await Promise.all([51, 52, 53, 54].map((seed) => generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed })));
    const truthPath = join(tmp.path, 'truths.json');
    writeFileSync(truthPath, JSON.stringify(studies.map((s) => s.truth)));
    const port = await freeLoopbackPort();
    const configPath = join(tmp.path, 'node.json');
    const queuePath = join(tmp.path, 'jobs.sqlite');
    writeFileSync(
      configPath,
      JSON.stringify({
        logLevel: 'warn',
        spoolDir: join(tmp.path, 'spool'),
        output: { dir: join(tmp.path, 'out'), overlay: false },
        server: { port },
        queue: { path: queuePath, baseDelayMs: 200, maxDelayMs: 1000, maxAttempts: 50 },
        assembly: { quietPeriodSeconds },
        writeBack: { destination: { url: orthanc.dicomWebRoot }, deadlineHours: 1 },
      }),
    );
    const url = `http://127.0.0.1:${port}/dicomweb`;
    node = await spawnNode(configPath, truthPath);
    // A sender like a PACS: pieces of four instances, the measured slice first (so a partial study
    // is measurable, which is what the quiet period must prevent), retrying a piece until it is stored.
    const send = async (study: (typeof studies)[number], startAfterMs: number) => {
      await new Promise((resolve) => setTimeout(resolve, startAfterMs));
      const t12 = study.truth.t12.sopInstanceUid;
      const instances = study.files
        .map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid }))
        .sort((a, b) => Number(b.sopInstanceUid === t12) - Number(a.sopInstanceUid === t12));
      for (let i = 0; i < instances.length; i += 4) {
        for (;;) {
          try {
            await stowInstances({ url }, instances.slice(i, i + 4));
            break;
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
    };
    const sending = Promise.all(studies.map((study, i) => send(study, i * 1200)));
    for (let kill = 0; kill < 4; kill++) {
      await new Promise((resolve) => setTimeout(resolve, 900));
      await kill9(node!);
      await new Promise((resolve) => setTimeout(resolve, quietPeriodSeconds * 1000 + 1000)); // down longer than the quiet period
      node = await spawnNode(configPath, truthPath);
    }
    await sending;
    for (const study of studies) {
      await waitFor('SEG and SR in Orthanc', async () => {
        const o = await outputsInOrthanc(orthanc, study.truth.studyInstanceUid);
        return o.seg >= 1 && o.sr >= 1;
      }, 60_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const queue = new SqliteJobQueue(queuePath);
    try {
      for (const study of studies) {
        const uid = study.truth.studyInstanceUid;
        assert.deepEqual(await outputsInOrthanc(orthanc, uid), { seg: 1, sr: 1 }, uid);
        const measured = (await queue.list('done')).filter((j) => j.kind === 'analyze-study' && j.key === uid && (j.result as AnalyzeStudyResult).outcome === 'measured');
        assert.equal(measured.length, 1, `${uid} measured ${measured.length} times`);
        assert.equal((measured[0].result as AnalyzeStudyResult).selectedInstanceCount, study.files.length, 'measured on the whole study');
      }
    } finally {
      await queue.close();
    }
  });
});
