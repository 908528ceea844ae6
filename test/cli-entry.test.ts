/**
 * bin/ct-muscle-node.js picks what to run: the compiled dist/ when it is there and not older than
 * any source (fast start-up), else the TypeScript sources through tsx; CT_MUSCLE_NODE_FROM_SOURCE=1
 * forces the sources (the test suite sets it). Checked on a copy of bin/ beside stand-in entry
 * modules that only say which one ran.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, repoRoot } from './support/env.ts';

describe('command entry point: compiled build or sources', function () {
  let tmp: ReturnType<typeof makeTempDir>;
  const entry = (body: string) => `export async function main() { process.stdout.write(${JSON.stringify(body)}); return 0; }\n`;

  beforeEach(() => {
    tmp = makeTempDir();
    mkdirSync(join(tmp.path, 'bin'));
    mkdirSync(join(tmp.path, 'dist', 'cli'), { recursive: true });
    mkdirSync(join(tmp.path, 'src', 'cli'), { recursive: true });
    copyFileSync(join(repoRoot, 'bin', 'ct-muscle-node.js'), join(tmp.path, 'bin', 'ct-muscle-node.js'));
    symlinkSync(join(repoRoot, 'node_modules'), join(tmp.path, 'node_modules'));
    writeFileSync(join(tmp.path, 'package.json'), '{"type":"module"}\n');
    writeFileSync(join(tmp.path, 'src', 'cli', 'main.ts'), entry('sources'));
    writeFileSync(join(tmp.path, 'dist', 'cli', 'main.js'), entry('dist'));
    // The build is newer than every source.
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(tmp.path, 'src', 'cli', 'main.ts'), past, past);
  });
  afterEach(() => tmp.remove());

  function ran(env: Record<string, string> = {}): string {
    const { CT_MUSCLE_NODE_FROM_SOURCE: _ignored, ...inherited } = process.env;
    const result = spawnSync(process.execPath, [join(tmp.path, 'bin', 'ct-muscle-node.js')], { encoding: 'utf8', env: { ...inherited, ...env } });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout;
  }

  it('runs dist/ when the build is newer than the sources', () => assert.equal(ran(), 'dist'));

  it('runs the sources when CT_MUSCLE_NODE_FROM_SOURCE=1', () => assert.equal(ran({ CT_MUSCLE_NODE_FROM_SOURCE: '1' }), 'sources'));

  it('runs the sources when a source changed after the build', () => {
    const future = new Date(Date.now() + 60_000);
    utimesSync(join(tmp.path, 'src', 'cli', 'main.ts'), future, future);
    assert.equal(ran(), 'sources');
  });

  it('runs the sources when there is no build, and dist/ when there are no sources (an installed package)', () => {
    rmSync(join(tmp.path, 'dist'), { recursive: true });
    assert.equal(ran(), 'sources');
    mkdirSync(join(tmp.path, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(tmp.path, 'dist', 'cli', 'main.js'), entry('dist'));
    rmSync(join(tmp.path, 'src'), { recursive: true });
    assert.equal(ran(), 'dist');
  });
});
