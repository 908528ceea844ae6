/**
 * Issue #11 item 8: a full disk and crash leftovers. The spool and the results folder are small
 * tmpfs mounts (root here; the tests skip with a message where `mount -t tmpfs` is refused) so
 * ENOSPC is real, not simulated; the configured free-space threshold is tested separately.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { checkInstance } from '../src/dicom/check-instance.ts';
import { removePartials, writeFileDurably } from '../src/io/durable-file.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { ANALYZE_STUDY, startNode, type RunningNode } from '../src/server.ts';
import { makeTempDir } from './support/env.ts';
import { nodeConfig as testNodeConfig } from './support/node-config.ts';
import { multipartRelated } from './support/orthanc.ts';
import { truthStages } from './support/truth-stages.ts';

function tryMountTmpfs(path: string, size: string): boolean {
  mkdirSync(path, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function unmount(path: string): void {
  try {
    execFileSync('umount', [path], { stdio: 'ignore' });
  } catch {
    // not mounted
  }
}

/** Fill a file system until a write fails, leaving `leaveBytes` (approximately) free. */
function fill(dir: string, leaveBytes = 0): void {
  const df = execFileSync('df', ['-B1', '--output=avail', dir]).toString().trim().split('\n').pop()!;
  const free = Number(df) - leaveBytes;
  if (free > 0) writeFileSync(join(dir, 'filler'), new Uint8Array(free));
}

function nodeConfig(dir: string, overrides: Partial<Config> = {}): Config {
  const base = testNodeConfig(dir);
  return testNodeConfig(dir, {
    logLevel: 'error',
    queue: { ...base.queue, baseDelayMs: 100, maxDelayMs: 300, maxAttempts: 20 },
    disk: { retryAfterSeconds: 30 },
    health: { ...base.health, minFreeSpoolMb: 0 },
    ...overrides,
  });
}

async function postStow(url: string, parts: Array<{ bytes: Uint8Array }>): Promise<Response> {
  const { body, contentType } = multipartRelated(parts);
  return fetch(`${url}/dicomweb/studies`, { method: 'POST', headers: { 'Content-Type': contentType }, body });
}

function filesUnder(dir: string): string[] {
  return existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]) : [];
}

