/**
 * Issue #16: the node's start-up warm-up (`warmUp`) runs the pipeline on a generated phantom and
 * leaves nothing behind: no job, nothing spooled, no output, no temporary folder.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { warmUpPipeline } from '../src/node/warm-up.ts';
import { startNode, type RunningNode } from '../src/server.ts';
import { nodeConfig } from './support/node-config.ts';
import { makeTempDir } from './support/env.ts';

const leftovers = () => readdirSync(tmpdir()).filter((name) => name.startsWith('ctmn-warm-up-'));
const filesUnder = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : []);

describe('node warm-up (issue #16)', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  beforeEach(() => (tmp = makeTempDir('ctmn-warm-up-test-')));
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    tmp.remove();
  });

  it('runs the whole pipeline on the phantom (the study is measured) and deletes its folder', async () => {
    const before = leftovers();
    const outcome = await warmUpPipeline(nodeConfig(tmp.path));
    assert.ok(outcome && 'status' in outcome, JSON.stringify(outcome));
    assert.equal(outcome.status, 'ok', 'the phantom is measured: level finder, segmenter and writers all ran');
    assert.deepEqual(leftovers(), before);
  });

  it('a node started with it listens at once, warms up in the background and queues, spools and writes nothing', async () => {
    const config = nodeConfig(tmp.path, { warmUp: true });
    node = await startNode(config);
    const health = await fetch(`${node.url}/healthz`);
    assert.equal(health.status, 200, 'the node answers while it warms up');
    const outcome = await node.warmedUp();
    assert.equal(outcome && 'status' in outcome ? outcome.status : outcome, 'ok');
    assert.deepEqual(await node.queue.list(), []);
    assert.deepEqual(filesUnder(config.spoolDir).filter((name) => !name.startsWith('.')), []);
    assert.deepEqual(filesUnder(config.output.dir), []);
  });

  it('is off where configured so', async () => {
    node = await startNode(nodeConfig(tmp.path, { warmUp: false }));
    assert.equal(await node.warmedUp(), null);
  });
});
