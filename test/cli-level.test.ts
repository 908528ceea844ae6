/** `ct-muscle-node level`: one JSON line per series, the level finder's object or {code, message}. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { dataPath, requirePaths, repoRoot } from './support/env.ts';

function level(...args: string[]) {
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), 'level', ...args], { encoding: 'utf8' });
  const lines = run.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: run.status, stderr: run.stderr, lines };
}

describe('ct-muscle-node level', function () {
  this.timeout(120_000);

  it('prints the T12 result for a NIfTI volume and E_INSUFFICIENT_COVERAGE for the 3-slice series, one line each', function () {
    const sm = dataPath('totalsegmentator_example_ct_sm', 'example_ct_sm.nii.gz');
    const threeSlice = dataPath('reference_seg_sr', 'dcmqi_liver_ct3slice', 'ct-3slice');
    requirePaths(this, sm, threeSlice);
    const { status, stderr, lines } = level(sm, threeSlice);
    assert.equal(status, 0, stderr);
    assert.equal(lines.length, 2, JSON.stringify(lines));
    const [t12, short] = lines;
    assert.equal(t12.source, sm);
    assert.equal(t12.name, 'T12');
    assert.equal(t12.rule, 'mid-vertebral-body');
    assert.ok(Math.abs((t12.sliceIndex as number) - 25) <= 1, `slice ${t12.sliceIndex}`);
    assert.ok(typeof t12.confidence === 'number' && t12.confidence > 0 && t12.confidence <= 1);
    const evidence = t12.evidence as { vertebrae: Array<{ name: string | null }> };
    assert.ok(evidence.vertebrae.some((v) => v.name === 'T12'));
    assert.equal(short.code, 'E_INSUFFICIENT_COVERAGE');
    assert.equal(typeof short.message, 'string');
    assert.equal(short.seriesInstanceUid, '1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1');
  });

  it('--level L3 on the full example CT lands inside the L3 body (slices 69–79)', function () {
    const full = dataPath('totalsegmentator_example_ct_full', 'example_ct.nii.gz');
    requirePaths(this, full);
    const { status, stderr, lines } = level('--level', 'L3', full);
    assert.equal(status, 0, stderr);
    assert.equal(lines[0].name, 'L3');
    assert.ok((lines[0].sliceIndex as number) >= 69 && (lines[0].sliceIndex as number) <= 79, `slice ${lines[0].sliceIndex}`);
  });

  it('an unknown --level is a usage error (exit 2) and a missing file is reported, not thrown', function () {
    const bad = level('--level', 'C7', 'whatever');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--level must be one of T12, L1, L2, L3/);
    const missing = level(join(repoRoot, 'no-such-folder'));
    assert.equal(missing.status, 0, missing.stderr);
    assert.equal(missing.lines.length, 1);
    assert.match(String(missing.lines[0].code), /^E_/);
  });
});
