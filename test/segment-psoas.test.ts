/**
 * Psoas and quadratus lumborum in the anatomic segmenter (issue 17), and the review flags for
 * levels and anatomy it has no rules for. Phantom truth: the psoas label, kidneys and crura are
 * painted separately, so "psoas found" and "no organ taken" are counted, not eyeballed.
 */
import assert from 'node:assert/strict';
import { planPhantom, renderPhantomSlice, TISSUE, type VertebraName } from '../src/phantom/index.ts';
import { segmentAnatomic, type AnatomicOptions } from '../src/segment/anatomic.ts';
import { anatomicReviewFlags } from '../src/segment/scope.ts';
import { DEFAULT_WALL_RAY_OPTIONS } from '../src/segment/wall-rays.ts';
import { DEFAULT_PSOAS_OPTIONS, psoasOptionsFor } from '../src/segment/psoas.ts';
import { dilate } from '../src/image/morphology.ts';
import { readNiftiVolume } from '../src/dicom/nifti.ts';
import { scanPaths } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import { buildVolume } from '../src/dicom/volume.ts';
import { dataPath, requirePaths } from './support/env.ts';
import type { SegmentInput } from '../src/segment/types.ts';

const plans = new Map<string, ReturnType<typeof planPhantom>>();

function phantomAt(level: VertebraName, orientation: 'HFS' | 'FFS' | 'HFP' | 'FFP', seed: number) {
  const key = `${orientation}-${seed}`;
  let plan = plans.get(key);
  if (!plan) {
    plan = planPhantom({ orientation, arms: true, table: true, seed, rows: 512, columns: 512, fromLevel: 'L5' });
    plans.set(key, plan);
  }
  const index = plan.truth.vertebrae.find((v) => v.name === level)!.nearestSliceIndex!;
  const slice = renderPhantomSlice(plan, index);
  const iop = slice.imageOrientationPatient;
  const input: SegmentInput = {
    hu: slice.hu,
    rows: slice.rows,
    columns: slice.columns,
    pixelSpacingMm: slice.pixelSpacingMm,
    rowCosine: [iop[0], iop[1], iop[2]],
    columnCosine: [iop[3], iop[4], iop[5]],
    level,
  };
  return { slice, input };
}

function tally(level: VertebraName, orientation: 'HFS' | 'FFS' | 'HFP' | 'FFP', seed: number, options?: AnatomicOptions) {
  const { slice, input } = phantomAt(level, orientation, seed);
  const result = segmentAnatomic(input, options);
  const counts = { psoas: 0, psoasFound: 0, kidney: 0, crus: 0 };
  for (let i = 0; i < slice.labels.length; i++) {
    const label = slice.labels[i];
    if (label === TISSUE.MUSCLE_PSOAS) {
      counts.psoas++;
      counts.psoasFound += result.mask[i];
    }
    if (result.mask[i] && label === TISSUE.KIDNEY) counts.kidney++;
    if (result.mask[i] && label === TISSUE.CRUS) counts.crus++;
  }
  return { ...counts, result };
}