describe('full disk and crash leftovers', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  let study: Awaited<ReturnType<typeof generatePhantomStudy>>;
  const mounts: string[] = [];
  before(async () => {
    study = await generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed: 5 });
  });
  beforeEach(() => (tmp = makeTempDir('ctmn-disk-')));
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    for (const m of mounts.splice(0)) unmount(m);
    tmp.remove();
  });
  const mountOrSkip = (ctx: Mocha.Context, path: string, size: string) => {
    if (!tryMountTmpfs(path, size)) ctx.skip();
    mounts.push(path);
  };

  it('a durable write on a full disk fails as retryable E_IO and leaves neither the target nor a temp file', function () {
    const dir = join(tmp.path, 'small');
    mountOrSkip(this, dir, '256k');
    return (async () => {
      await assert.rejects(writeFileDurably(join(dir, 'seg.dcm'), new Uint8Array(512 * 1024)), (error: unknown) => {
        assert.ok(isCtMuscleError(error) && error.code === 'E_IO');
        assert.equal(error.details?.errno, 'ENOSPC');
        assert.equal(error.details?.retryable, true);
        return true;
      });
      assert.deepEqual(readdirSync(dir), []);
    })();
  });

  it('a full spool (ENOSPC) answers the whole request 503 with Retry-After; every spooled file is complete, no temp file stays', function () {
    mountOrSkip(this, join(tmp.path, 'spool'), '1m');
    return (async () => {
      node = await startNode(nodeConfig(tmp.path));
      fill(join(tmp.path, 'spool'), 200 * 1024);
      const response = await postStow(node.url, study.files.map((f) => ({ bytes: f.bytes })));
      assert.equal(response.status, 503);
      assert.equal(response.headers.get('retry-after'), '30');
      assert.equal(((await response.json()) as { code: string }).code, 'E_SPOOL_FULL');
      const spooled = filesUnder(join(tmp.path, 'spool')).filter((f) => f.endsWith('.dcm'));
      assert.ok(spooled.length > 0 && spooled.length < study.files.length, `some but not all stored (${spooled.length})`);
      for (const f of spooled) assert.ok((await checkInstance(new Uint8Array(readFileSync(join(tmp.path, 'spool', f))))).ok, f);
      assert.deepEqual(filesUnder(join(tmp.path, 'spool')).filter((f) => f.endsWith('.partial')), []);
      assert.equal((await fetch(`${node.url}/healthz`)).status, 200);
    })();
  });

  it('below health.minFreeSpoolMb (the configured threshold): STOW-RS 503 + Retry-After before reading, /readyz 503 without a path', async () => {
    const base = loadConfig({ env: {} });
    node = await startNode(nodeConfig(tmp.path, { disk: { retryAfterSeconds: 45 }, health: { ...base.health, minFreeSpoolMb: 1e12 } }));
    const response = await postStow(node.url, study.files.slice(0, 2).map((f) => ({ bytes: f.bytes })));
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '45');
    assert.equal(filesUnder(join(tmp.path, 'spool')).length, 0);
    const ready = await fetch(`${node.url}/readyz`);
    assert.equal(ready.status, 503);
    const text = await ready.text();
    assert.match(text, /spool disk low/);
    assert.doesNotMatch(text, /\//, 'no path in the body');
  });

  it('a full results disk is retried, not dead-lettered, leaves no truncated seg.dcm, and is measured once space is back', function () {
    const out = join(tmp.path, 'out');
    mountOrSkip(this, out, '512k');
    return (async () => {
      fill(out, 16 * 1024);
      node = await startNode(nodeConfig(tmp.path), { stages: truthStages(study.truth) });
      assert.equal((await postStow(node.url, study.files.map((f) => ({ bytes: f.bytes })))).status, 200);
      const deadline = Date.now() + 20_000;
      const studyDir = join(out, study.truth.studyInstanceUid);
      const analyzeJob = async () => (await node!.queue.list()).find((j) => j.kind === ANALYZE_STUDY);
      // Between two attempts, not during one: an attempt writing seg.dcm holds its temp file for
      // as long as the write lasts, and a listing taken then would show it. The job must still be
      // waiting, with the same attempts, after the listing.
      let job = await analyzeJob();
      let partials: string[];
      for (;;) {
        const before = job;
        partials = filesUnder(studyDir).filter((f) => f.endsWith('.partial'));
        job = await analyzeJob();
        const between = before && job && before.attempts >= 2 && before.state === 'pending' && job.state === 'pending' && job.attempts === before.attempts;
        if (between || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(job && job.attempts >= 2, 'tried at least twice');
      assert.notEqual(job.state, 'dead');
      assert.equal(job.lastErrorCode, 'E_IO');
      // Whatever fitted is whole under its real name (renamed only once complete); nothing half-written stays.
      assert.deepEqual(partials, []);
      for (const f of filesUnder(studyDir).filter((name) => name.endsWith('.dcm'))) {
        const checked = await checkInstance(new Uint8Array(readFileSync(join(studyDir, f))));
        assert.ok(checked.ok, `${f}: ${checked.ok ? '' : checked.message}`);
      }
      rmSync(join(out, 'filler'));
      await new Promise((resolve) => setTimeout(resolve, 500));
      await node.idle();
      const done = (await node.queue.list()).find((j) => j.kind === ANALYZE_STUDY && j.state === 'done');
      assert.ok(done, 'measured once there is space');
      assert.ok((await checkInstance(new Uint8Array(readFileSync(join(studyDir, 'seg.dcm'))))).ok);
      assert.ok(existsSync(join(studyDir, 'sr.dcm')) && existsSync(join(studyDir, 'result.json')));
    })();
  });

  it('.partial files left by a killed upload or write are removed at start-up; nothing else is', async () => {
    const leftovers = [join(tmp.path, 'spool', '1.2.3', '.1.2.3.4.abc.partial'), join(tmp.path, 'out', '1.2.3', '.seg.dcm.xyz.partial')];
    const kept = join(tmp.path, 'spool', '1.2.3', '1.2.3.4.dcm');
    for (const path of [...leftovers, kept]) {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, 'x');
    }
    node = await startNode(nodeConfig(tmp.path));
    for (const path of leftovers) assert.equal(existsSync(path), false, path);
    assert.equal(existsSync(kept), true);
    assert.equal(await removePartials(join(tmp.path, 'nowhere')), 0);
  });
});
