/**
 * DIMSE faults: kill -9 of the node in the middle of a C-STORE association, then a restart
 * (every instance that got a success status is measured; none is lost), and a spool that really
 * runs out of space (a tiny tmpfs) answering A700 while the association goes on. The node runs
 * as a real child process (test/support/node-main.ts) with stages answering from phantom truth.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { SqliteJobQueue } from '../src/queue/sqlite-queue.ts';
import { ANALYZE_STUDY, startNode, type AnalyzeStudyResult, type RunningNode } from '../src/server.ts';
import { loadConfig } from '../src/config.ts';
import { DIMSE_STATUS } from '../src/dimse/statuses.ts';
import { echoscu, requireDcmtk, sendWithClient, storescu, writeFiles } from './support/dimse.ts';
import { makeTempDir, repoRoot } from './support/env.ts';
import { freeLoopbackPort } from './support/orthanc.ts';
import { truthStages } from './support/truth-stages.ts';

const AE = 'CTMN_TEST';

function spawnNode(configPath: string, truthPath: string): Promise<{ child: ChildProcess; output: string[] }> {
  const child = spawn(process.execPath, ['--import=tsx', join(repoRoot, 'test/support/node-main.ts'), configPath, truthPath], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start:\n${output.join('')}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      output.push(d.toString());
      if (/READY /.test(d.toString())) {
        clearTimeout(timer);
        resolve({ child, output });
      }
    });
    child.once('exit', (code) => reject(new Error(`node exited (${code}):\n${output.join('')}`)));
  });
}

/** The last analysis of the study, read from the node's queue database (the child process owns it). */
async function lastAnalysis(queuePath: string, studyUid: string): Promise<AnalyzeStudyResult | undefined> {
  const queue = new SqliteJobQueue(queuePath);
  try {
    return (await queue.lastDone<unknown>(ANALYZE_STUDY, studyUid))?.result as AnalyzeStudyResult | undefined;
  } finally {
    await queue.close();
  }
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('DIMSE faults', function () {
  this.timeout(240_000);
  let tmp: ReturnType<typeof makeTempDir>;
  before(function () {
    requireDcmtk(this);
  });
  beforeEach(() => (tmp = makeTempDir('ctmn-dimse-faults-')));
  afterEach(() => tmp.remove());

  it('kill -9 during C-STORE, then restart: every instance that got a success status is measured, none is lost', async () => {
    const study = await generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed: 51 });
    // The truth stages measure the phantom's T12 slice: send it first, so a partial study is measurable.
    const t12 = study.truth.slices.find((slice) => slice.sopInstanceUid === study.truth.t12.sopInstanceUid)!.fileName!;
    const paths = writeFiles(join(tmp.path, 'in'), study.files).sort((a, b) => Number(b.endsWith(t12)) - Number(a.endsWith(t12)));
    const truthPath = join(tmp.path, 'truth.json');
    writeFileSync(truthPath, JSON.stringify(study.truth));
    const port = await freeLoopbackPort();
    const queuePath = join(tmp.path, 'jobs.sqlite');
    const configPath = join(tmp.path, 'config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        spoolDir: join(tmp.path, 'spool'),
        output: { dir: join(tmp.path, 'out'), overlay: false },
        server: { port: 0 },
        queue: { path: queuePath, baseDelayMs: 50, maxDelayMs: 200 },
        assembly: { quietPeriodSeconds: 0.5 },
        dimse: { enabled: true, aeTitle: AE, port },
      }),
    );
    const uid = study.truth.studyInstanceUid;
    const first = await spawnNode(configPath, truthPath);
    // Kill the node from inside the 6th response handler: the association is cut mid-study.
    let killed = false;
    const statuses = await new Promise<Array<number | undefined>>((resolve) => {
      const sending = sendWithClient(port, 'MODALITY', AE, paths.map((path) => ({ path })), undefined, (answered) => {
        if (answered === 6 && !killed) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      });
      void sending.then((r) => resolve(r.statuses));
    });
    assert.ok(killed);
    const succeeded = paths.filter((_, i) => statuses[i] === DIMSE_STATUS.success);
    assert.ok(succeeded.length >= 6 && succeeded.length < paths.length, `${succeeded.length} of ${paths.length} acknowledged before the kill`);

    const second = await spawnNode(configPath, truthPath);
    try {
      const afterRestart = await waitFor('the analysis after restart', () => lastAnalysis(queuePath, uid)).catch(async (error: Error) => {
        const queue = new SqliteJobQueue(queuePath);
        const jobs = JSON.stringify((await queue.list()).map((j) => ({ kind: j.kind, state: j.state, key: j.key, err: j.lastError })));
        await queue.close();
        throw new Error(`${error.message}\njobs: ${jobs}\n${second.output.join('').slice(-3000)}`);
      });
      const spooled = readdirSync(join(tmp.path, 'spool', uid)).filter((n) => n.endsWith('.dcm'));
      const succeededUids = succeeded.map((path) => study.truth.slices.find((s) => path.endsWith(s.fileName!))!.sopInstanceUid!);
      for (const sopUid of succeededUids) assert.ok(spooled.includes(`${sopUid}.dcm`), `acknowledged instance ${sopUid} is in the spool`);
      assert.equal(afterRestart.outcome, 'measured');
      assert.equal(afterRestart.selectedInstanceCount, spooled.length, 'measured on every spooled instance');
      // The rest arrives: the study is measured again, complete.
      const rest = await storescu(port, 'MODALITY', AE, [join(tmp.path, 'in')]);
      assert.equal(rest.code, 0, rest.output);
      const complete = await waitFor('the complete analysis', async () => {
        const result = await lastAnalysis(queuePath, uid);
        return result?.selectedInstanceCount === paths.length ? result : undefined;
      });
      assert.equal(complete.outcome, 'measured');
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((resolve) => second.child.once('exit', resolve));
    }
  });

  it('answers A700 when the spool file system is full, keeps what it acknowledged, and the association goes on', async function () {
    const spool = join(tmp.path, 'spool');
    mkdirSync(spool, { recursive: true });
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=160k', 'tmpfs', spool], { encoding: 'utf8' });
    if (mounted.status !== 0) {
      console.log(`      skipped: cannot mount a tmpfs here (${(mounted.stderr || '').trim()}); the free-space threshold test covers A700`);
      this.skip();
    }
    let node: RunningNode | undefined;
    try {
      const study = await generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed: 52 });
      const paths = writeFiles(join(tmp.path, 'in'), study.files);
      const base = loadConfig({ env: {} });
      node = await startNode(
        {
          ...base,
          spoolDir: spool,
          output: { ...base.output, dir: join(tmp.path, 'out'), overlay: false },
          server: { ...base.server, port: 0 },
          queue: { ...base.queue, path: join(tmp.path, 'jobs.sqlite') },
          assembly: { quietPeriodSeconds: 30 },
          dimse: { ...base.dimse, enabled: true, aeTitle: AE, port: 0 },
        },
        { stages: truthStages(study.truth) },
      );
      const result = await sendWithClient(node.dimse!.port, 'MODALITY', AE, paths.map((path) => ({ path })));
      const ok = result.statuses.filter((s) => s === DIMSE_STATUS.success).length;
      const full = result.statuses.filter((s) => s === DIMSE_STATUS.outOfResources).length;
      assert.ok(ok > 0 && full > 0 && ok + full === paths.length, `statuses: ${result.statuses.join(',')}`);
      const studyDir = join(spool, study.truth.studyInstanceUid);
      assert.equal(readdirSync(studyDir).filter((n) => n.endsWith('.dcm')).length, ok, 'exactly the acknowledged instances are on disk');
      assert.equal(readdirSync(studyDir).filter((n) => n.endsWith('.partial')).length, 0, 'no partial file left behind');
      assert.equal((await echoscu(node.dimse!.port, 'MODALITY', AE)).code, 0, 'the SCP keeps serving');
    } finally {
      await node?.stop();
      spawnSync('umount', [spool]);
      assert.ok(existsSync(spool));
    }
  });
});