describe('anatomic segmenter: psoas and quadratus lumborum (phantom truth)', function () {
  this.timeout(60000);
  for (const [level, orientation, seed] of [['L2', 'HFS', 1], ['L3', 'HFS', 1], ['L2', 'FFP', 2], ['L3', 'HFP', 2]] as const) {
    it(`${level} ${orientation} seed ${seed}: ≥ 90% of the psoas truth, no kidney or crus pixel, no review flag`, () => {
      const t = tally(level, orientation, seed);
      assert.ok(t.psoas > 500, `the phantom paints psoas at ${level} (${t.psoas} px)`);
      assert.ok(t.psoasFound / t.psoas >= 0.9, `psoas ${t.psoasFound}/${t.psoas}`);
      assert.equal(t.kidney, 0, 'kidney pixels in the mask');
      assert.equal(t.crus, 0, 'crus pixels in the mask');
      assert.deepEqual(t.result.reviewFlags, []);
    });
  }

  // At L1 the psoas is ~9 mm across: the 4 mm opening used above L1 erodes it away (1.5.0 found
  // 49 % of it with seed 1, 87 % with seed 3); L1–L3 are opened with 3 mm (1.6.0).
  for (const [orientation, seed] of [['HFS', 1], ['FFS', 3], ['HFP', 2], ['FFP', 4]] as const) {
    it(`L1 ${orientation} seed ${seed}: ≥ 90% of the (small) psoas truth, no crus or kidney pixel, no review flag; the wider opening misses it (seeds 1, 3)`, () => {
      const t = tally('L1', orientation, seed);
      assert.ok(t.psoasFound / t.psoas >= 0.9, `psoas ${t.psoasFound}/${t.psoas}`);
      assert.equal(t.crus, 0, 'crus pixels in the mask');
      assert.equal(t.kidney, 0, 'kidney pixels in the mask');
      assert.deepEqual(t.result.reviewFlags, []);
      if (seed === 1 || seed === 3) {
        const wide = tally('L1', orientation, seed, { psoas: { ...DEFAULT_PSOAS_OPTIONS, lumbarOpenRadiusMm: DEFAULT_PSOAS_OPTIONS.openRadiusMm } });
        assert.ok(wide.psoasFound / wide.psoas < 0.9, `with the 4 mm opening, psoas ${wide.psoasFound}/${wide.psoas}`);
      }
    });
  }

  it('the narrower opening is used only where the psoas must be found (L1–L3), never at T12 or an unknown level', () => {
    for (const level of ['L1', 'L2', 'L3']) assert.equal(psoasOptionsFor(level).openRadiusMm, DEFAULT_PSOAS_OPTIONS.lumbarOpenRadiusMm, level);
    for (const level of ['T11', 'T12', undefined]) assert.equal(psoasOptionsFor(level).openRadiusMm, DEFAULT_PSOAS_OPTIONS.openRadiusMm, String(level));
  });

  it('T12 of a real CT (T11/T12 series): the narrower opening would take the crura beside the body, so it is not used there', async function () {
    const folder = dataPath('totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_uncompressed');
    const labelsPath = dataPath('totalsegmentator_example_ct_dicom_T11-T12', 'example_seg_dicom.nii.gz');
    requirePaths(this, folder, labelsPath);
    const volume = await buildVolume(groupIntoSeries((await scanPaths([folder])).headers)[0]);
    const labels = await readNiftiVolume(labelsPath);
    const { rows, columns, pixelSpacingMm, rowCosine, columnCosine } = volume.geometry;
    const n = rows * columns;
    const k = 17;
    const input: SegmentInput = { hu: volume.hu.subarray(k * n, (k + 1) * n), rows, columns, pixelSpacingMm, rowCosine, columnCosine, level: 'T12' };
    const atT12 = segmentAnatomic(input).mask;
    assert.deepEqual(atT12, segmentAnatomic({ ...input, level: undefined }).mask, 'T12 is segmented as an unknown level is');
    const narrow = segmentAnatomic(input, { psoas: { ...DEFAULT_PSOAS_OPTIONS, openRadiusMm: DEFAULT_PSOAS_OPTIONS.lumbarOpenRadiusMm } }).mask;
    const label = labels.hu.subarray(k * n, (k + 1) * n);
    let added = 0;
    let addedMuscle = 0;
    for (let i = 0; i < n; i++) {
      if (!narrow[i] || atT12[i]) continue;
      added++;
      // TotalSegmentator's muscle labels (80–89: gluteal muscles, autochthon, iliopsoas); the crura carry none.
      if (label[i] >= 80 && label[i] <= 89) addedMuscle++;
    }
    assert.ok(added > 100, `the 3 mm opening adds ${added} pixels beside the body at T12`);
    assert.equal(addedMuscle, 0, 'none of them is a labelled muscle');
  });

  // At L1 the gap between the lowest rib (shallow) and the transverse process (deep) is not an
  // intercostal space: bridged by interpolation (1.4.0) the wall ran through the kidney behind it.
  for (const [orientation, seed] of [['HFS', 1], ['FFS', 2], ['HFP', 3], ['FFP', 1]] as const) {
    it(`L1 ${orientation} seed ${seed}: no kidney pixel; bridging the rib–transverse-process gap (1.4.0) takes kidney in`, () => {
      assert.equal(tally('L1', orientation, seed).kidney, 0, 'kidney pixels in the mask');
      const bridged = tally('L1', orientation, seed, { wallRays: { ...DEFAULT_WALL_RAY_OPTIONS, maxBridgeStepMm: Infinity } });
      assert.ok(bridged.kidney > 100, `with the gap bridged, ${bridged.kidney} kidney pixels`);
    });
  }

  it('T12: the crura beside the vertebral body stay out', () => {
    const t = tally('T12', 'HFS', 1);
    assert.equal(t.crus, 0);
    assert.equal(t.kidney, 0);
  });

  // An unenhanced kidney touching the psoas with no fat between (example_ct_sm's right psoas at L2,
  // docs/segmentation.md, eighth pass): the fat between them in the phantom is filled with kidney-
  // density tissue (32 HU, the psoas is 50) where both lie within 6 mm, on one side only.
  for (const [level, orientation, seed] of [['L3', 'HFS', 1], ['L3', 'HFP', 2]] as const) {
    it(`${level} ${orientation} seed ${seed}, a kidney touching one psoas: that psoas is separated from it by density (1.7.0); dropped whole without the rule`, () => {
      const { slice, input } = phantomAt(level, orientation, seed);
      const { rows, columns, pixelSpacingMm } = input;
      const psoas = Uint8Array.from(slice.labels, (l) => (l === TISSUE.MUSCLE_PSOAS ? 1 : 0));
      const kidney = Uint8Array.from(slice.labels, (l) => (l === TISSUE.KIDNEY ? 1 : 0));
      const nearPsoas = dilate(psoas, rows, columns, pixelSpacingMm, 6);
      const nearKidney = dilate(kidney, rows, columns, pixelSpacingMm, 6);
      const hu = Int16Array.from(input.hu);
      const bridged = [0, 0];
      const sideOf = (i: number) => (i % columns < columns / 2 ? 0 : 1);
      for (let i = 0; i < hu.length; i++) {
        if (nearPsoas[i] && nearKidney[i] && !psoas[i] && !kidney[i] && hu[i] < -29) {
          hu[i] = 32;
          bridged[sideOf(i)]++;
        }
      }
      const side = bridged[0] > bridged[1] ? 0 : 1;
      assert.ok(bridged[side] > 100 && bridged[1 - side] < 60, `one side bridged: ${bridged.join('/')} px`);
      const found = (options?: AnatomicOptions) => {
        const { mask } = segmentAnatomic({ ...input, hu }, options);
        const counts = { psoas: [0, 0], found: [0, 0], kidney: 0 };
        for (let i = 0; i < mask.length; i++) {
          if (psoas[i]) {
            counts.psoas[sideOf(i)]++;
            counts.found[sideOf(i)] += mask[i];
          }
          if (kidney[i] && mask[i]) counts.kidney++;
        }
        return { share: counts.found.map((f, k) => f / counts.psoas[k]), kidney: counts.kidney };
      };
      const on = found();
      const off = found({ psoas: { ...DEFAULT_PSOAS_OPTIONS, organContrastHu: null } });
      assert.ok(off.share[side] < 0.1, `without the rule the touching psoas is dropped whole: ${off.share[side].toFixed(2)} found`);
      assert.ok(on.share[side] >= 0.75, `the touching psoas: ${on.share[side].toFixed(2)} found`);
      assert.ok(on.share[1 - side] >= 0.9 && on.share[1 - side] === off.share[1 - side], `the other psoas as before: ${on.share[1 - side].toFixed(2)}`);
      assert.equal(on.kidney, 0, 'kidney pixels in the mask');
    });
  }

  it('with the psoas rule switched off the L2 psoas is missed, and the slice is flagged', () => {
    const t = tally('L2', 'HFS', 1, { posteriorWallMuscles: false });
    assert.ok(t.psoasFound / t.psoas < 0.9, `psoas ${t.psoasFound}/${t.psoas} found without the rule`);
    assert.ok(t.result.reviewFlags?.some((f) => f.startsWith('psoas-not-found:')), JSON.stringify(t.result.reviewFlags));
  });
});

