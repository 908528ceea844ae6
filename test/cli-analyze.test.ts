/** `analyze --out` on the shared JPEG 2000 series (slice given): a SEG and an SR that dciodvfy accepts. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { dataPath, hasCommand, makeTempDir, repoRoot, requirePaths } from './support/env.ts';

describe('ct-muscle-node analyze --out', function () {
  this.timeout(120_000);
  it('writes seg.dcm, sr.dcm and result.json with 0 dciodvfy errors and lists them in its JSON line', function () {
    const dir = dataPath('totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_j2k');
    requirePaths(this, dir);
    const tmp = makeTempDir('ctmn-analyze-');
    try {
      const slice = '1.3.12.2.1107.5.1.4.60064.30000022120808113428000016588';
      const run = spawnSync(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), 'analyze', dir, '--slice', slice, '--out', tmp.path], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const line = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
      assert.equal(line.status, 'ok', line.message);
      assert.equal(line.level.sopInstanceUid, slice);
      assert.ok(line.muscle.areaCm2 > 20 && line.muscle.areaCm2 < 300, `area ${line.muscle.areaCm2}`);
      assert.equal(line.segmenter.id, 'ct-muscle-node/anatomic');
      for (const kind of ['seg', 'sr']) {
        const path = line.outputs[kind].path as string;
        if (hasCommand('dciodvfy')) {
          const check = spawnSync('dciodvfy', [path], { encoding: 'utf8' });
          assert.doesNotMatch(check.stderr, /^Error/m, `${kind}: ${check.stderr}`);
        }
      }
    } finally {
      tmp.remove();
    }
  });
});
