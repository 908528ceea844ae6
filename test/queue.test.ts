import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { backoffDelayMs, JobQueue } from '../src/queue/job-queue.ts';
import { startWorkers } from '../src/queue/workers.ts';
import { CtMuscleError } from '../src/errors.ts';
import { makeTempDir } from './support/env.ts';

describe('durable job queue (SQLite)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let path: string;
  beforeEach(() => {
    tmp = makeTempDir('ctmn-queue-');
    path = join(tmp.path, 'jobs.sqlite');
  });
  afterEach(() => tmp.remove());

  it('keeps jobs across a close and reopen, in WAL mode', () => {
    const queue = new JobQueue(path);
    queue.enqueue('analyze-study', '1.2.3', { paths: ['a'] });
    assert.ok(existsSync(`${path}-wal`), 'write-ahead log in use');
    queue.close();
    const reopened = new JobQueue(path);
    const [job] = reopened.list();
    assert.equal(job.key, '1.2.3');
    assert.deepEqual(job.payload, { paths: ['a'] });
    assert.equal(job.state, 'pending');
    reopened.close();
  });

  it('refreshes the waiting job of a study instead of queueing it twice', () => {
    const queue = new JobQueue(path);
    queue.enqueue('analyze-study', '1.2.3', { n: 1 }, { runAt: 1000 });
    queue.enqueue('analyze-study', '1.2.3', { n: 2 }, { runAt: 2000 });
    const jobs = queue.list();
    assert.equal(jobs.length, 1);
    assert.deepEqual(jobs[0].payload, { n: 2 });
    assert.equal(jobs[0].nextRunAt, 2000);
    queue.close();
  });

  it('queues a follow-up when instances arrive while the study is running, and never runs both at once', () => {
    const queue = new JobQueue(path);
    queue.enqueue('analyze-study', '1.2.3', { n: 1 }, { runAt: 0 });
    const first = queue.claim(['analyze-study'], 10)!;
    queue.enqueue('analyze-study', '1.2.3', { n: 2 }, { runAt: 0 });
    assert.equal(queue.claim(['analyze-study'], 20), undefined, 'the follow-up waits for the running job');
    queue.complete(first.id, { ok: true });
    const second = queue.claim(['analyze-study'], 30)!;
    assert.deepEqual(second.payload, { n: 2 });
    queue.close();
  });

  it('claims only due jobs, oldest first, and counts attempts', () => {
    const queue = new JobQueue(path);
    queue.enqueue('k', 'b', {}, { runAt: 200 });
    queue.enqueue('k', 'a', {}, { runAt: 100 });
    queue.enqueue('k', 'later', {}, { runAt: 10_000 });
    assert.equal(queue.claim(['k'], 150)!.key, 'a');
    assert.equal(queue.claim(['k'], 250)!.key, 'b');
    assert.equal(queue.claim(['k'], 250), undefined);
    assert.equal(queue.list('running')[0].attempts, 1);
    queue.close();
  });

  it('retries with exponential backoff and jitter, then dead-letters with the reason', () => {
    const queue = new JobQueue(path, { retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 }, random: () => 1 });
    const job = queue.enqueue('write-back', 's', {}, { runAt: 0 });
    let now = 0;
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const claimed = queue.claim(['write-back'], now)!;
      assert.equal(claimed.id, job.id);
      const after = queue.fail(job.id, { code: 'E_PACS_UNAVAILABLE', message: 'connection refused' }, { retryable: true, now });
      if (attempt < 3) {
        assert.equal(after.state, 'pending');
        delays.push(after.nextRunAt - now);
        now = after.nextRunAt;
      } else {
        assert.equal(after.state, 'dead');
        assert.equal(after.lastErrorCode, 'E_PACS_UNAVAILABLE');
      }
    }
    assert.deepEqual(delays, [1000, 2000]);
    queue.close();
  });

  it('does not retry a non-retryable failure, nor past a deadline', () => {
    const queue = new JobQueue(path);
    const a = queue.enqueue('k', 'a', {}, { runAt: 0 });
    queue.claim(['k'], 0);
    assert.equal(queue.fail(a.id, { code: 'E_REJECTED', message: '409' }, { retryable: false }).state, 'dead');
    const b = queue.enqueue('k', 'b', {}, { runAt: 0 });
    queue.claim(['k'], 0);
    assert.equal(queue.fail(b.id, { code: 'E_PACS_UNAVAILABLE', message: 'down' }, { retryable: true, now: 0, deadline: 10 }).state, 'dead');
    queue.close();
  });

  it('recovers jobs left running by a crashed process', () => {
    const crashed = new JobQueue(path);
    crashed.enqueue('k', 'x', {}, { runAt: 0 });
    crashed.claim(['k'], 0);
    crashed.close(); // the process dies here without completing the job
    const restarted = new JobQueue(path);
    assert.equal(restarted.recover(Date.now(), { all: true }), 1);
    assert.equal(restarted.list('pending').length, 1);
    restarted.close();
  });

  it('backoff grows exponentially up to the cap, jittered within [ceiling/2, ceiling]', () => {
    const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelayMs(1, policy, () => 0), 50);
    assert.equal(backoffDelayMs(3, policy, () => 1), 400);
    assert.equal(backoffDelayMs(9, policy, () => 1), 1000);
  });
});

describe('workers', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('ctmn-workers-')));
  afterEach(() => tmp.remove());

  it('run at most `concurrency` jobs at once and record results and failures', async () => {
    const queue = new JobQueue(join(tmp.path, 'q.sqlite'), { retry: { maxAttempts: 1 } });
    for (let i = 0; i < 6; i++) queue.enqueue('k', `job${i}`, { i });
    let active = 0;
    let peak = 0;
    const workers = startWorkers(
      queue,
      {
        k: async (job) => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((resolve) => setTimeout(resolve, 20));
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
    assert.deepEqual(queue.counts(), { pending: 0, running: 0, done: 5, dead: 1 });
    assert.equal(queue.list('dead')[0].lastErrorCode, 'E_IO');
    queue.close();
  });
});
