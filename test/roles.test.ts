/**
 * serve --role: what each role runs (an intake queues but analyses nothing; a worker analyses what
 * an intake queued and answers no STOW-RS), the start-up checks of a split deployment (the spool's
 * identity, SQLite on a network file system), and leases (a live worker keeps its job, a dead
 * worker's job is taken back by another). In-process nodes with truth stages: the multi-process
 * load with real stages is test/scale.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { loadConfig } from '../src/config.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { openJobQueue } from '../src/queue/open.ts';
import { networkFileSystemName } from '../src/io/file-system.ts';
import { checkQueueForRole } from '../src/node/roles.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { SqliteJobQueue } from '../src/queue/sqlite-queue.ts';
import { startWorkers } from '../src/queue/workers.ts';
import { ANALYZE_STUDY, startNode, WRITE_BACK, type RunningNode } from '../src/server.ts';
import { makeTempDir, repoRoot } from './support/env.ts';
import { countsByOutcome } from './support/metrics.ts';
import { nodeConfig } from './support/node-config.ts';
import { freeLoopbackPort } from './support/orthanc.ts';
import { kill9, startServe, type ServeProcess } from './support/serve-process.ts';
import { type PostgresHandle, requirePostgres, startPostgres } from './support/postgres.ts';
import { truthStages } from './support/truth-stages.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('serve --role: intake and worker processes', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof makeTempDir>;
  const nodes: RunningNode[] = [];
  beforeEach(() => (tmp = makeTempDir('ctmn-roles-')));
  afterEach(async () => {
    for (const node of nodes.splice(0).reverse()) await node.stop();
    tmp.remove();
  });

  it('an intake queues a pushed study without analysing it; a worker sharing its queue and spool analyses it and writes the results; a worker answers no STOW-RS', async () => {
    const study = await generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed: 61 });
    const instances = study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid }));
    const config = nodeConfig(tmp.path);
    const intake = await startNode(config, { role: 'intake' });
    nodes.push(intake);
    assert.equal((await stowInstances({ url: `${intake.url}/dicomweb` }, instances)).stored.length, instances.length);
    await sleep(800); // the quiet period (0.2 s) is long over: nothing in the intake runs the job
    assert.deepEqual((await intake.queue.list()).map((j) => [j.kind, j.state]), [[ANALYZE_STUDY, 'pending']]);
    // The intake put every instance on the working grid while it arrived; the worker, another node on the same spool, files them.
    await waitFor('every instance on the working grid', async () => ((await countsByOutcome(intake, 'ctmn_arrival_grid_slices_total')).made) === instances.length);

    const worker = await startNode(config, { role: 'worker', stages: truthStages(study.truth) });
    nodes.push(worker);
    await waitFor('the analysis and its write-back', async () => (await intake.queue.list('done')).filter((j) => j.kind === ANALYZE_STUDY || j.kind === WRITE_BACK).length === 2);
    const analysis = (await intake.queue.list('done')).find((j) => j.kind === ANALYZE_STUDY)!;
    assert.equal((analysis.result as { outcome: string }).outcome, 'measured');
    assert.equal((await countsByOutcome(worker, 'ctmn_precomputed_slices_total')).used, instances.length, 'the worker filed the intake\'s slices');
    assert.equal((await fetch(`${worker.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${worker.url}/dicomweb/studies`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${worker.url}/`)).status, 404, 'no review page on a worker');
  });

  it('refuses to start a worker whose spool is not the one the intake uses (an unmounted share)', async () => {
    const intake = await startNode(nodeConfig(tmp.path), { role: 'intake' });
    nodes.push(intake);
    const elsewhere = { ...nodeConfig(tmp.path), spoolDir: join(tmp.path, 'not-the-share') };
    await assert.rejects(startNode(elsewhere, { role: 'worker' }), (error) => {
      assert.ok(isCtMuscleError(error) && error.code === 'E_CONFIG_INVALID', String(error));
      assert.match(error.message, /not the one the other processes of this node use/);
      return true;
    });
    const same = await startNode(nodeConfig(tmp.path), { role: 'worker' });
    nodes.push(same);
  });

  it('accepts a local SQLite queue for split roles and names network file systems by their statfs type', async () => {
    await checkQueueForRole(nodeConfig(tmp.path), 'worker');
    assert.equal(networkFileSystemName(0x6969), 'nfs');
    assert.equal(networkFileSystemName(0xff534d42 | 0), 'cifs', 'a signed f_type is read unsigned');
    assert.equal(networkFileSystemName(0xef53), null, 'ext4 is local');
  });

  it('serve --role with an unknown role is a usage error (exit 2)', () => {
    const run = spawnSync(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), 'serve', '--role', 'reader'], { encoding: 'utf8', env: { ...process.env, CT_MUSCLE_NODE_FROM_SOURCE: '1' } });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /--role must be one of all, intake, worker, not reader/);
  });
});

describe('job leases between processes sharing a queue', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('ctmn-lease-')));
  afterEach(() => tmp.remove());

  it("a live worker keeps renewing its job's lease; another worker never takes it", async () => {
    const path = join(tmp.path, 'jobs.sqlite');
    // Two instances with their own owner stand for two processes.
    const queueA = new SqliteJobQueue(path, { owner: `a:${process.pid}` });
    const queueB = new SqliteJobQueue(path, { owner: `b:${process.pid}` });
    await queueA.enqueue('slow', 'k', {});
    let runs = 0;
    const handler = async () => {
      runs += 1;
      await sleep(1500); // five leases long
    };
    const options = { concurrency: 1, pollIntervalMs: 50, leaseMs: 300, recoverExpired: true, isRetryable: () => false };
    const a = startWorkers(queueA, { slow: handler }, options);
    await sleep(100);
    const b = startWorkers(queueB, { slow: handler }, options);
    await a.idle();
    await b.stop();
    await a.stop();
    assert.equal(runs, 1);
    assert.deepEqual((await queueA.list()).map((j) => [j.state, j.attempts]), [['done', 1]]);
    await queueA.close();
    await queueB.close();
  });

  it("a dead worker's job (lease not renewed) is taken back and finished by another worker", async () => {
    const path = join(tmp.path, 'jobs.sqlite');
    // Claimed by a worker on another machine that then died (no pid to check here: only its lease tells).
    const dead = new SqliteJobQueue(path, { owner: 'other-host:1' });
    await dead.enqueue('work', 'k', {});
    const claimed = (await dead.claim(['work'], Date.now(), 300))!;
    assert.equal(claimed.state, 'running');
    await dead.close();
    const queue = new SqliteJobQueue(path);
    const survivor = startWorkers(queue, { work: async () => 'finished' }, { concurrency: 1, pollIntervalMs: 50, leaseMs: 300, recoverExpired: true, isRetryable: () => false });
    await waitFor('the job to be taken back and done', async () => (await queue.list('done')).length === 1, 5_000);
    await survivor.stop();
    const [job] = await queue.list();
    assert.deepEqual([job.state, job.attempts, job.result], ['done', 2, 'finished']);
    await queue.close();
  });
});

describe('an intake on PostgreSQL killed while the database is down', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let postgres: PostgresHandle | undefined;
  const processes: ServeProcess[] = [];
  before(async function () {
    requirePostgres(this);
    postgres = await startPostgres();
  });
  after(async () => postgres?.stop());
  beforeEach(() => (tmp = makeTempDir('ctmn-roles-pg-')));
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => kill9(p)));
    tmp.remove();
  });

  it('a study acknowledged while the database was away, whose intake died before it returned, is queued at the next start', async () => {
    const study = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed: 62 });
    const instances = study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid }));
    const url = await postgres!.createDatabase('intake_down');
    const configPath = join(tmp.path, 'intake.json');
    const port = await freeLoopbackPort();
    const queueSection = { backend: 'postgres', url, leaseSeconds: 5 };
    writeFileSync(configPath, JSON.stringify({ logLevel: 'warn', spoolDir: join(tmp.path, 'spool'), output: { dir: join(tmp.path, 'out') }, server: { port }, queue: queueSection, assembly: { quietPeriodSeconds: 0.2 } }));
    const first = await startServe('intake', configPath);
    processes.push(first);
    await sleep(1500); // a heartbeat or two
    const down = postgres!.restart({ mode: 'fast', downMs: 6000 });
    await sleep(1000); // the server is down now
    const sent = await stowInstances({ url: `${first.url}/dicomweb` }, instances);
    assert.equal(sent.stored.length, instances.length, 'acknowledged: on disk, its job retried in the background');
    await kill9(first); // ... a retry that dies with the process
    await down;
    const queue = await openJobQueue(loadConfig({ file: configPath, env: {} }));
    try {
      assert.deepEqual(await queue.list(), [], 'nothing was queued before the kill');
      processes.push(await startServe('intake', configPath));
      await waitFor('the sweep to queue the study', async () => (await queue.list()).length > 0, 30_000);
      const jobs = await queue.list();
      assert.deepEqual(jobs.map((j) => [j.kind, j.key, (j.payload as { instanceCount: number }).instanceCount]), [[ANALYZE_STUDY, study.truth.studyInstanceUid, instances.length]]);
    } finally {
      await queue.close();
    }
  });
});
