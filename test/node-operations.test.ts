/**
 * Running the node for months (issue #20): readiness with reasons (polled PACS down, spool disk
 * low) and recovery, outcome/stage/poll/write-back metrics, backfill and watermark from the
 * command line, and retention (short durations; a pass killed with SIGKILL and run again).
 * Level and segmentation answer from phantom truth: these tests are about the node's operation.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config.ts';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import Transport from 'winston-transport';
import { CtMuscleError } from '../src/errors.ts';
import { logger, setLogLevel } from '../src/logging.ts';
import { createMetrics } from '../src/node/metrics.ts';
import { applyRetention } from '../src/node/retention.ts';
import { generatePhantomStudy, type PhantomTruth } from '../src/phantom/index.ts';
import type { Stages } from '../src/pipeline/index.ts';
import { SqliteJobQueue } from '../src/queue/sqlite-queue.ts';
import { ANALYZE_STUDY, requeueStudy, startNode, WRITE_BACK, type AnalyzeStudyResult, type RunningNode } from '../src/server.ts';
import { makeTempDir, repoRoot } from './support/env.ts';
import { nodeConfig } from './support/node-config.ts';
import { freeLoopbackPort, type OrthancHandle, requireOrthanc, startOrthanc, stow } from './support/orthanc.ts';
import { truthStages } from './support/truth-stages.ts';

const run = promisify(execFile);

const today = () => new Date().toISOString().slice(0, 10).replace(/-/g, '');

async function phantom(seed: number, studyInstanceUid: string, studyDate = today()) {
  return generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed, study: { studyInstanceUid, studyDate } });
}

async function metricsText(node: RunningNode): Promise<string> {
  return (await fetch(`${node.url}/metrics`)).text();
}

/** The value of one sample, e.g. metric(text, 'ctmn_polls_total{result="failed"}'); 0 when absent. */
function metric(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

async function readyz(node: RunningNode): Promise<{ status: number; body: { status: string; reasons: string[] } }> {
  const response = await fetch(`${node.url}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string; reasons: string[] } };
}

async function settle(node: RunningNode): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 350));
  await node.idle();
}

async function cli(configPath: string, ...args: string[]): Promise<unknown> {
  const { stdout } = await run(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), '--config', configPath, ...args], { encoding: 'utf8' });
  return JSON.parse(stdout);
}

/** Stages answering by study: truth for the measured one, a typed error for the others. */
function stagesByStudy(measured: PhantomTruth, notInView: PhantomTruth, broken: PhantomTruth): Stages {
  const sops = (truth: PhantomTruth) => new Set(truth.slices.map((s) => s.sopInstanceUid));
  const [outOfView, missing] = [sops(notInView), sops(broken)];
  const truth = truthStages(measured);
  return {
    findLevel(input) {
      const first = input.volume.slices[0].sopInstanceUid;
      if (outOfView.has(first)) throw new CtMuscleError('E_LEVEL_NOT_IN_VIEW', 'T12 is not in the field of view (the series starts below it).');
      if (missing.has(first)) throw new CtMuscleError('E_STAGE_UNAVAILABLE', 'no level finder in this test build');
      return truth.findLevel(input);
    },
    segmentAndMeasure: (input) => truth.segmentAndMeasure(input),
  };
}

describe('docs/prometheus-alerts.yml and docs/grafana-dashboard.json', () => {
  it('use only metrics the node exports', async () => {
    const queue = new SqliteJobQueue(':memory:');
    try {
      const exported = new Set((await createMetrics(queue).registry.getMetricsAsJSON()).map((m) => m.name));
      for (const file of ['docs/prometheus-alerts.yml', 'docs/grafana-dashboard.json']) {
        const used = new Set([...readFileSync(join(repoRoot, file), 'utf8').matchAll(/ctmn_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')));
        assert.ok(used.size > 5, file);
        for (const name of used) assert.ok(exported.has(name), `${file} uses ${name}, which the node does not export`);
      }
      JSON.parse(readFileSync(join(repoRoot, 'docs/grafana-dashboard.json'), 'utf8'));
    } finally {
      await queue.close();
    }
  });
});

describe('node operations', function () {
  this.timeout(180_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  let orthanc: OrthancHandle | undefined;
  let restore: (() => void) | undefined;
  beforeEach(() => (tmp = makeTempDir('ctmn-ops-')));
  afterEach(async () => {
    restore?.();
    restore = undefined;
    await node?.stop();
    await orthanc?.stop();
    node = undefined;
    orthanc = undefined;
    tmp.remove();
  });

  it('counts studies by outcome and code, times every stage, and writes back per destination', async () => {
    const measured = await phantom(51, '2.25.5100000001');
    const notInView = await phantom(52, '2.25.5100000002');
    const broken = await phantom(53, '2.25.5100000003');
    const stages = stagesByStudy(measured.truth, notInView.truth, broken.truth);
    const lines: Array<Record<string, unknown>> = [];
    const capture = new Transport({ level: 'info' });
    capture.log = (info: Record<string, unknown>, next: () => void) => {
      lines.push(info);
      next();
    };
    const level = logger.level;
    logger.add(capture);
    setLogLevel('info');
    restore = () => {
      logger.remove(capture);
      logger.level = level;
    };
    node = await startNode(nodeConfig(tmp.path), { stages });
    for (const study of [measured, notInView, broken]) await stowInstances({ url: `${node.url}/dicomweb` }, study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid })));
    await settle(node);
    const text = await metricsText(node);
    // A slow machine may let the quiet period pass mid-push: a study can then be analysed twice, and counted twice.
    const done = (await node.queue.list('done')).filter((j) => j.kind === ANALYZE_STUDY).map((j) => j.result as AnalyzeStudyResult);
    const outcomes = (outcome: string) => done.filter((r) => r.outcome === outcome).length;
    assert.ok(outcomes('measured') >= 1 && outcomes('not-measured') >= 1);
    assert.equal(metric(text, 'ctmn_studies_total{outcome="measured",code="ok"}'), outcomes('measured'));
    assert.equal(metric(text, 'ctmn_studies_total{outcome="not-measured",code="E_LEVEL_NOT_IN_VIEW"}'), outcomes('not-measured'));
    assert.ok(metric(text, 'ctmn_studies_total{outcome="failed",code="E_STAGE_UNAVAILABLE"}') >= 1);
    for (const stage of ['select', 'volume', 'level', 'segment-measure', 'report', 'outputs']) {
      assert.ok(metric(text, `ctmn_stage_duration_seconds_count{stage="${stage}"}`) >= 1, `stage ${stage} timed`);
    }
    assert.equal(metric(text, 'ctmn_write_backs_total{destination="local",outcome="local"}'), outcomes('measured') + outcomes('not-measured'), 'the measured study and the not-measured SR');
    const measuredLine = lines.find((l) => l.message === 'study measured' && l.studyInstanceUid === '2.25.5100000001');
    assert.ok(measuredLine, 'a measured study logs a result summary at info');
    assert.deepEqual([measuredLine.level, measuredLine.vertebra, measuredLine.slice, typeof measuredLine.areaCm2, typeof measuredLine.meanHu, measuredLine.flags], ['info', 'T12', 'mid-vertebral-body', 'number', 'number', []]);
    const notMeasuredLine = lines.find((l) => l.message === 'study not measured' && l.studyInstanceUid === '2.25.5100000002');
    assert.ok(notMeasuredLine, 'a not-measured study logs its code and reason at info');
    assert.deepEqual([notMeasuredLine.level, notMeasuredLine.code, notMeasuredLine.reason], ['info', 'E_LEVEL_NOT_IN_VIEW', 'T12 is not in the field of view (the series starts below it).']);
    const infoText = JSON.stringify(lines.filter((l) => l.level === 'info'));
    for (const patientValue of ['PHANTOM^CT MUSCLE', '19650101']) assert.ok(!infoText.includes(patientValue), `no patient data at info (${patientValue})`);
    const notMeasuredDir = join(tmp.path, 'out', '2.25.5100000002');
    assert.deepEqual(readdirSync(notMeasuredDir).sort(), ['result.json', 'sr.dcm'], 'the not-measured study has an SR saying why, and no SEG');
    const analysis = (await node.queue.list('done')).find((j) => j.kind === ANALYZE_STUDY && j.key === '2.25.5100000002')!.result as AnalyzeStudyResult;
    assert.deepEqual([analysis.outcome, analysis.status], ['not-measured', 'E_LEVEL_NOT_IN_VIEW']);
    assert.match(analysis.message, /T12 is not in the field of view/);
    assert.equal(existsSync(join(tmp.path, 'out', '2.25.5100000003')), false, 'a node failure writes nothing (the job is retried, then dead-lettered)');
  });

  it('readiness: not ready after N failed polls of a PACS that is down, ready again when it answers; poll metrics move', async function () {
    requireOrthanc(this);
    const port = await freeLoopbackPort();
    const source = { url: `http://127.0.0.1:${port}/dicom-web` };
    const study = await phantom(54, '2.25.5400000001');
    const config = nodeConfig(tmp.path, { poll: { ...loadConfig({ env: {} }).poll, source } });
    config.health = { ...config.health, pollFailuresNotReady: 2 };
    node = await startNode(config, { stages: truthStages(study.truth) });
    assert.equal((await readyz(node)).status, 200);
    assert.equal(await node.pollNow(), null);
    assert.equal((await readyz(node)).status, 200, 'one failed poll is not yet an outage');
    assert.equal(await node.pollNow(), null);
    const down = await readyz(node);
    assert.equal(down.status, 503);
    assert.match(down.body.reasons.join('; '), /polled PACS unavailable: the last 2 polls failed \(E_PACS_UNAVAILABLE/);
    let text = await metricsText(node);
    assert.equal(metric(text, 'ctmn_polls_total{result="failed"}'), 2);
    assert.equal(metric(text, 'ctmn_ready'), 0);

    orthanc = await startOrthanc({ port });
    await stow(orthanc.dicomWebRoot, study.files.map((f) => ({ bytes: f.bytes })));
    const report = await node.pollNow();
    assert.ok(report);
    assert.equal(report.studiesFetched, 1);
    assert.equal((await readyz(node)).status, 200, 'ready again once the PACS answers');
    await node.idle();
    text = await metricsText(node);
    assert.equal(metric(text, 'ctmn_polls_total{result="ok"}'), 1);
    assert.equal(metric(text, 'ctmn_poll_studies_total{what="found"}'), 1);
    assert.equal(metric(text, 'ctmn_poll_studies_total{what="fetched"}'), 1);
    assert.equal(metric(text, 'ctmn_poll_instances_retrieved_total'), study.files.length);
    assert.equal(metric(text, `ctmn_write_backs_total{destination="${source.url}",outcome="stored"}`), 1);
    assert.equal(metric(text, 'ctmn_ready'), 1);
  });

  it('readiness: not ready while the spool disk is below health.minFreeSpoolMb, ready again when space is freed (tmpfs)', async function () {
    const mountPoint = join(tmp.path, 'small-disk');
    mkdirSync(mountPoint);
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint]);
    } catch (error) {
      console.log(`      skipped: cannot mount a small tmpfs here (${(error as Error).message.split('\n')[0]})`);
      this.skip();
    }
    try {
      const config = nodeConfig(tmp.path, { spoolDir: join(mountPoint, 'spool') });
      config.health = { ...config.health, minFreeSpoolMb: 8 };
      node = await startNode(config);
      assert.equal((await readyz(node)).status, 200);
      const filler = join(mountPoint, 'filler');
      writeFileSync(filler, Buffer.alloc(10 * 1024 * 1024, 1));
      const low = await readyz(node);
      assert.equal(low.status, 503);
      assert.match(low.body.reasons.join('; '), /spool disk low: \d+ MB free, below health.minFreeSpoolMb 8 MB/);
      rmSync(filler);
      assert.equal((await readyz(node)).status, 200);
      await node.stop();
      node = undefined;
    } finally {
      await run('umount', [mountPoint]);
    }
  });

  it('backfill --from/--to finds and measures a study dated years ago that polling never sees; watermark shows and resets', async function () {
    requireOrthanc(this);
    orthanc = await startOrthanc();
    const old = await phantom(55, '2.25.5500000001', '20190305');
    await stow(orthanc.dicomWebRoot, old.files.map((f) => ({ bytes: f.bytes })));
    const config = nodeConfig(tmp.path, { poll: { ...loadConfig({ env: {} }).poll, source: { url: orthanc.dicomWebRoot } } });
    const configPath = join(tmp.path, 'site.json');
    writeFileSync(configPath, JSON.stringify({ spoolDir: config.spoolDir, output: config.output, queue: { path: config.queue.path }, poll: { source: config.poll.source }, logLevel: 'warn' }));
    node = await startNode(config, { stages: truthStages(old.truth) });
    const polled = await node.pollNow();
    assert.equal(polled?.studiesFound, 0, 'a poll searches recent StudyDates only');
    const shown = (await cli(configPath, 'watermark')) as { watermark: string; nextWindow: string[] };
    assert.equal(shown.watermark, today());

    const report = (await cli(configPath, 'backfill', '--from', '20190301', '--to', '20190331')) as { studiesFound: number; studiesFetched: number; window: string[] };
    assert.deepEqual([report.studiesFound, report.studiesFetched, report.window], [1, 1, ['20190301', '20190331']]);
    await settle(node);
    const done = (await node.queue.list('done')).filter((j) => j.kind === ANALYZE_STUDY);
    assert.deepEqual(done.map((j) => (j.result as AnalyzeStudyResult).outcome), ['measured']);
    assert.equal(((await cli(configPath, 'watermark')) as { watermark: string }).watermark, today(), 'backfill leaves the watermark');

    const reset = (await cli(configPath, 'watermark', '--reset', '20190301')) as { previous: string; watermark: string; nextWindow: string[] };
    assert.deepEqual([reset.previous, reset.watermark, reset.nextWindow[0]], [today(), '20190301', '20190228']);
    const next = await node.pollNow();
    assert.equal(next?.studiesFound, 1, 'after the reset the poll window reaches the old study');
    assert.equal(next?.studiesFetched, 0, 'already fetched: not again');
    await assert.rejects(cli(configPath, 'watermark', '--reset', '20190231'), /E_USAGE: Not a date/);
  });

  it('requeue of an unchanged study says so and --force measures it again; jobs prints ISO 8601 times', async () => {
    const study = await phantom(58, '2.25.5800000001');
    const config = nodeConfig(tmp.path);
    node = await startNode(config, { stages: truthStages(study.truth) });
    await stowInstances({ url: `${node.url}/dicomweb` }, study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid })));
    await settle(node);
    const plain = await requeueStudy(config, study.truth.studyInstanceUid);
    assert.match(plain.note ?? '', /^unchanged: the study has the same \d+ instances as when it was last measured/);
    await node.idle();
    const last = async () => (await node!.queue.list('done')).filter((j) => j.kind === ANALYZE_STUDY).at(-1)!.result as AnalyzeStudyResult;
    assert.equal((await last()).outcome, 'unchanged');
    assert.match((await last()).message, /late instances did not change the selected series/);
    const forced = await requeueStudy(config, study.truth.studyInstanceUid, { force: true });
    assert.equal(forced.note, undefined);
    await node.idle();
    assert.equal((await last()).outcome, 'measured');
    const configPath = join(tmp.path, 'site.json');
    writeFileSync(configPath, JSON.stringify({ queue: { path: config.queue.path }, logLevel: 'warn' }));
    const listed = (await cli(configPath, 'jobs', '--state', 'done')) as { jobs: Array<{ createdAt: string; updatedAt: string }> };
    assert.ok(listed.jobs.length >= 3);
    for (const job of listed.jobs) assert.match(job.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('retention deletes the spool only after write-back plus the configured time, keeps results when told to, and shows it in /metrics', async () => {
    const study = await phantom(56, '2.25.5600000001');
    const config = nodeConfig(tmp.path);
    config.retention = { spoolDaysAfterWriteBack: 2 / 86_400, resultsDays: null, intervalMinutes: 60 };
    node = await startNode(config, { stages: truthStages(study.truth) });
    await stowInstances({ url: `${node.url}/dicomweb` }, study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid })));
    const spooled = join(config.spoolDir, study.truth.studyInstanceUid);
    assert.deepEqual((await node.applyRetention())?.spoolDeleted, 0, 'nothing before the analysis');
    await settle(node);
    assert.equal((await node.queue.list('done')).filter((j) => j.kind === WRITE_BACK).length, 1);
    assert.deepEqual((await node.applyRetention())?.spoolDeleted, 0, 'written back less than 2 s ago: kept');
    assert.ok(existsSync(spooled));
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const report = await node.applyRetention();
    assert.equal(report?.spoolDeleted, 1);
    assert.ok(report!.freedBytes.spool > 0);
    assert.equal(existsSync(spooled), false);
    assert.ok(existsSync(join(config.output.dir, study.truth.studyInstanceUid, 'sr.dcm')), 'results kept (resultsDays null)');
    const text = await metricsText(node);
    assert.equal(metric(text, 'ctmn_retention_deleted_total{what="spool"}'), 1);
    assert.ok(metric(text, 'ctmn_retention_freed_bytes_total{what="spool"}') > 0);
  });

  it('retention killed with SIGKILL mid-pass: the next pass finishes it; busy and dead-lettered studies are never touched', async () => {
    const queuePath = join(tmp.path, 'jobs.sqlite');
    const spoolDir = join(tmp.path, 'spool');
    const outputDir = join(tmp.path, 'out');
    const queue = new SqliteJobQueue(queuePath);
    const studies = Array.from({ length: 40 }, (_, i) => `2.25.57000${i}`);
    const busy = studies[0];
    const dead = studies[1];
    for (const uid of studies) {
      for (const root of [spoolDir, outputDir]) {
        mkdirSync(join(root, uid), { recursive: true });
        for (let n = 0; n < (root === spoolDir ? 150 : 3); n++) writeFileSync(join(root, uid, `${n}.dcm`), Buffer.alloc(2048));
      }
      await queue.enqueue(WRITE_BACK, uid, { studyInstanceUid: uid, files: [] });
      const job = (await queue.claim([WRITE_BACK]))!;
      if (uid === dead) await queue.fail(job.id, { code: 'E_PACS_REJECTED', message: 'refused' }, { retryable: false });
      else await queue.complete(job.id, { destination: 'local' });
    }
    await queue.enqueue(ANALYZE_STUDY, busy, { studyInstanceUid: busy, instanceCount: 151 });
    await queue.close();

    const child = spawn(process.execPath, ['--import=tsx', join(repoRoot, 'test/support/retention-main.ts'), queuePath, spoolDir, outputDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('START') && resolve()));
    // Kill it once it has started deleting (a folder renamed or gone), not before and not after.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && readdirSync(spoolDir).filter((name) => !name.startsWith('.deleting-')).length === studies.length) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    child.kill('SIGKILL');
    const exit = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const leftBehind = readdirSync(spoolDir).length;
    const halfDeleted = readdirSync(spoolDir).filter((name) => name.startsWith('.deleting-')).length;
    console.log(`      killed (${exit}) with ${leftBehind - halfDeleted} of ${studies.length} spool folders untouched and ${halfDeleted} half-deleted (.deleting-*)`);
    assert.equal(exit, 'SIGKILL', 'the pass was killed, not finished');
    assert.ok(leftBehind > 2, 'killed mid-pass: due studies were still there');

    const again = new SqliteJobQueue(queuePath);
    try {
      await applyRetention({ queue: again, spoolDir, outputDir, settings: { spoolDaysAfterWriteBack: 0, resultsDays: 0 } });
    } finally {
      await again.close();
    }
    assert.deepEqual(readdirSync(spoolDir).sort(), [busy, dead].sort(), 'only the busy and the dead-lettered study remain; no leftovers');
    assert.deepEqual(readdirSync(outputDir).sort(), [busy, dead].sort());
    assert.equal(readdirSync(join(spoolDir, busy)).length, 150, 'the busy study is intact');
  });
});
