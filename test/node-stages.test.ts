/**
 * Each stage of the pipeline runs exactly once for one study pushed to a running node: the
 * study is grouped and selected once, its volume planned and built once, and so on. The node
 * runs on loopback with its default (real) stages; the pipeline's observer counts the runs.
 */
import assert from 'node:assert/strict';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { STAGE_NAMES, type StageEvent } from '../src/pipeline/index.ts';
import { ANALYZE_STUDY, startNode, type AnalyzeStudyResult, type RunningNode } from '../src/server.ts';
import { makeTempDir } from './support/env.ts';
import { nodeConfig } from './support/node-config.ts';

describe('the pipeline in a running node', function () {
  this.timeout(300_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  beforeEach(() => (tmp = makeTempDir('ctmn-node-stages-')));
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    tmp.remove();
  });

  it('runs each stage exactly once for one study pushed over STOW-RS in two requests', async () => {
    const study = await generatePhantomStudy({ seed: 1, arms: true, fieldOfViewMm: 500 });
    const instances = study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid }));
    const events: StageEvent[] = [];
    const base = nodeConfig(tmp.path);
    // Two STOW requests must fall in one quiet period, even on a loaded machine; a failure is not retried.
    const config = { ...base, assembly: { quietPeriodSeconds: 3 }, queue: { ...base.queue, maxAttempts: 1 } };
    node = await startNode(config, { observer: (event) => events.push(event) });
    const half = Math.floor(instances.length / 2);
    await stowInstances({ url: `${node.url}/dicomweb` }, instances.slice(0, half));
    await stowInstances({ url: `${node.url}/dicomweb` }, instances.slice(half));
    await new Promise((resolve) => setTimeout(resolve, 3_200)); // past the quiet period: the job is due
    await node.idle();
    // A job that finds more instances than it was scheduled with is deferred before any stage runs.
    const analysis = (await node.queue.list('done')).filter((j) => j.kind === ANALYZE_STUDY && (j.result as AnalyzeStudyResult).outcome !== 'deferred');
    assert.equal(analysis.length, 1, JSON.stringify((await node.queue.list()).map((j) => [j.kind, j.state, (j.result as AnalyzeStudyResult | null)?.outcome])));
    assert.equal((analysis[0].result as AnalyzeStudyResult).outcome, 'measured', JSON.stringify(analysis[0].result));
    const counts = Object.fromEntries(STAGE_NAMES.map((stage) => [stage, events.filter((e) => e.stage === stage).length]));
    assert.deepEqual(counts, Object.fromEntries(STAGE_NAMES.map((stage) => [stage, 1])));
    assert.ok(events.every((e) => e.ok && e.studyInstanceUid === study.truth.studyInstanceUid));
    assert.deepEqual(events.map((e) => e.stage), [...STAGE_NAMES], 'in pipeline order');
  });
});
