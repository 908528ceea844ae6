/**
 * The default segmenter's output is part of its version (1.7.0): speed work on the image math
 * (issue #16) must leave every mask, envelope and figure as it was. This pins a digest of
 * segmentAndMeasure's mask, envelope, measurements and flags for phantoms in the four patient
 * positions at T12/L1/L2/L3 (512² and 256²) and for every slice of the shared real CT
 * (example_ct_sm, 30 slices at 3 mm; the T11/T12 DICOM series, 20 slices at 512²).
 *
 * When the output changes on purpose (a new rule: the version moves), or the phantom itself
 * changes, record anew with CT_MUSCLE_RECORD_MASKS=1 and say why in the commit.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CtVolume } from '../src/dicom/types.ts';
import { readNiftiVolume } from '../src/dicom/nifti.ts';
import { scanPaths } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import { buildVolume } from '../src/dicom/volume.ts';
import { segmentAndMeasure } from '../src/measure/index.ts';
import { planPhantom, renderPhantomSlice, VERTEBRA_NAMES } from '../src/phantom/index.ts';
import { ANATOMIC_SEGMENTER_VERSION } from '../src/segment/anatomic.ts';
import { dataPath, requirePaths } from './support/env.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', `anatomic-${ANATOMIC_SEGMENTER_VERSION}-digests.json`);
const recording = process.env.CT_MUSCLE_RECORD_MASKS === '1';
const expected: Record<string, string> = existsSync(FIXTURE) ? JSON.parse(readFileSync(FIXTURE, 'utf8')) : {};
const recorded: Record<string, string> = {};

function phantomSlice(orientation: 'HFS' | 'FFS' | 'HFP' | 'FFP', size: number, level: string): CtVolume {
  const plan = planPhantom({ orientation, arms: true, table: true, seed: 5, rows: size, columns: size, fromLevel: 'L3', toLevel: 'T12' });
  const index = plan.truth.vertebrae.find((v) => v.name === level)?.nearestSliceIndex;
  if (index === null || index === undefined) throw new Error(`the phantom has no slice at ${level}`);
  const slice = renderPhantomSlice(plan, index);
  const iop = slice.imageOrientationPatient;
  const geometry = { rows: slice.rows, columns: slice.columns, rowCosine: [iop[0], iop[1], iop[2]], columnCosine: [iop[3], iop[4], iop[5]], normal: [0, 0, 1], plane: 'axial', pixelSpacingMm: slice.pixelSpacingMm, sliceSpacingMm: null, sliceThicknessMm: 3, gantryTiltDeg: 0 };
  return { studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', geometry, slices: [], hu: slice.hu, paddingHu: -3024, issues: [] } as unknown as CtVolume;
}

/**
 * Digest of everything the segmenter decides on one slice (timings left out, and the canal position
 * it reports since the seventh session: a report of a decision already pinned by the mask, added
 * after these digests were recorded), and the mask's pixel count for the message.
 */
async function digest(volume: CtVolume, sliceIndex: number, level?: string): Promise<string> {
  try {
    const r = await segmentAndMeasure({ volume, sliceIndex, patient: { heightM: 1.75 }, level });
    const { timingsMs: _timings, canalMm: _canal, ...diagnostics } = r.diagnostics;
    const hash = createHash('sha256').update(r.mask).update(r.envelope).update(JSON.stringify([r.muscle, r.flags, r.segmenter, diagnostics]));
    return `${hash.digest('hex').slice(0, 20)} ${r.muscle.pixelCount} px`;
  } catch (error) {
    return `error ${(error as { code?: string }).code ?? String(error)}`;
  }
}

async function check(name: string, volume: CtVolume, sliceIndex: number, level?: string): Promise<void> {
  const got = await digest(volume, sliceIndex, level);
  recorded[name] = got;
  if (!recording) assert.equal(got, expected[name], `${name}: the segmenter's output changed (or no digest is recorded)`);
}

function sliceCount(volume: CtVolume): number {
  return volume.hu.length / (volume.geometry.rows * volume.geometry.columns);
}

describe(`anatomic segmenter ${ANATOMIC_SEGMENTER_VERSION}: masks unchanged (issue #16)`, function () {
  after(() => {
    if (recording) writeFileSync(FIXTURE, `${JSON.stringify(recorded, null, 1)}\n`);
  });

  for (const size of [512, 256]) {
    it(`phantoms ${size}²: HFS/FFS/HFP/FFP at T12, L1, L2, L3`, async () => {
      for (const orientation of ['HFS', 'FFS', 'HFP', 'FFP'] as const) {
        for (const level of ['T12', 'L1', 'L2', 'L3']) {
          assert.ok(VERTEBRA_NAMES.includes(level as never));
          // Segmented as the pipeline does it, knowing the level (1.6.0 opens the psoas search by level).
          await check(`phantom-${size}-${orientation}-${level}`, phantomSlice(orientation, size, level), 0, level);
        }
      }
    });
  }

  it('real CT: the 30 slices of example_ct_sm (3 mm, L2 → T12)', async function () {
    const file = dataPath('totalsegmentator_example_ct_sm', 'example_ct_sm.nii.gz');
    requirePaths(this, file);
    const volume = await readNiftiVolume(file);
    for (let k = 0; k < sliceCount(volume); k++) await check(`ct_sm-${k}`, volume, k);
  });

  it('real CT: the 20 slices of the T11/T12 DICOM series (512², arms in view)', async function () {
    const folder = dataPath('totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_uncompressed');
    requirePaths(this, folder);
    const { headers } = await scanPaths([folder]);
    const volume = await buildVolume(groupIntoSeries(headers)[0]);
    for (let k = 0; k < sliceCount(volume); k++) await check(`dicom512-${k}`, volume, k);
  });
});
