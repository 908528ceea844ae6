/**
 * Throughput beyond one process: studies per minute for 300-slice 512² phantoms through
 *   - one process (`serve --role all`, the SQLite queue), and
 *   - one intake and 1, then 2, worker processes (`serve --role intake|worker`) on one PostgreSQL
 *     (a throwaway server started like the tests' harness; skipped, saying why, without it),
 * each timed from the first analyze job claimed until every study's results are written (to the
 * local results folder: no PACS in the loop, so the figure is the node's own), after an intake
 * received them all (its rate is printed too); and the queue's own cost per job (enqueue → claim
 * → complete, a no-op handler) on SQLite and on PostgreSQL.
 *
 * usage: npm run bench:scale -- [--studies 4] [--slices 300] [--jobs 2000]
 * Run it at low priority on a shared machine (`nice -n 10 npm run bench:scale`); figures vary
 * with what else runs (printed: load average).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { ANALYZE_STUDY, WRITE_BACK } from '../src/node/jobs.ts';
import { writePhantomStudy, type PhantomTruth } from '../src/phantom/index.ts';
import { loadConfig } from '../src/config.ts';
import type { JobQueue } from '../src/queue/job-queue.ts';
import { openJobQueue } from '../src/queue/open.ts';
import { freeLoopbackPort } from '../test/support/orthanc.ts';
import { postgresUnavailableReason, startPostgres, type PostgresHandle } from '../test/support/postgres.ts';
import { startServe, stopServe, type ServeProcess } from '../test/support/serve-process.ts';

const { values: args } = parseArgs({
  options: {
    studies: { type: 'string', default: '4' },
    slices: { type: 'string', default: '300' },
    jobs: { type: 'string', default: '2000' },
  },
});

const load = () => loadavg().map((l) => l.toFixed(1)).join(', ');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface StudyOnDisk {
  directory: string;
  truth: PhantomTruth;
}

/** Distinct phantoms (one seed each), generated once and sent to every configuration. */
async function makeStudies(root: string, count: number, sliceCount: number): Promise<StudyOnDisk[]> {
  const studies: StudyOnDisk[] = [];
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    const { directory, truth } = await writePhantomStudy(join(root, `study-${i}`), { rows: 512, columns: 512, sliceCount, sliceThicknessMm: 1, seed: 100 + i, arms: true, table: true });
    studies.push({ directory, truth });
    console.log(`phantom ${i + 1}/${count}: ${sliceCount} slices 512² generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return studies;
}

/** STOW-RS a study in pieces of 50 instances (as a PACS sends). */
async function sendStudy(url: string, study: StudyOnDisk): Promise<void> {
  const instances = study.truth.slices.map((s) => ({ sopInstanceUid: s.sopInstanceUid, bytes: new Uint8Array(readFileSync(join(study.directory, s.fileName!))) }));
  for (let i = 0; i < instances.length; i += 50) {
    const piece = instances.slice(i, i + 50);
    for (let attempt = 1; ; attempt += 1) {
      const { stored } = await stowInstances({ url: `${url}/dicomweb` }, piece).catch((error: Error) => {
        if (attempt >= 5) throw error;
        return { stored: [] };
      });
      if (stored.length === piece.length) break;
      if (attempt >= 5) throw new Error(`only ${stored.length}/${piece.length} instances stored`);
      await sleep(1000);
    }
  }
}

type Backend = { backend: 'sqlite' } | { backend: 'postgres'; url: string };

function writeConfig(dir: string, port: number, queue: Backend): string {
  const path = join(dir, `node-${port}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      logLevel: 'warn',
      spoolDir: join(dir, 'spool'),
      output: { dir: join(dir, 'out'), overlay: false },
      server: { port },
      queue: { ...queue, path: join(dir, 'jobs.sqlite'), baseDelayMs: 200, maxDelayMs: 1000, maxAttempts: 5, leaseSeconds: 60 },
      assembly: { quietPeriodSeconds: 2 },
      writeBack: { destination: null, deadlineHours: 1 },
    }),
  );
  return path;
}

/** Every study analysed and its write-back done (or not measured, with nothing to write). */
async function waitUntilDone(queue: JobQueue, studies: number): Promise<{ measured: number; notMeasured: number }> {
  for (;;) {
    const done = await queue.list('done');
    const dead = await queue.list('dead');
    if (dead.length > 0) throw new Error(`dead jobs: ${JSON.stringify(dead.map((j) => [j.kind, j.lastErrorCode, j.lastError]))}`);
    const analysed = done.filter((j) => j.kind === ANALYZE_STUDY && ['measured', 'not-measured'].includes((j.result as { outcome?: string }).outcome ?? ''));
    const busy = (await queue.list('pending')).length + (await queue.list('running')).length;
    if (analysed.length >= studies && busy === 0) {
      const measured = analysed.filter((j) => (j.result as { outcome: string }).outcome === 'measured').length;
      const written = new Set(done.filter((j) => j.kind === WRITE_BACK).map((j) => j.key)).size;
      if (written >= measured) return { measured, notMeasured: analysed.length - measured };
    }
    await sleep(200);
  }
}

