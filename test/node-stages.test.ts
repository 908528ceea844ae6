/**
 * Each stage of the pipeline runs exactly once for one study pushed to a running node: the
 * study is grouped and selected once, its volume planned and built once, and so on. The node
 * runs on loopback with its default (real) stages; the pipeline's observer counts the runs.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { STAGE_NAMES, type StageEvent } from '../src/pipeline/index.ts';
import { ANALYZE_STUDY, startNode, type AnalyzeStudyResult, type RunningNode } from '../src/server.ts';
import { makeTempDir } from './support/env.ts';

function nodeConfig(dir: string): Config {
  const base = loadConfig({ env: {} });
  return {
    ...base,
    logLevel: 'warn',
    spoolDir: join(dir, 'spool'),
    output: { dir: join(dir, 'out'), overlay: false, notMeasuredSr: true },
    server: { ...base.server, host: '127.0.0.1', port: 0 },
    queue: { ...base.queue, path: join(dir, 'jobs.sqlite'), maxAttempts: 1 },
    assembly: { quietPeriodSeconds: 3 }, // two STOW requests must fall in one quiet period, even on a loaded machine
    writeBack: { ...base.writeBack, destination: null },
    poll: { ...base.poll, source: null },
  };
}

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
    node = await startNode(nodeConfig(tmp.path), { observer: (event) => events.push(event) });
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
