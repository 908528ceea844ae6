/** Real CT from ../shared/data: the same series as JPEG 2000 and uncompressed gives one HU volume. */
import assert from 'node:assert/strict';
import { scanPaths } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import { buildVolume } from '../src/dicom/volume.ts';
import type { CtVolume } from '../src/dicom/types.ts';
import { dataPath, requirePaths } from './support/env.ts';

const seriesDir = (name: string) => dataPath('totalsegmentator_example_ct_dicom_T11-T12', name);

async function volumeOf(dir: string): Promise<CtVolume> {
  const { headers, errors } = await scanPaths([dir]);
  assert.deepEqual(errors, []);
  const groups = groupIntoSeries(headers);
  assert.equal(groups.length, 1);
  return buildVolume(groups[0]);
}

describe('CT volumes from the shared T11/T12 series', function () {
  let j2k: CtVolume;
  let raw: CtVolume;

  before(async function () {
    requirePaths(this, seriesDir('uid_repaired_j2k'), seriesDir('uid_repaired_uncompressed'));
    [j2k, raw] = await Promise.all([volumeOf(seriesDir('uid_repaired_j2k')), volumeOf(seriesDir('uid_repaired_uncompressed'))]);
  });

  it('JPEG 2000 and uncompressed copies give identical HU volumes', () => {
    assert.equal(j2k.hu.length, raw.hu.length);
    let differing = 0;
    for (let i = 0; i < j2k.hu.length; i++) if (j2k.hu[i] !== raw.hu[i]) differing++;
    assert.equal(differing, 0);
    assert.deepEqual(
      j2k.slices.map((s) => s.sopInstanceUid),
      raw.slices.map((s) => s.sopInstanceUid),
    );
  });

  it('has 20 slices, 2.0 mm apart, 0.977 mm pixels, ordered inferior → superior from z −804.5 to −766.5', () => {
    for (const volume of [j2k, raw]) {
      assert.equal(volume.slices.length, 20);
      assert.equal(volume.geometry.rows, 512);
      assert.equal(volume.geometry.columns, 512);
      assert.ok(Math.abs(volume.geometry.sliceSpacingMm! - 2.0) < 1e-6);
      assert.deepEqual(volume.geometry.pixelSpacingMm.map((v) => Number(v.toFixed(3))), [0.977, 0.977]);
      assert.equal(volume.slices[0].zMm, -804.5);
      assert.equal(volume.slices[19].zMm, -766.5);
      for (let k = 1; k < 20; k++) assert.ok(volume.slices[k].zMm > volume.slices[k - 1].zMm);
      assert.equal(volume.geometry.plane, 'axial');
      assert.deepEqual(volume.issues, []);
    }
  });

  it('holds plausible HU: air outside the body, soft tissue and bone inside', () => {
    const { rows, columns } = j2k.geometry;
    const slice = 10 * rows * columns;
    assert.ok(j2k.hu[slice + 5 * columns + 5] < -900, 'corner is air');
    let max = -Infinity;
    let tissue = 0;
    for (let i = 0; i < rows * columns; i++) {
      const v = j2k.hu[slice + i];
      if (v > max) max = v;
      if (v >= -29 && v <= 150) tissue++;
    }
    assert.ok(max > 500, `bone present (max ${max} HU)`);
    const tissueCm2 = (tissue * j2k.geometry.pixelSpacingMm[0] * j2k.geometry.pixelSpacingMm[1]) / 100;
    assert.ok(tissueCm2 > 100 && tissueCm2 < 800, `soft tissue area ${tissueCm2.toFixed(0)} cm²`);
  });
});
