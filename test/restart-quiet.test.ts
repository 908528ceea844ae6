/**
 * Issue #11 item 9: a restart does not shorten the quiet period of a study that was still
 * arriving (its last arrival and the node's heartbeat are in the queue database), and a result
 * is not written back while a newer analysis of the same study waits.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Config } from '../src/config.ts';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { ALIVE_AT, restoreQuietPeriods } from '../src/node/assembly.ts';
import { ANALYZE_STUDY, WRITE_BACK, type AnalyzeStudyPayload, type AnalyzeStudyResult, type WriteBackPayload } from '../src/node/jobs.ts';
import { createMetrics } from '../src/node/metrics.ts';
import { createWriteBack } from '../src/node/write-back.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import type { JobQueue } from '../src/queue/job-queue.ts';
import { SqliteJobQueue } from '../src/queue/sqlite-queue.ts';
import { startNode, type RunningNode } from '../src/server.ts';
import { makeTempDir } from './support/env.ts';
import { nodeConfig as testNodeConfig } from './support/node-config.ts';
import { truthStages } from './support/truth-stages.ts';

function nodeConfig(dir: string, quietPeriodSeconds: number): Config {
  const base = testNodeConfig(dir);
  return testNodeConfig(dir, { logLevel: 'error', assembly: { quietPeriodSeconds }, disk: { retryAfterSeconds: 30 }, health: { ...base.health, minFreeSpoolMb: 0 } });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('restarts and superseded results', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let queue: JobQueue | undefined;
  let node: RunningNode | undefined;
  beforeEach(() => (tmp = makeTempDir('ctmn-restart-')));
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    await queue?.close();
    queue = undefined;
    tmp.remove();
  });

  it('restoreQuietPeriods gives a study what was left of its quiet period, counted from the restart; a study already quiet stays due', async () => {
    queue = new SqliteJobQueue(join(tmp.path, 'q.sqlite'));
    const t0 = 1_000_000;
    await queue.enqueue<AnalyzeStudyPayload>(ANALYZE_STUDY, '1.1', { studyInstanceUid: '1.1', instanceCount: 5, lastArrivalAt: t0 }, { runAt: t0 + 1000 });
    await queue.enqueue<AnalyzeStudyPayload>(ANALYZE_STUDY, '1.2', { studyInstanceUid: '1.2', instanceCount: 5, lastArrivalAt: t0 - 5000 }, { runAt: t0 - 4000 });
    await queue.setState(ALIVE_AT, String(t0 + 200)); // died 200 ms after 1.1's last arrival
    const now = t0 + 60_000; // restarted a minute later
    assert.equal(await restoreQuietPeriods(queue, 1000, now), 1);
    const byKey = new Map((await queue.list('pending')).map((j) => [j.key, j]));
    assert.equal(byKey.get('1.1')!.nextRunAt, now + 800);
    assert.equal(byKey.get('1.2')!.nextRunAt, t0 - 4000);
  });

  it('a node stopped mid-study and restarted after longer than the quiet period does not measure the partial study', async () => {
    const study = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed: 9 });
    const instances = study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid }));
    // The measured slice arrives first, so a partial study would be measurable.
    instances.sort((a, b) => Number(b.sopInstanceUid === study.truth.t12.sopInstanceUid) - Number(a.sopInstanceUid === study.truth.t12.sopInstanceUid));
    // 3 s: under load, stopping the node can take a good part of the quiet period, and what is
    // left of it at the restart must still outlast the 0.7 s the sender takes to come back.
    const config = nodeConfig(tmp.path, 3);
    node = await startNode(config, { stages: truthStages(study.truth) });
    await stowInstances({ url: `${node.url}/dicomweb` }, instances.slice(0, 6));
    await node.stop();
    await sleep(3500); // down longer than the quiet period
    node = await startNode({ ...config, server: { ...config.server, port: 0 } }, { stages: truthStages(study.truth) });
    await sleep(700); // the sender comes back within what was left of the quiet period
    const ran = (await node.queue.list()).filter((j) => j.kind === ANALYZE_STUDY && j.state === 'done');
    assert.deepEqual(ran, [], 'nothing measured on the partial study');
    await stowInstances({ url: `${node.url}/dicomweb` }, instances.slice(6));
    await sleep(3300);
    await node.idle();
    const measured = (await node.queue.list()).filter((j) => j.kind === ANALYZE_STUDY && (j.result as AnalyzeStudyResult | null)?.outcome === 'measured');
    assert.equal(measured.length, 1);
    assert.equal((measured[0].result as AnalyzeStudyResult).selectedInstanceCount, instances.length);
  });

  it('a write-back waits while a newer analysis of the study is queued, and goes once none is', async () => {
    queue = new SqliteJobQueue(join(tmp.path, 'q.sqlite'));
    const config = nodeConfig(tmp.path, 1);
    const writeBack = createWriteBack(config, createMetrics(queue), queue);
    const payload: WriteBackPayload = { studyInstanceUid: '1.5', files: [] };
    await queue.enqueue<WriteBackPayload>(WRITE_BACK, '1.5', payload);
    await queue.enqueue<AnalyzeStudyPayload>(ANALYZE_STUDY, '1.5', { studyInstanceUid: '1.5', instanceCount: 9 }, { runAt: Date.now() + 5000 });
    const first = (await queue.claim([WRITE_BACK]))!;
    assert.deepEqual(await writeBack.handle(first), { outcome: 'waiting-for-newer-analysis' });
    await queue.complete(first.id);
    const follow = (await queue.list('pending')).find((j) => j.kind === WRITE_BACK)!;
    assert.ok(follow.nextRunAt >= Date.now() + 5000, 'after the newer analysis is due');
    // The newer analysis ran and changed nothing: the waiting write-back goes out as it was.
    const analysis = (await queue.claim([ANALYZE_STUDY], Date.now() + 10_000))!;
    await queue.complete(analysis.id, { outcome: 'unchanged' });
    const second = (await queue.claim([WRITE_BACK], Date.now() + 10_000))!;
    assert.equal(((await writeBack.handle(second)) as { destination: string }).destination, 'local');
  });
});
