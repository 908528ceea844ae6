/**
 * Issue #16: the node's start-up warm-up (`warmUp`) runs the pipeline on a generated phantom and
 * leaves nothing behind: no job, nothing spooled, no output, no temporary folder.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    // Folders of dead processes' warm-ups may go meanwhile (the next test); none may be added.
    assert.deepEqual(leftovers().filter((name) => !before.includes(name)), []);
  });

  it("deletes the folders of warm-ups whose process died during them, not a running process's or its own", async () => {
    // os.tmpdir() reads TMPDIR at each call: the warm-up works in this test's folder.
    const savedTmpdir = process.env.TMPDIR;
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const living = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const folder = (pid: number | undefined, suffix: string) => {
      const path = join(tmp.path, `ctmn-warm-up-${pid}-${suffix}`);
      mkdirSync(join(path, '2.25.1'), { recursive: true });
      writeFileSync(join(path, '2.25.1', 'seg.dcm'), 'x');
      return path;
    };
    const orphan = folder(dead, 'AbC123');
    const running = folder(living.pid, 'DeF456');
    const own = folder(process.pid, 'GhI789');
    try {
      process.env.TMPDIR = tmp.path;
      const outcome = await warmUpPipeline(nodeConfig(tmp.path));
      assert.equal(outcome && 'status' in outcome ? outcome.status : outcome, 'ok');
    } finally {
      if (savedTmpdir === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmpdir;
      living.kill('SIGKILL');
    }
    assert.equal(existsSync(orphan), false, "the dead process's folder is deleted");
    assert.equal(existsSync(running), true, "a running process's folder is kept");
    assert.equal(existsSync(own), true, "this process's other folder is kept");
    assert.deepEqual(readdirSync(tmp.path).filter((name) => name.startsWith('ctmn-warm-up-')).sort(), [running, own].map((p) => p.slice(tmp.path.length + 1)).sort(), 'and its own folder is gone');
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
