/**
 * Phantom round trip: generated series → files (every orientation and transfer syntax) → volume
 * gives back the generator's HU voxel for voxel, the geometry it wrote, and slices ordered
 * inferior → superior. RLE and JPEG Lossless are encoded by dcmtk from the written files.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanBuffers } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import { buildVolume } from '../src/dicom/volume.ts';
import type { CtVolume } from '../src/dicom/types.ts';
import { generatePhantomStudy, PHANTOM_TRANSFER_SYNTAXES, renderPhantomSlice, type PatientPosition, type PhantomOptions } from '../src/phantom/index.ts';
import { makeTempDir, requireCommands, run } from './support/env.ts';

const SMALL: PhantomOptions = { rows: 96, columns: 96, fieldOfViewMm: 400, sliceThicknessMm: 5, fromLevel: 'L1', toLevel: 'T11', seed: 3 };

async function volumeOf(files: Array<{ fileName: string; bytes: Uint8Array }>): Promise<CtVolume> {
  const { headers, errors } = scanBuffers(files.map((f) => ({ bytes: f.bytes, label: f.fileName })));
  assert.deepEqual(errors, []);
  const groups = groupIntoSeries(headers);
  assert.equal(groups.length, 1);
  return buildVolume(groups[0]);
}

async function assertRoundTrip(options: PhantomOptions, files?: Array<{ fileName: string; bytes: Uint8Array }>) {
  const study = await generatePhantomStudy(options);
  const volume = await volumeOf(files ?? study.files);
  const { plan, truth } = study;
  assert.equal(volume.slices.length, plan.slices.length);
  const voxels = volume.geometry.rows * volume.geometry.columns;
  for (let k = 0; k < volume.slices.length; k++) {
    const expected = renderPhantomSlice(plan, k);
    assert.equal(volume.slices[k].sopInstanceUid, expected.sopInstanceUid, `slice ${k} is the generator's slice ${k}`);
    assert.equal(volume.slices[k].zMm, expected.zMm);
    const actual = volume.hu.subarray(k * voxels, (k + 1) * voxels);
    let differing = 0;
    for (let i = 0; i < voxels; i++) if (actual[i] !== expected.hu[i]) differing++;
    assert.equal(differing, 0, `slice ${k}: ${differing} voxels differ`);
    if (k > 0) assert.ok(volume.slices[k].zMm > volume.slices[k - 1].zMm, 'inferior → superior');
  }
  const first = renderPhantomSlice(plan, 0);
  assert.deepEqual([...volume.geometry.rowCosine, ...volume.geometry.columnCosine].map((v) => v + 0), [...first.imageOrientationPatient].map((v) => v + 0));
  // DS values hold 16 characters: spacing comes back rounded to ~1e-10 mm.
  volume.geometry.pixelSpacingMm.forEach((v, i) => assert.ok(Math.abs(v - truth.pixelSpacingMm[i]) < 1e-6));
  assert.ok(Math.abs(volume.geometry.sliceSpacingMm! - truth.sliceSpacingMm) < 1e-3);
  assert.deepEqual(volume.issues, []);
  return { volume, study };
}

describe('phantom round trip (generator → DICOM → volume)', function () {
  for (const orientation of ['HFS', 'FFS', 'HFP', 'FFP'] as PatientPosition[]) {
    it(`${orientation}: same HU, geometry and inferior → superior order`, async () => {
      await assertRoundTrip({ ...SMALL, orientation });
    });
  }

  for (const [name, uid] of Object.entries(PHANTOM_TRANSFER_SYNTAXES)) {
    it(`${name} (${uid}): same HU and geometry`, async () => {
      const { volume, study } = await assertRoundTrip({ ...SMALL, orientation: 'FFP', transferSyntaxUid: uid });
      assert.equal(study.files.length, volume.slices.length);
    });
  }

  it('unsigned storage (intercept −1024) and signed storage give the same HU', async () => {
    const signed = await assertRoundTrip({ ...SMALL, storage: 'signed' });
    const unsigned = await assertRoundTrip({ ...SMALL, storage: 'unsigned' });
    assert.deepEqual(unsigned.volume.hu, signed.volume.hu);
  });

  describe('syntaxes encoded by dcmtk from the phantom files', () => {
    let tmp: ReturnType<typeof makeTempDir>;
    before(function () {
      requireCommands(this, 'dcmcrle', 'dcmcjpeg');
      tmp = makeTempDir('ctmn-roundtrip-');
    });
    after(() => tmp?.remove());

    for (const [label, tool, args] of [
      ['RLE Lossless', 'dcmcrle', []],
      ['JPEG Lossless SV1 (.70)', 'dcmcjpeg', ['+e1']],
      ['JPEG Lossless (.57)', 'dcmcjpeg', ['+el']],
    ] as Array<[string, string, string[]]>) {
      it(`${label}: same HU and geometry`, async () => {
        const study = await generatePhantomStudy({ ...SMALL, orientation: 'HFP', storage: 'unsigned' });
        const files = study.files.map((file) => {
          const input = join(tmp.path, `in-${file.fileName}`);
          const output = join(tmp.path, `${tool}-${args.join('')}-${file.fileName}`);
          writeFileSync(input, file.bytes);
          run(tool, [...args, input, output]);
          return { fileName: file.fileName, bytes: new Uint8Array(readFileSync(output)) };
        });
        await assertRoundTrip({ ...SMALL, orientation: 'HFP', storage: 'unsigned' }, files);
      });
    }
  });
});
