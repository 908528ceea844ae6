/**
 * The queue's rules, one suite run against both engines: SQLite always, PostgreSQL (a real server
 * started by the test, test/support/postgres.ts) when its binaries are installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CtMuscleError } from '../src/errors.ts';
import { backoffDelayMs, type Job, type JobQueue } from '../src/queue/job-queue.ts';
import { PostgresJobQueue } from '../src/queue/postgres-queue.ts';
import { SqliteJobQueue } from '../src/queue/sqlite-queue.ts';
import { startWorkers } from '../src/queue/workers.ts';
import { makeTempDir } from './support/env.ts';
import { requirePostgres, startPostgres, type PostgresHandle } from './support/postgres.ts';
import { postgresBackend, sqliteBackend, type QueueBackend } from './support/queue-backends.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const E_DOWN = { code: 'E_PACS_UNAVAILABLE', message: 'connection refused' };

function keyRules(b: () => QueueBackend): void {
  it('refreshes the waiting job of a study instead of queueing it twice', async () => {
    const queue = await b().open();
    await queue.enqueue('analyze-study', '1.2.3', { n: 1 }, { runAt: 1000 });
    await queue.enqueue('analyze-study', '1.2.3', { n: 2 }, { runAt: 2000 });
    const jobs = await queue.list();
    assert.equal(jobs.length, 1);
    assert.deepEqual(jobs[0].payload, { n: 2 });
    assert.equal(jobs[0].nextRunAt, 2000);
    await queue.close();
  });

  it('queues a follow-up when instances arrive while the study is running, and never runs both at once', async () => {
    const queue = await b().open();
    await queue.enqueue('analyze-study', '1.2.3', { n: 1 }, { runAt: 0 });
    const first = (await queue.claim(['analyze-study'], 10))!;
    await queue.enqueue('analyze-study', '1.2.3', { n: 2 }, { runAt: 0 });
    await queue.enqueue('analyze-study', '1.2.3', { n: 3 }, { runAt: 0 });
    assert.equal((await queue.list('pending')).length, 1, 'one follow-up, refreshed');
    assert.equal(await queue.claim(['analyze-study'], 20), undefined, 'the follow-up waits for the running job');
    await queue.complete(first.id, { ok: true });
    const second = (await queue.claim(['analyze-study'], 30))!;
    assert.deepEqual(second.payload, { n: 3 });
    assert.deepEqual((await queue.lastDone('analyze-study', '1.2.3'))?.result, { ok: true });
    await queue.close();
  });

  it('a key waiting behind its running job does not hold up other keys', async () => {
    const queue = await b().open();
    await queue.enqueue('k', 'busy', {}, { runAt: 0 });
    await queue.claim(['k'], 10);
    await queue.enqueue('k', 'busy', { followUp: true }, { runAt: 20 });
    await queue.enqueue('k', 'other', {}, { runAt: 30 });
    assert.equal((await queue.claim(['k'], 40))?.key, 'other');
    await queue.close();
  });

  it('never runs two jobs of one key at once across two processes racing to claim', async () => {
    const [a, c] = [await b().open(), await b().open()];
    const keys = Array.from({ length: 8 }, (_, i) => `study-${i}`);
    // Every key gets two waiting jobs: a failed one waiting for its retry, and a follow-up.
    for (const key of keys) await a.enqueue('k', key, { first: true }, { runAt: 0 });
    for (let i = 0; i < keys.length; i++) {
      const job = (await a.claim(['k'], 10))!;
      await a.enqueue('k', job.key, { followUp: true }, { runAt: 0 });
      await a.fail(job.id, E_DOWN, { retryable: true, now: 0 });
    }
    assert.equal((await a.list('pending')).length, 16);
    const claims = await Promise.all(Array.from({ length: 32 }, (_, i) => (i % 2 ? a : c).claim(['k'], Date.now() + 3_600_000)));
    const taken = claims.filter((j): j is Job => j !== undefined).map((j) => j.key);
    assert.equal(new Set(taken).size, taken.length, `a key ran twice: ${taken.sort().join(', ')}`);
    assert.equal((await a.list('running')).length, taken.length);
    assert.equal(taken.length, keys.length, 'every key got one running job');
    await a.close();
    await c.close();
  });
}

function outcomes(b: () => QueueBackend): void {
  it('claims only due jobs, oldest first, and counts attempts', async () => {
    const queue = await b().open();
    await queue.enqueue('k', 'b', {}, { runAt: 200 });
    await queue.enqueue('k', 'a', {}, { runAt: 100 });
    await queue.enqueue('k', 'later', {}, { runAt: 10_000 });
    assert.equal((await queue.claim(['k'], 150))!.key, 'a');
    assert.equal((await queue.claim(['k'], 250))!.key, 'b');
    assert.equal(await queue.claim(['k'], 250), undefined);
    assert.equal((await queue.list('running'))[0].attempts, 1);
    await queue.close();
  });

  it('retries with exponential backoff and jitter, then dead-letters with the code and reason', async () => {
    const queue = await b().open({ retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 }, random: () => 1 });
    const job = await queue.enqueue('write-back', 's', {}, { runAt: 0 });
    let now = 0;
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const claimed = (await queue.claim(['write-back'], now))!;
      assert.equal(claimed.id, job.id);
      assert.equal(claimed.attempts, attempt);
      const after = await queue.fail(job.id, E_DOWN, { retryable: true, now });
      if (attempt < 3) {
        assert.equal(after.state, 'pending');
        delays.push(after.nextRunAt - now);
        now = after.nextRunAt;
      } else {
        assert.equal(after.state, 'dead');
        assert.equal(after.lastErrorCode, 'E_PACS_UNAVAILABLE');
        assert.equal(after.lastError, 'connection refused');
      }
    }
    assert.deepEqual(delays, [1000, 2000]);
    assert.deepEqual(await queue.counts(), { pending: 0, running: 0, done: 0, dead: 1 });
    await queue.close();
  });

  it('does not retry a non-retryable failure, nor past a deadline', async () => {
    const queue = await b().open();
    const a = await queue.enqueue('k', 'a', {}, { runAt: 0 });
    await queue.claim(['k'], 0);
    assert.equal((await queue.fail(a.id, { code: 'E_REJECTED', message: '409' }, { retryable: false })).state, 'dead');
    const c = await queue.enqueue('k', 'c', {}, { runAt: 0 });
    await queue.claim(['k'], 0);
    assert.equal((await queue.fail(c.id, E_DOWN, { retryable: true, now: 0, deadline: 10 })).state, 'dead');
    const dead = await queue.list('dead');
    assert.deepEqual(dead.map((j) => [j.key, j.lastErrorCode, j.lastError]), [['a', 'E_REJECTED', '409'], ['c', 'E_PACS_UNAVAILABLE', 'connection refused']]);
    await queue.close();
  });

  it('requeues a dead letter as a new waiting job and lists jobs by state', async () => {
    const queue = await b().open();
    const job = await queue.enqueue('k', 'x', { p: 1 }, { runAt: 0 });
    await queue.claim(['k'], 0);
    await queue.fail(job.id, { code: 'E_REJECTED', message: 'no' }, { retryable: false });
    const dead = (await queue.get(job.id))!;
    const again = await queue.enqueue(dead.kind, dead.key, dead.payload, { runAt: 0 });
    assert.notEqual(again.id, job.id);
    assert.equal(again.state, 'pending');
    assert.deepEqual(again.payload, { p: 1 });
    assert.deepEqual((await queue.list('dead')).map((j) => j.id), [job.id]);
    assert.deepEqual((await queue.list('pending')).map((j) => j.id), [again.id]);
    assert.equal((await queue.list()).length, 2);
    assert.equal((await queue.active('k', 'x'))?.id, again.id);
    await queue.close();
  });
}

function leases(b: () => QueueBackend): void {
  it('a job whose worker died goes to another instance once its lease runs out, never before', async () => {
    const died = await b().open({ leaseMs: 1000 });
    const other = await b().open({ leaseMs: 1000 });
    await died.enqueue('k', 'x', {}, { runAt: 0 });
    const claimed = (await died.claim(['k']))!;
    assert.equal(await other.recover(), 0, 'a live lease is not taken');
    assert.equal(await other.claim(['k'], Date.now() + 3_600_000), undefined);
    await sleep(1500);
    await other.recover(); // on PostgreSQL pg-boss's own supervision may have been first
    assert.equal((await other.get(claimed.id))?.state, 'pending');
    assert.equal((await other.get(claimed.id))?.lastErrorCode, other.backend === 'postgres' ? 'E_QUEUE_LEASE_EXPIRED' : null);
    const taken = (await other.claim(['k'], Date.now() + 3_600_000))!;
    assert.equal(taken.id, claimed.id);
    assert.equal(taken.attempts, 2);
    await died.close();
    await other.close();
  });

  it('a renewed lease keeps the job with its worker', async () => {
    const worker = await b().open({ leaseMs: 1000 });
    const other = await b().open({ leaseMs: 1000 });
    await worker.enqueue('k', 'x', {}, { runAt: 0 });
    const claimed = (await worker.claim(['k']))!;
    for (let i = 0; i < 4; i++) {
      await sleep(400);
      await worker.renew([claimed.id], 1000);
    }
    assert.equal(await other.recover(), 0);
    assert.equal((await other.get(claimed.id))?.state, 'running');
    await worker.close();
    await other.close();
  });
}

function stateAndReviews(b: () => QueueBackend): void {
  it('keeps small state beside the jobs, seen by every instance', async () => {
    const a = await b().open();
    const c = await b().open();
    assert.equal(await a.getState('poll.watermark'), undefined);
    await a.setState('poll.watermark', '20260101');
    await a.setState('poll.watermark', '20260102');
    assert.equal(await c.getState('poll.watermark'), '20260102');
    await a.close();
    await c.close();
  });

  it('keeps review records in the same database', async () => {
    const queue = await b().open();
    const reviews = b().reviews(queue);
    await reviews.record({ studyInstanceUid: '1.2', action: 'accept', who: 'Jane', authenticatedAs: 'basic:jane', at: 1000, detail: { sr: 'x' } });
    await reviews.record({ studyInstanceUid: '1.2', action: 'reject', who: 'Joe', authenticatedAs: 'open', at: 2000, detail: { reason: 'motion' } });
    await reviews.record({ studyInstanceUid: '1.3', action: 'choose-slice', who: 'Jane', authenticatedAs: 'open', detail: { sliceIndex: 4 } });
    const forStudy = await reviews.forStudy('1.2');
    assert.deepEqual(forStudy.map((r) => [r.action, r.who, r.at, r.detail]), [['accept', 'Jane', 1000, { sr: 'x' }], ['reject', 'Joe', 2000, { reason: 'motion' }]]);
    const latest = await reviews.latestByStudy();
    assert.deepEqual([...latest.keys()].sort(), ['1.2', '1.3']);
    assert.equal(latest.get('1.2')?.action, 'reject');
    await reviews.close();
    await queue.close();
  });
}

function workersOn(b: () => QueueBackend): void {
  it('workers run at most `concurrency` jobs at once and record results and failures', async () => {
    const queue = await b().open({ retry: { maxAttempts: 1 } });
    for (let i = 0; i < 6; i++) await queue.enqueue('k', `job${i}`, { i });
    let active = 0;
    let peak = 0;
    const workers = startWorkers(
      queue,
      {
        k: async (job) => {
          active++;
          peak = Math.max(peak, active);
          // Hold the slot until a second job runs beside it (or 5 s): a slow machine must not hide the second slot.
          for (const until = Date.now() + 5000; peak < 2 && Date.now() < until; ) await sleep(10);
          await sleep(20);
          active--;
          if ((job.payload as { i: number }).i === 5) throw new CtMuscleError('E_IO', 'disk full');
          return { done: (job.payload as { i: number }).i };
        },
      },
      { concurrency: 2, pollIntervalMs: 5, isRetryable: () => false },
    );
    await workers.idle();
    await workers.stop();
    assert.equal(peak, 2);
    assert.deepEqual(await queue.counts(), { pending: 0, running: 0, done: 5, dead: 1 });
    assert.equal((await queue.list('dead'))[0].lastErrorCode, 'E_IO');
    await queue.close();
  });

  it('a wake-up at a job\'s due time starts it without waiting for the next poll (one per key, the newest)', async () => {
    const queue = await b().open();
    const ran: string[] = [];
    // A poll interval far longer than the test: only the wake-ups can start the jobs.
    const workers = startWorkers(queue, { k: async (job) => void ran.push(job.key) }, { concurrency: 1, pollIntervalMs: 600_000, isRetryable: () => false });
    await sleep(100); // past the first poll, which found nothing
    const dueAt = Date.now() + 300;
    await queue.enqueue('k', 'a', {}, { runAt: dueAt });
    workers.wakeAt(dueAt - 200, 'a'); // replaced by the newer wake-up below: an early one finds nothing due
    workers.wakeAt(dueAt, 'a');
    for (const until = Date.now() + 10_000; ran.length === 0 && Date.now() < until; ) await sleep(20);
    assert.deepEqual(ran, ['a']);
    assert.ok(Date.now() >= dueAt, 'not run before it was due');
    await workers.stop();
    await queue.close();
  });
}

function queueSuite(b: () => QueueBackend): void {
  beforeEach(() => b().fresh());
  afterEach(() => b().closeAll());
  describe('one waiting job per key, never two running', () => keyRules(b));
  describe('outcomes, retries, dead letters, requeue', () => outcomes(b));
  describe('leases', () => leases(b));
  describe('state and review records', () => stateAndReviews(b));
  describe('workers', () => workersOn(b));
}

describe('job queue on SQLite', () => {
  let backend: QueueBackend;
  before(() => (backend = sqliteBackend()));
  after(() => backend.cleanup());
  queueSuite(() => backend);

  it('keeps jobs across a close and reopen, in WAL mode', async () => {
    const tmp = makeTempDir('ctmn-queue-');
    const path = join(tmp.path, 'jobs.sqlite');
    const queue = new SqliteJobQueue(path);
    await queue.enqueue('analyze-study', '1.2.3', { paths: ['a'] });
    assert.ok(existsSync(`${path}-wal`), 'write-ahead log in use');
    await queue.close();
    const reopened = new SqliteJobQueue(path);
    const [job] = await reopened.list();
    assert.deepEqual([job.key, job.payload, job.state], ['1.2.3', { paths: ['a'] }, 'pending']);
    await reopened.close();
    tmp.remove();
  });

  it('a restarted node takes back at once the jobs of its dead process on this machine, not those of a live one', async () => {
    const tmp = makeTempDir('ctmn-queue-');
    const path = join(tmp.path, 'jobs.sqlite');
    const deadPid = spawnSync('true').pid!;
    const crashed = new SqliteJobQueue(path, { owner: `${hostname()}:${deadPid}` });
    const alive = new SqliteJobQueue(path, { owner: `${hostname()}:${process.ppid}` });
    for (const key of ['x', 'y']) await crashed.enqueue('k', key, {}, { runAt: 0 });
    await crashed.claim(['k'], Date.now(), 3_600_000);
    await alive.claim(['k'], Date.now(), 3_600_000);
    await crashed.close(); // the process dies here without completing its job
    const restarted = new SqliteJobQueue(path);
    assert.equal(await restarted.recover(), 1);
    assert.deepEqual((await restarted.list('pending')).map((j) => j.key), ['x']);
    assert.deepEqual((await restarted.list('running')).map((j) => j.key), ['y']);
    await restarted.close();
    await alive.close();
    tmp.remove();
  });

  it('backoff grows exponentially up to the cap, jittered within [ceiling/2, ceiling]', () => {
    const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelayMs(1, policy, () => 0), 50);
    assert.equal(backoffDelayMs(3, policy, () => 1), 400);
    assert.equal(backoffDelayMs(9, policy, () => 1), 1000);
  });
});

describe('job queue on PostgreSQL', function () {
  let server: PostgresHandle;
  let backend: QueueBackend;
  before(async function () {
    requirePostgres(this);
    this.timeout(120_000);
    server = await startPostgres();
    backend = postgresBackend(() => server);
  });
  after(async () => server?.stop());
  queueSuite(() => backend);
  describe('the server and the schema', () => postgresOnly(() => server, () => backend));
});

function postgresOnly(server: () => PostgresHandle, b: () => QueueBackend): void {
  beforeEach(() => b().fresh());
  afterEach(() => b().closeAll());

  it('carries on after PostgreSQL restarts under running workers', async function () {
    this.timeout(120_000);
    // A short lease: a claim whose answer the crash swallowed is running in the database, unknown
    // to any worker, until its lease runs out; then it runs (again: outputs are idempotent).
    const queue = await b().open({ leaseMs: 3000 });
    const done: string[] = [];
    const workers = startWorkers(queue, { k: async (job) => void done.push(job.key) }, { concurrency: 2, pollIntervalMs: 50, leaseMs: 3000, isRetryable: () => true });
    try {
      for (let i = 0; i < 5; i++) await queue.enqueue('k', `before-${i}`, {});
      await server().restart({ mode: 'crash' });
      // The first query after the restart may meet a connection the server dropped; a caller retries.
      for (let i = 0; i < 5; i++) await retryOnce(() => queue.enqueue('k', `after-${i}`, {}));
      const deadline = Date.now() + 90_000;
      while ((await retryOnce(() => queue.counts())).done < 10 && Date.now() < deadline) await sleep(200);
    } finally {
      await workers.stop();
    }
    assert.deepEqual(await queue.counts(), { pending: 0, running: 0, done: 10, dead: 0 });
    assert.equal(new Set(done).size, 10);
    await queue.close();
  });

  it('says E_QUEUE_UNREACHABLE, without the password, when the server cannot be reached', async () => {
    const url = `postgres://node:s3cret-pw@127.0.0.1:${server().port + 1}/nowhere`;
    await assert.rejects(PostgresJobQueue.open({ url, poolSize: 1 }), (error: CtMuscleError) => {
      assert.equal(error.code, 'E_QUEUE_UNREACHABLE');
      assert.ok(!error.message.includes('s3cret-pw'), error.message);
      assert.match(error.message, /node:\*\*\*@127\.0\.0\.1/);
      return true;
    });
  });

  it('refuses a database migrated by a newer version (E_QUEUE_SCHEMA)', async () => {
    const queue = (await b().open()) as PostgresJobQueue;
    await queue.connection.query('INSERT INTO ctmn.schema_version (version) VALUES (99)');
    await queue.close();
    await assert.rejects(b().open(), (error: CtMuscleError) => error.code === 'E_QUEUE_SCHEMA' && /version 99/.test(error.message));
  });
}

async function retryOnce<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch {
    await sleep(500);
    return action();
  }
}

export type { JobQueue };