describe('anatomic segmenter: review flags where it cannot be trusted', function () {
  this.timeout(60000);
  it('L4 (below its levels) is flagged; L5 with the iliac wings in view also as below L3', () => {
    const l4 = segmentAnatomic(phantomAt('L4', 'HFS', 1).input);
    assert.ok(l4.reviewFlags?.some((f) => f.startsWith('segmenter-level-unsupported:')), JSON.stringify(l4.reviewFlags));
    const l5 = phantomAt('L5', 'HFS', 1).input;
    const unnamed = segmentAnatomic({ ...l5, level: undefined });
    assert.ok(unnamed.reviewFlags?.some((f) => f.startsWith('segmenter-below-l3:')), `no level given, the anatomy alone: ${JSON.stringify(unnamed.reviewFlags)}`);
  });

  it('a trunk mostly outside the field of view is flagged', () => {
    const { input } = phantomAt('L2', 'HFS', 1);
    // Keep the middle 200 columns: both flanks cut off by the image edge.
    const columns = 200;
    const offset = (input.columns - columns) >> 1;
    const hu = new Int16Array(input.rows * columns);
    for (let r = 0; r < input.rows; r++) hu.set(input.hu.subarray(r * input.columns + offset, r * input.columns + offset + columns), r * columns);
    const result = segmentAnatomic({ ...input, hu, columns });
    assert.ok(result.reviewFlags?.some((f) => f.startsWith('trunk-outside-view:')), JSON.stringify(result.reviewFlags));
    assert.deepEqual(segmentAnatomic(input).reviewFlags, [], 'the whole slice is not flagged');
  });

  it('flag rules: psoas or quadratus missing on one side at L1–L3; user-chosen slices are judged by anatomy only', () => {
    const base = { outlineOnEdge: 0, pelvis: false, vertebraFound: true, psoasCm2: [5, 0.1] as [number, number], quadratusCm2: [4, 4] as [number, number] };
    assert.deepEqual(anatomicReviewFlags({ ...base, level: 'L2' }).map((f) => f.split(':')[0]), ['psoas-not-found']);
    assert.match(anatomicReviewFlags({ ...base, level: 'L2' })[0], /left side at L2/);
    assert.deepEqual(anatomicReviewFlags({ ...base, level: 'T12' }), [], 'psoas is not expected at T12');
    assert.deepEqual(anatomicReviewFlags({ ...base, level: 'user-selected' }), []);
    assert.deepEqual(anatomicReviewFlags({ ...base, psoasCm2: [5, 5], quadratusCm2: [0, 4], level: 'L3' }).map((f) => f.split(':')[0]), ['quadratus-not-found']);
    assert.deepEqual(anatomicReviewFlags({ ...base, vertebraFound: false, psoasCm2: null, quadratusCm2: null, level: 'L2' }).map((f) => f.split(':')[0]), ['segmenter-no-vertebra']);
  });
});
