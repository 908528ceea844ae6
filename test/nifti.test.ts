/** NIfTI volumes land on the same grid and geometry as the DICOM path builds. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNiftiVolume } from '../src/dicom/nifti.ts';
import { scanPaths } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import { buildVolume } from '../src/dicom/volume.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { dataPath, makeTempDir, requirePaths } from './support/env.ts';

describe('NIfTI volumes', () => {
  it('reads example_ct_sm as an axial HU volume, inferior → superior, 3 mm', async function () {
    const path = dataPath('totalsegmentator_example_ct_sm', 'example_ct_sm.nii.gz');
    requirePaths(this, path);
    const volume = await readNiftiVolume(path);
    assert.equal(volume.slices.length, 30);
    assert.deepEqual([volume.geometry.rows, volume.geometry.columns], [101, 122]);
    assert.deepEqual(volume.geometry.pixelSpacingMm, [3, 3]);
    assert.equal(volume.geometry.sliceSpacingMm, 3);
    assert.equal(volume.geometry.plane, 'axial');
    assert.deepEqual(volume.geometry.rowCosine, [1, 0, 0]);
    assert.deepEqual(volume.geometry.columnCosine, [0, 1, 0]);
    for (let k = 1; k < 30; k++) assert.ok(volume.slices[k].zMm > volume.slices[k - 1].zMm);
    const min = volume.hu.reduce((a, b) => Math.min(a, b), 0);
    const max = volume.hu.reduce((a, b) => Math.max(a, b), 0);
    assert.ok(min <= -1000 && max > 500, `HU range ${min}..${max}`);
  });

  it('maps a NIfTI label map onto the DICOM grid of the same series (mean HU in the T12 label ≈ 267)', async function () {
    const dir = dataPath('totalsegmentator_example_ct_dicom_T11-T12');
    requirePaths(this, join(dir, 'example_seg_dicom.nii.gz'), join(dir, 'uid_repaired_uncompressed'));
    const labels = await readNiftiVolume(join(dir, 'example_seg_dicom.nii.gz'));
    const ct = await buildVolume(groupIntoSeries((await scanPaths([join(dir, 'uid_repaired_uncompressed')])).headers)[0]);
    assert.equal(labels.hu.length, ct.hu.length);
    assert.deepEqual(labels.slices.map((s) => s.zMm), ct.slices.map((s) => s.zMm));
    assert.deepEqual(labels.geometry.rowCosine, ct.geometry.rowCosine);
    assert.deepEqual(labels.geometry.columnCosine, ct.geometry.columnCosine);
    for (let k = 0; k < 20; k++) {
      for (let i = 0; i < 3; i++) assert.ok(Math.abs(labels.slices[k].imagePositionPatient[i] - ct.slices[k].imagePositionPatient[i]) < 0.01);
    }
    let sum = 0;
    let count = 0;
    for (let i = 0; i < ct.hu.length; i++) {
      if (labels.hu[i] === 32) {
        sum += ct.hu[i];
        count++;
      }
    }
    assert.ok(count > 1000);
    assert.ok(Math.abs(sum / count - 267) < 5, `mean HU in T12 label ${(sum / count).toFixed(1)}`);
  });

  it('rejects a file that is not NIfTI with E_NOT_NIFTI', async () => {
    const tmp = makeTempDir('ctmn-nifti-');
    try {
      const path = join(tmp.path, 'fake.nii');
      writeFileSync(path, Buffer.alloc(400, 7));
      await assert.rejects(readNiftiVolume(path), (e: unknown) => isCtMuscleError(e) && e.code === 'E_NOT_NIFTI');
    } finally {
      tmp.remove();
    }
  });
});
