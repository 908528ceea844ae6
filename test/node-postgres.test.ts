/**
 * The node with its queue on PostgreSQL (queue.backend "postgres"): a pushed study is measured and
 * written back with the jobs, state and review records in the database, the `jobs` and `requeue`
 * commands work on it (URL from CT_MUSCLE_QUEUE_URL, never printed with its password), and a node
 * started without a reachable database stops with E_QUEUE_UNREACHABLE. A real PostgreSQL from
 * Debian runs as a plain process (test/support/postgres.ts); skipped when it is not installed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { ANALYZE_STUDY, requeueStudy, startNode, WRITE_BACK, type AnalyzeStudyResult, type RunningNode } from '../src/server.ts';
import { makeTempDir, repoRoot } from './support/env.ts';
import { nodeConfig } from './support/node-config.ts';
import { requirePostgres, startPostgres, type PostgresHandle } from './support/postgres.ts';
import { truthStages } from './support/truth-stages.ts';

const run = promisify(execFile);

describe('the node on PostgreSQL (queue.backend "postgres")', function () {
  this.timeout(180_000);
  let server: PostgresHandle;
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  let n = 0;
  before(async function () {
    requirePostgres(this);
    server = await startPostgres();
  });
  after(async () => server?.stop());
  beforeEach(() => (tmp = makeTempDir('ctmn-node-pg-')));
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    tmp.remove();
  });

  const config = async () => {
    const url = await server.createDatabase(`node_${process.pid}_${++n}`);
    const base = nodeConfig(tmp.path);
    return { url, config: { ...base, queue: { ...base.queue, backend: 'postgres' as const, url } } };
  };

  it('measures a pushed study, and `jobs` and `requeue` work on the shared database', async () => {
    const { url, config: cfg } = await config();
    const study = await generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed: 31 });
    const instances = study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid }));
    node = await startNode(cfg, { stages: truthStages(study.truth) });
    await stowInstances({ url: `${node.url}/dicomweb` }, instances);
    await new Promise((resolve) => setTimeout(resolve, 350));
    await node.idle();
    const done = await node.queue.list('done');
    const analysis = done.find((j) => j.kind === ANALYZE_STUDY);
    assert.equal((analysis?.result as AnalyzeStudyResult | undefined)?.outcome, 'measured');
    assert.equal(done.filter((j) => j.kind === WRITE_BACK).length, 1);
    assert.match(await (await fetch(`${node.url}/metrics`)).text(), /ctmn_jobs\{state="done"\} 2/);
    assert.equal((await fetch(`${node.url}/readyz`)).status, 200);

    // The commands, as another process: the URL (with a password trust auth ignores) from the environment.
    const configPath = join(tmp.path, 'site.json');
    writeFileSync(configPath, JSON.stringify({ queue: { backend: 'postgres', path: cfg.queue.path, url: null }, spoolDir: cfg.spoolDir, logLevel: 'warn' }));
    const secretUrl = url.replace('postgres@', 'postgres:not-a-real-secret@');
    const env = { ...process.env, CT_MUSCLE_QUEUE_URL: secretUrl };
    const bin = join(repoRoot, 'bin/ct-muscle-node.js');
    const jobs = await run(process.execPath, [bin, '--config', configPath, 'jobs', '--state', 'done'], { env, encoding: 'utf8' });
    const listed = JSON.parse(jobs.stdout) as { counts: Record<string, number>; jobs: Array<{ id: string; kind: string }> };
    assert.equal(listed.counts.done, 2);
    assert.deepEqual(listed.jobs.map((j) => j.id).sort(), done.map((j) => j.id).sort());
    assert.ok(!(jobs.stdout + jobs.stderr).includes('not-a-real-secret'));
    const requeued = await run(process.execPath, [bin, '--config', configPath, 'requeue', study.truth.studyInstanceUid, '--force'], { env, encoding: 'utf8' });
    assert.equal((JSON.parse(requeued.stdout) as { state: string }).state, 'pending');
    await node.idle();
    const analyses = (await node.queue.list('done')).filter((j) => j.kind === ANALYZE_STUDY);
    assert.equal(analyses.length, 2, 'the running node took the requeued job from the shared database');
    const plain = await requeueStudy(cfg, study.truth.studyInstanceUid);
    assert.match(plain.note ?? '', /^unchanged/);
  });

  it('measures a study whose instances were acknowledged while PostgreSQL was down (the job is queued once it is back)', async () => {
    const { config: cfg } = await config();
    const study = await generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed: 32 });
    const instances = study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid }));
    node = await startNode(cfg, { stages: truthStages(study.truth) });
    const restarting = server.restart({ mode: 'crash', downMs: 3000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sent = await stowInstances({ url: `${node.url}/dicomweb` }, instances);
    assert.equal(sent.stored.length, instances.length, 'acknowledged while the database is down: they are in the spool');
    await restarting;
    const measured = async () => {
      const done = await node!.queue.list('done').catch(() => []);
      return done.some((j) => j.kind === ANALYZE_STUDY && (j.result as AnalyzeStudyResult).outcome === 'measured');
    };
    for (const deadline = Date.now() + 90_000; !(await measured()); ) {
      assert.ok(Date.now() < deadline, 'the study was measured after PostgreSQL came back');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });

  it('will not start without its database: E_QUEUE_UNREACHABLE, the password not shown', async () => {
    const base = nodeConfig(tmp.path);
    const url = `postgres://node:hunter2-secret@127.0.0.1:${server.port + 1}/none`;
    await assert.rejects(startNode({ ...base, queue: { ...base.queue, backend: 'postgres', url } }), (error: unknown) => {
      assert.ok(isCtMuscleError(error) && error.code === 'E_QUEUE_UNREACHABLE', String(error));
      assert.ok(!error.message.includes('hunter2-secret'), error.message);
      return true;
    });
  });
});