/** Polls until the first analyze job has been claimed; resolves with that moment. */
async function firstClaim(queue: JobQueue): Promise<number> {
  for (;;) {
    if ((await queue.list('running')).some((j) => j.kind === ANALYZE_STUDY)) return performance.now();
    if ((await queue.list('done')).some((j) => j.kind === ANALYZE_STUDY)) return performance.now();
    await sleep(100);
  }
}

/**
 * One configuration: `workers` 0 means a single `--role all` process. Phase 1: an intake receives
 * every study (timed: the intake's rate) and stops. Phase 2: the processing processes start and
 * are timed from the first analyze job claimed until every study is done (their start-up is not
 * counted: a deployment starts its workers once).
 */
async function runConfiguration(label: string, studies: StudyOnDisk[], workers: number, backend: Backend): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ctmn-bench-scale-'));
  const processes: ServeProcess[] = [];
  const intakeConfig = writeConfig(dir, await freeLoopbackPort(), backend);
  const queue = await openJobQueue(loadConfig({ file: intakeConfig, env: {} }));
  try {
    const intake = await startServe('intake', intakeConfig);
    processes.push(intake);
    const received = performance.now();
    for (const study of studies) await sendStudy(intake.url, study).catch((error: Error) => Promise.reject(new Error(`${error.message}\n${intake.output()}`)));
    const receivedS = (performance.now() - received) / 1000;
    await stopServe(intake);
    const config = writeConfig(dir, 0, backend);
    const first = firstClaim(queue);
    processes.push(...(await Promise.all(workers === 0 ? [startServe('all', config)] : Array.from({ length: workers }, () => startServe('worker', config)))));
    const outcome = await waitUntilDone(queue, studies.length);
    const minutes = (performance.now() - (await first)) / 60_000;
    console.log(
      `${label}: ${studies.length} studies analysed in ${(minutes * 60).toFixed(0)} s = ${(studies.length / minutes).toFixed(2)} studies/min ` +
        `(${outcome.measured} measured, ${outcome.notMeasured} not measured); received by the intake in ${receivedS.toFixed(0)} s = ${((studies.length / receivedS) * 60).toFixed(1)} studies/min; load average ${load()}`,
    );
  } finally {
    await Promise.all(processes.map((p) => stopServe(p)));
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The queue's own cost: N no-op jobs enqueued, then claimed and completed one by one. */
async function queueOverhead(label: string, jobs: number, backend: Backend): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ctmn-bench-queue-'));
  const queue = await openJobQueue(loadConfig({ file: writeConfig(dir, 0, backend), env: {} }));
  try {
    const started = performance.now();
    for (let i = 0; i < jobs; i += 1) await queue.enqueue('noop', `key-${i}`, { i });
    const enqueued = performance.now();
    for (;;) {
      const job = await queue.claim(['noop']);
      if (!job) break;
      await queue.complete(job.id, null);
    }
    const finished = performance.now();
    const perJob = (finished - started) / jobs;
    console.log(
      `queue overhead, ${label}: ${perJob.toFixed(2)} ms per job (enqueue ${((enqueued - started) / jobs).toFixed(2)} ms + claim and complete ${((finished - enqueued) / jobs).toFixed(2)} ms), ${jobs} no-op jobs`,
    );
  } finally {
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`node ${process.version}; ${cpus().length} CPUs; load average (1, 5, 15 min) at start ${load()} — figures on a shared machine vary run to run.`);
const unavailable = postgresUnavailableReason();
let postgres: PostgresHandle | undefined;
const root = mkdtempSync(join(tmpdir(), 'ctmn-bench-studies-'));
try {
  if (unavailable) console.log(`PostgreSQL configurations skipped: ${unavailable}`);
  else postgres = await startPostgres();
  const pg = async (name: string): Promise<Backend> => ({ backend: 'postgres', url: await postgres!.createDatabase(name) });
  await queueOverhead('SQLite (WAL, synchronous FULL)', Number(args.jobs), { backend: 'sqlite' });
  if (postgres) await queueOverhead('PostgreSQL (pg-boss, same machine)', Number(args.jobs), await pg('overhead'));
  const studies = await makeStudies(root, Number(args.studies), Number(args.slices));
  await runConfiguration('one process (serve --role all), SQLite queue', studies, 0, { backend: 'sqlite' });
  if (postgres) {
    await runConfiguration('intake + 1 worker process, PostgreSQL queue', studies, 1, await pg('one_worker'));
    await runConfiguration('intake + 2 worker processes, PostgreSQL queue', studies, 2, await pg('two_workers'));
  }
} finally {
  await postgres?.stop();
  rmSync(root, { recursive: true, force: true });
}
