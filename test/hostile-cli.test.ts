/**
 * The command line on hostile paths (issue #11): FIFOs, sockets and devices are refused as
 * non-regular files (never read), an unreadable folder is reported per path and the run goes
 * on, an unwritable --out is E_IO for the study. Run as users run it (the real command).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { makeTempDir, repoRoot } from './support/env.ts';

function cli(args: string[], asUser?: string): { code: number | null; stdout: string; stderr: string; timedOut: boolean } {
  const command = asUser ? 'runuser' : process.execPath;
  const fullArgs = asUser ? ['-u', asUser, '--', process.execPath, join(repoRoot, 'bin/ct-muscle-node.js'), ...args] : [join(repoRoot, 'bin/ct-muscle-node.js'), ...args];
  const result = spawnSync(command, fullArgs, { encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, timedOut: result.error !== undefined };
}

describe('command line: hostile paths', function () {
  let tmp: ReturnType<typeof makeTempDir>;
  let files: Uint8Array[];
  before(async () => {
    files = (await generatePhantomStudy({ rows: 128, columns: 128, sliceCount: 1, fromLevel: 'T12', seed: 4 })).files.map((f) => f.bytes);
  });
  beforeEach(() => (tmp = makeTempDir('ctmn-cli-hostile-')));
  afterEach(() => tmp.remove());

  it('a FIFO and /dev/zero are E_NOT_A_FILE, never read; a FIFO inside a folder too, and the folder\'s images are still listed', () => {
    const fifo = join(tmp.path, 'pipe');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const folder = join(tmp.path, 'folder');
    mkdirSync(folder);
    writeFileSync(join(folder, 'ct.dcm'), files[0]);
    assert.equal(spawnSync('mkfifo', [join(folder, 'inner-pipe')]).status, 0);
    const { code, stdout, timedOut } = cli(['inspect', fifo, '/dev/zero', folder]);
    assert.equal(timedOut, false, 'nothing blocked on the FIFO');
    assert.equal(code, 0);
    const report = JSON.parse(stdout);
    assert.deepEqual(
      report.errors.map((e: { path: string; code: string }) => [e.path, e.code]),
      [['/dev/zero', 'E_NOT_A_FILE'], [join(folder, 'inner-pipe'), 'E_NOT_A_FILE'], [fifo, 'E_NOT_A_FILE']],
    );
    assert.equal(report.series.length, 1);
  });

  it('an unreadable subfolder is reported per path (E_IO) and the run goes on', function () {
    if (process.getuid?.() !== 0 || spawnSync('runuser', ['-u', 'nobody', '--', 'true']).status !== 0) {
      console.log('      skipped: needs root and runuser to run the command as a user the folder is closed to');
      this.skip();
    }
    chmodSync(tmp.path, 0o755);
    const readable = join(tmp.path, 'readable');
    const locked = join(tmp.path, 'locked');
    mkdirSync(readable);
    mkdirSync(locked);
    writeFileSync(join(readable, 'ct.dcm'), files[0]);
    chmodSync(join(readable, 'ct.dcm'), 0o644);
    chmodSync(readable, 0o755);
    chmodSync(locked, 0o000);
    const { code, stdout, stderr } = cli(['inspect', tmp.path], 'nobody');
    if (code !== 0 && /EACCES|Cannot find module|permission denied/i.test(stderr) && !stdout) {
      console.log(`      skipped: user nobody cannot run the command from this checkout (${stderr.split('\n')[0]})`);
      this.skip();
    }
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.deepEqual(report.errors.map((e: { path: string; code: string }) => [e.path, e.code]), [[locked, 'E_IO']]);
    assert.equal(report.series.length, 1);
  });

  it('an --out that cannot be written is E_IO for the study, not E_INTERNAL', () => {
    const input = join(tmp.path, 'ct.dcm');
    writeFileSync(input, files[0]);
    const blocker = join(tmp.path, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const { code, stdout, stderr } = cli(['analyze', input, '--out', join(blocker, 'out')]);
    assert.equal(code, 0, stderr);
    const [line] = stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(line.status, 'E_IO', JSON.stringify(line));
    assert.match(line.message, /Cannot write the results under/);
  });
});
