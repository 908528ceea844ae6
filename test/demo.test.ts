/** `npm run demo` (the CLI's demo command): the whole job on embedded defaults, as a fresh clone runs it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hasCommand, makeTempDir, repoRoot } from './support/env.ts';

describe('demo', function () {
  this.timeout(180_000);
  it('receives the phantom over STOW-RS, finds T12, measures it and writes a valid SEG and SR', function () {
    const tmp = makeTempDir('ctmn-demo-');
    try {
      const run = spawnSync(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), 'demo', '--once', '--out', tmp.path], { encoding: 'utf8', cwd: tmp.path });
      assert.equal(run.status, 0, run.stderr);
      const out = JSON.parse(run.stdout);
      assert.equal(out.status, 'ok', out.message);
      assert.equal(out.sent.storedAcknowledged, out.sent.instances);
      assert.equal(out.level.name, 'T12');
      assert.ok(Math.abs(out.level.zMm - out.phantomTruth.t12MidBodyZMm) <= 5, `level at ${out.level.zMm}, truth ${out.phantomTruth.t12MidBodyZMm}`);
      const truthArea = out.phantomTruth.muscleAreaCm2AtT12 as number;
      assert.ok(Math.abs(out.muscle.areaCm2 - truthArea) / truthArea < 0.15, `area ${out.muscle.areaCm2} vs truth ${truthArea}`);
      for (const value of Object.values(out.muscle)) assert.ok(value === null || Number.isFinite(value));
      for (const kind of ['seg', 'sr']) {
        const path = out.outputs[kind].path as string;
        assert.ok(existsSync(path), path);
        if (hasCommand('dciodvfy')) assert.doesNotMatch(spawnSync('dciodvfy', [path], { encoding: 'utf8' }).stderr, /^Error/m);
      }
      assert.equal(out.job.state, 'done');
    } finally {
      tmp.remove();
    }
  });
});
