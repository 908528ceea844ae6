/**
 * The level finder on phantoms (every patient position, 0.5–5 mm slices, arms, table, contrast,
 * truncated coverage, 11 and 13 rib pairs, transfer syntaxes) and on the shared real CT.
 */
import assert from 'node:assert/strict';
import { CtMuscleError, isCtMuscleError } from '../src/errors.ts';
import type { CtVolume } from '../src/dicom/types.ts';
import { readNiftiVolume } from '../src/dicom/nifti.ts';
import { findLevel } from '../src/level/index.ts';
import type { LevelName as TargetLevel, LevelResult } from '../src/model/index.ts';
import { levelForPaths } from '../src/pipeline/index.ts';
import { PHANTOM_TRANSFER_SYNTAXES as TS, type PhantomOptions, type PhantomTruth } from '../src/phantom/index.ts';
import { dataPath, requirePaths } from './support/env.ts';
import { phantomVolume } from './support/phantom-volume.ts';

const cache = new Map<string, Promise<{ volume: CtVolume; truth: PhantomTruth }>>();
function phantom(options: PhantomOptions): Promise<{ volume: CtVolume; truth: PhantomTruth }> {
  const key = JSON.stringify(options);
  if (!cache.has(key)) cache.set(key, phantomVolume(options));
  return cache.get(key)!;
}

/** The chosen slice must lie in the true body of `name` and within ±5 mm of its mid-plane. */
function assertInBody(result: LevelResult, truth: PhantomTruth, name: string): void {
  const body = truth.vertebrae.find((v) => v.name === name)!;
  assert.ok(
    result.zMm >= body.bodyInferiorMm && result.zMm <= body.bodySuperiorMm,
    `z ${result.zMm} outside ${name} body ${body.bodyInferiorMm}..${body.bodySuperiorMm}`,
  );
  assert.ok(Math.abs(result.zMm - body.midBodyMm) <= 5, `z ${result.zMm} is ${Math.abs(result.zMm - body.midBodyMm).toFixed(1)} mm from the ${name} mid-body`);
}

