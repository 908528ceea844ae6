/** `ct-muscle-node inspect`: the JSON contract, run as users run it (the real command, a child process). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { dataPath, repoRoot, requirePaths } from './support/env.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed JSON checked field by field below
function inspect(...paths: string[]): { code: number | null; json: any; stderr: string } {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), 'inspect', ...paths], { encoding: 'utf8' });
  return { code: result.status, json: result.stdout ? JSON.parse(result.stdout) : null, stderr: result.stderr };
}

const t11t12 = (name: string) => dataPath('totalsegmentator_example_ct_dicom_T11-T12', name);

describe('ct-muscle-node inspect', function () {
  it('prints the contract JSON for the JPEG 2000 and uncompressed copies of the same series', function () {
    requirePaths(this, t11t12('uid_repaired_j2k'), t11t12('uid_repaired_uncompressed'));
    const results = ['uid_repaired_j2k', 'uid_repaired_uncompressed'].map((dir) => inspect(t11t12(dir)));
    for (const { code, json } of results) {
      assert.equal(code, 0);
      assert.deepEqual(json.errors, []);
      assert.equal(json.series.length, 1);
      const s = json.series[0];
      for (const key of ['studyInstanceUid', 'seriesInstanceUid', 'sliceCount', 'rows', 'columns', 'pixelSpacingMm', 'sliceSpacingMm', 'orientation', 'transferSyntaxUid', 'selected', 'reasons', 'slices']) {
        assert.ok(key in s, `series has ${key}`);
      }
      assert.equal(s.sliceCount, 20);
      assert.equal(s.selected, true);
      assert.equal(s.orientation, 'axial');
      assert.equal(s.sliceSpacingMm, 2);
      assert.equal(s.slices.length, 20);
      assert.equal(s.slices[0].zMm, -804.5);
      assert.equal(s.slices[19].zMm, -766.5);
      assert.ok(s.reasons.length > 0);
    }
    assert.equal(results[0].json.series[0].transferSyntaxUid, '1.2.840.10008.1.2.4.90');
    assert.equal(results[1].json.series[0].transferSyntaxUid, '1.2.840.10008.1.2.1');
    assert.deepEqual(results[0].json.series[0].slices, results[1].json.series[0].slices);
  });

  it('reports E_MISSING_UID for each file with empty UIDs and exits normally', function () {
    requirePaths(this, t11t12('original'));
    const { code, json } = inspect(t11t12('original'));
    assert.equal(code, 0);
    assert.deepEqual(json.series, []);
    assert.equal(json.errors.length, 20);
    for (const error of json.errors) {
      assert.equal(error.code, 'E_MISSING_UID');
      assert.match(error.message, /SOPInstanceUID/);
      assert.ok(error.path.startsWith(t11t12('original')));
    }
  });

  it('lists a missing path as an error and still exits normally', () => {
    const { code, json } = inspect('/nonexistent/ct-folder');
    assert.equal(code, 0);
    assert.equal(json.errors[0].code, 'E_IO');
  });

  it('exits 2 with a clear message on a bad configuration', () => {
    const result = spawnSync(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), 'inspect', '.'], {
      encoding: 'utf8',
      env: { ...process.env, CT_MUSCLE_NODE__LEVEL__TARGET: 'T99' },
    });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /E_CONFIG_INVALID.*level\.target/);
  });
});