function expectCode(fn: () => unknown, code: string): CtMuscleError {
  try {
    fn();
  } catch (error) {
    assert.ok(isCtMuscleError(error), `expected CtMuscleError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, got a result`);
}

describe('level finder: phantom T12', function () {
  this.timeout(60000);
  const variants: Array<[string, PhantomOptions]> = [
    ['HFS 2.5 mm (defaults: table, no arms)', {}],
    ['FFS 2.5 mm with arms and contrast', { orientation: 'FFS', arms: true, contrast: true }],
    ['HFP 5 mm', { orientation: 'HFP', sliceThicknessMm: 5 }],
    ['FFP 1 mm without table', { orientation: 'FFP', sliceThicknessMm: 1, table: false }],
    ['HFS 0.5 mm, L2 to T11', { sliceThicknessMm: 0.5, fromLevel: 'L2', toLevel: 'T11' }],
    ['HFP 2.5 mm with contrast, arms and unsigned storage', { orientation: 'HFP', contrast: true, arms: true, storage: 'unsigned' }],
  ];
  for (const [label, options] of variants) {
    it(`finds the T12 mid-body: ${label}`, async () => {
      const { volume, truth } = await phantom(options);
      const result = findLevel(volume);
      assertInBody(result, truth, 'T12');
      assert.equal(result.name, 'T12');
      assert.equal(result.rule, 'mid-vertebral-body');
      assert.equal(result.sopInstanceUid, volume.slices[result.sliceIndex].sopInstanceUid);
      assert.ok(result.confidence > 0 && result.confidence <= 1);
      const t12 = result.evidence!.vertebrae.find((v) => v.name === 'T12')!;
      const l1 = result.evidence!.vertebrae.find((v) => v.name === 'L1')!;
      assert.equal(t12.bearsRibs, true);
      assert.equal(l1.bearsRibs, false);
    });
  }

  it('counts from the sacrum and the ribs together when both are in view (S1 to T11)', async () => {
    const { volume, truth } = await phantom({ fromLevel: 'S1', toLevel: 'T11', sliceThicknessMm: 3 });
    const result = findLevel(volume);
    assertInBody(result, truth, 'T12');
    assert.equal(result.evidence!.lumbarCount, 5);
    assert.ok(result.evidence!.sacrumTopMm !== null);
    assert.deepEqual(result.warnings, []);
    assertInBody(findLevel(volume, { target: 'L1' }), truth, 'L1');
    assertInBody(findLevel(volume, { target: 'L3' }), truth, 'L3');
  });

  it('gives the same slice for the same study in another patient position', async () => {
    const a = await phantom({});
    const b = await phantom({ orientation: 'FFS', arms: true, contrast: true });
    const ra = findLevel(a.volume);
    const rb = findLevel(b.volume);
    assert.ok(Math.abs(ra.zMm - rb.zMm) < 0.01, `${ra.zMm} vs ${rb.zMm}`);
  });

  // The phantom gives each encoding its own UIDs, so the same slice shows as the same index and z.
  it('gives the same slice in Explicit VR LE, JPEG 2000 lossless and JPEG-LS lossless', async () => {
    const base = { fromLevel: 'L2', toLevel: 'T11', sliceThicknessMm: 3 } as const;
    const results = [];
    for (const transferSyntaxUid of [TS.explicitVrLittleEndian, TS.jpeg2000Lossless, TS.jpegLsLossless]) {
      const { volume, truth } = await phantom({ ...base, transferSyntaxUid });
      const result = findLevel(volume);
      assertInBody(result, truth, 'T12');
      assert.equal(result.sopInstanceUid, volume.slices[result.sliceIndex].sopInstanceUid);
      results.push(`${result.sliceIndex}@${result.zMm}`);
    }
    assert.equal(new Set(results).size, 1, results.join(' '));
  });
});

describe('level finder: coverage and anomalies (phantom)', function () {
  this.timeout(60000);
  it('E_LEVEL_NOT_IN_VIEW when the view ends below T12 (L4 to L1)', async () => {
    const { volume } = await phantom({ fromLevel: 'L4', toLevel: 'L1' });
    expectCode(() => findLevel(volume), 'E_LEVEL_NOT_IN_VIEW');
  });

  it('E_LEVEL_NOT_IN_VIEW when the view ends above L1 (T11 to T6)', async () => {
    const { volume } = await phantom({ fromLevel: 'T11', toLevel: 'T6' });
    expectCode(() => findLevel(volume), 'E_LEVEL_NOT_IN_VIEW');
  });

  it('E_LEVEL_AMBIGUOUS for 13 rib pairs when the sacrum is in view', async () => {
    const { volume } = await phantom({ fromLevel: 'S1', toLevel: 'T11', sliceThicknessMm: 3, ribPairs: 13 });
    const error = expectCode(() => findLevel(volume), 'E_LEVEL_AMBIGUOUS');
    assert.ok(error.details && 'evidence' in error.details);
  });

  it('E_LEVEL_AMBIGUOUS for 11 rib pairs when the sacrum is in view', async () => {
    const { volume } = await phantom({ fromLevel: 'S1', toLevel: 'T11', sliceThicknessMm: 3, ribPairs: 11 });
    expectCode(() => findLevel(volume), 'E_LEVEL_AMBIGUOUS');
  });

  // Without the sacrum only the ribs can anchor the count: the answer must say it could not rule
  // out 11 or 13 rib pairs rather than pass for certain.
  for (const ribPairs of [11, 13] as const) {
    it(`warns, never silently, with ${ribPairs} rib pairs and no sacrum in view (L3 to T10)`, async () => {
      const { volume } = await phantom({ fromLevel: 'L3', toLevel: 'T10', sliceThicknessMm: 3, ribPairs });
      const result = findLevel(volume);
      assert.ok(result.warnings.some((w) => /11 or 13 rib pairs/.test(w)), result.warnings.join(' | '));
      assert.ok(result.confidence <= 0.75, `confidence ${result.confidence}`);
      assert.equal(result.evidence!.lumbarCount, null);
    });
  }

  it('E_INSUFFICIENT_COVERAGE for a few centimetres of spine', async () => {
    const { volume } = await phantom({ fromLevel: 'T12', sliceCount: 12, sliceThicknessMm: 2.5 });
    expectCode(() => findLevel(volume), 'E_INSUFFICIENT_COVERAGE');
  });

  it('explicit choices win: a user-selected SOP Instance UID and a single-slice series', async () => {
    const { volume } = await phantom({});
    const chosen = volume.slices[3];
    const user = findLevel(volume, { sopInstanceUid: chosen.sopInstanceUid });
    assert.equal(user.name, 'user-selected');
    assert.equal(user.sliceIndex, 3);
    expectCode(() => findLevel(volume, { sopInstanceUid: '1.2.3.4' }), 'E_SLICE_NOT_FOUND');
    const plane = volume.geometry.rows * volume.geometry.columns;
    const single: CtVolume = { ...volume, slices: [chosen], hu: volume.hu.slice(3 * plane, 4 * plane) };
    const provided = findLevel(single);
    assert.equal(provided.name, 'as-provided');
    assert.equal(provided.rule, 'as-provided');
    assert.equal(provided.sopInstanceUid, chosen.sopInstanceUid);
  });

  it('rejects an unknown target', async () => {
    const { volume } = await phantom({});
    expectCode(() => findLevel(volume, { target: 'C7' as TargetLevel }), 'E_CONFIG_INVALID');
  });
});

describe('level finder: shared real CT (TotalSegmentator predictions as reference)', function () {
  this.timeout(60000);
  const sm = dataPath('totalsegmentator_example_ct_sm/example_ct_sm.nii.gz');
  const full = dataPath('totalsegmentator_example_ct_full/example_ct.nii.gz');
  const dicomT11 = dataPath('totalsegmentator_example_ct_dicom_T11-T12/uid_repaired_uncompressed');
  const threeSlice = dataPath('reference_seg_sr/dcmqi_liver_ct3slice/ct-3slice');

  it('example_ct_sm: T12 within ±1 slice of 25', async function () {
    requirePaths(this, sm);
    const result = findLevel(await readNiftiVolume(sm));
    assert.ok(Math.abs(result.sliceIndex - 25) <= 1, `slice ${result.sliceIndex}`);
  });

  it('example_ct (pelvis to T12): inside the T12 body (102–111) or not in view, never L1; L3 inside 69–79', async function () {
    requirePaths(this, full);
    const volume = await readNiftiVolume(full);
    try {
      const result = findLevel(volume);
      assert.ok(result.sliceIndex >= 102 && result.sliceIndex <= 111, `slice ${result.sliceIndex}`);
    } catch (error) {
      assert.ok(isCtMuscleError(error) && error.code === 'E_LEVEL_NOT_IN_VIEW', String(error));
    }
    const l3 = findLevel(volume, { target: 'L3' });
    assert.ok(l3.sliceIndex >= 69 && l3.sliceIndex <= 79, `L3 slice ${l3.sliceIndex}`);
  });

  it('DICOM T11/T12 (20 slices): never a T11 slice; an error code is an honest answer', async function () {
    requirePaths(this, dicomT11, dataPath('derived/dicom_T11-T12_slice_table.json'));
    const { readFileSync } = await import('node:fs');
    const table = JSON.parse(readFileSync(dataPath('derived/dicom_T11-T12_slice_table.json'), 'utf8')) as {
      rows: Array<{ SOPInstanceUID: string; T12_area_cm2: number; T11_area_cm2: number }>;
    };
    const [outcome] = await levelForPaths([dicomT11]);
    if (outcome.ok) {
      const row = table.rows.find((r) => r.SOPInstanceUID === outcome.result.sopInstanceUid)!;
      assert.ok(row.T12_area_cm2 > row.T11_area_cm2, `chose a T11 slice ${outcome.result.sopInstanceUid}`);
    } else {
      assert.match(outcome.error.code, /^E_(LEVEL_NOT_IN_VIEW|INSUFFICIENT_COVERAGE|LEVEL_AMBIGUOUS)$/);
    }
  });

  it('3-slice CT: E_INSUFFICIENT_COVERAGE', async function () {
    requirePaths(this, threeSlice);
    const [outcome] = await levelForPaths([threeSlice]);
    assert.equal(outcome.ok, false);
    if (!outcome.ok) assert.equal(outcome.error.code, 'E_INSUFFICIENT_COVERAGE');
  });
});
