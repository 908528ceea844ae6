/**
 * segmentAndMeasure (the pipeline's call), review flags, cut-off verdicts, and the no-NaN rule on
 * degenerate input. Measurement arithmetic itself is in measure.test.ts.
 */
import assert from 'node:assert/strict';
import type { CtVolume } from '../src/dicom/types.ts';
import { CtMuscleError } from '../src/errors.ts';
import { extraFlags, lowMuscleVerdict, measureMuscle, parseCutoffs, plausibleHeight, segmentAndMeasure } from '../src/measure/index.ts';
import { planPhantom, renderPhantomSlice } from '../src/phantom/index.ts';

function phantomVolume(orientation: 'HFS' | 'HFP' = 'HFS'): { volume: CtVolume; truthCm2: number; truth: Uint8Array } {
  const plan = planPhantom({ orientation, arms: true, table: true, seed: 5 });
  const slice = renderPhantomSlice(plan, plan.truth.t12.sliceIndex!);
  const iop = slice.imageOrientationPatient;
  const volume = {
    studyInstanceUid: '1.2.3',
    seriesInstanceUid: '1.2.3.4',
    geometry: {
      rows: slice.rows,
      columns: slice.columns,
      rowCosine: [iop[0], iop[1], iop[2]],
      columnCosine: [iop[3], iop[4], iop[5]],
      normal: [0, 0, 1],
      plane: 'axial',
      pixelSpacingMm: slice.pixelSpacingMm,
      sliceSpacingMm: null,
      sliceThicknessMm: 3,
      gantryTiltDeg: 0,
    },
    slices: [],
    hu: slice.hu,
    paddingHu: -3024,
    issues: [],
  } as CtVolume;
  return { volume, truthCm2: slice.muscleAreaCm2, truth: slice.muscleMask };
}

describe('segmentAndMeasure', () => {
  it('default segmenter on a phantom: area within 11% of the truth, ≥ 98% of the mask truth muscle, id/version, arms flagged, SMI with height', async () => {
    const { volume, truthCm2, truth } = phantomVolume();
    const result = await segmentAndMeasure({ volume, sliceIndex: 0, patient: { heightM: 1.75, sex: 'M' } });
    // The area is short of the truth by the wall muscle deep to the costal cartilage, which the
    // segmenter leaves out as TotalSegmentator does (−8.9% of the truth here) and some paraspinal
    // edge (−2.2%): 1.3.0 is −10.5%. The bound was 10% while cartilage partial-volume pixels
    // (not muscle) made up for part of it; 1.3.0 clears them, so the mask is purer (checked below).
    assert.ok(Math.abs(result.muscle.areaCm2 - truthCm2) / truthCm2 < 0.11, `${result.muscle.areaCm2} vs ${truthCm2}`);
    let inTruth = 0;
    for (let i = 0; i < truth.length; i++) inTruth += result.mask[i] & truth[i];
    assert.ok(inTruth / result.muscle.pixelCount >= 0.98, `${inTruth} of ${result.muscle.pixelCount} mask pixels are truth muscle`);
    assert.equal(result.segmenter.id, 'ct-muscle-node/anatomic');
    // 1.2.0: psoas and quadratus lumborum rules (issue 17); 1.3.0: enhancing-organ partial volume;
    // 1.4.0: linea alba over an organ, wider inner-limit median (issue 17); 1.5.0: no bridging
    // between the lowest rib and a transverse process; 1.6.0: the psoas search opened with 3 mm at
    // L1–L3; 1.7.0: the psoas separated from a darker organ it touches: the output changed, so the
    // version moved.
    assert.equal(result.segmenter.version, '1.7.0');
    assert.equal(result.segmenter.prompt, null);
    assert.ok(result.flags.some((f) => f.startsWith('arms-in-view')));
    assert.ok(Math.abs(result.muscle.smiCm2PerM2! - result.muscle.areaCm2 / 1.75 ** 2) < 1e-9);
    assert.equal(result.verdict, null, 'no cut-offs configured: no verdict');
    assert.equal(result.crossCheck, null);
    for (const v of Object.values(result.muscle)) assert.ok(v === null || Number.isFinite(v));
  });

  it("the segmenter's review flags reach the result: a level it has no rules for is flagged, never silent", async () => {
    const { volume } = phantomVolume();
    const l4 = await segmentAndMeasure({ volume, sliceIndex: 0, level: 'L4' });
    assert.ok(l4.flags.some((f) => f.startsWith('segmenter-level-unsupported:')), JSON.stringify(l4.flags));
    const t12 = await segmentAndMeasure({ volume, sliceIndex: 0, level: 'T12' });
    assert.ok(!t12.flags.some((f) => f.startsWith('segmenter-')), JSON.stringify(t12.flags));
  });

  it('missing or implausible height: SMI null, never NaN; implausible height is flagged', async () => {
    const { volume } = phantomVolume();
    const none = await segmentAndMeasure({ volume, sliceIndex: 0, patient: {} });
    assert.equal(none.muscle.smiCm2PerM2, null);
    const cm = await segmentAndMeasure({ volume, sliceIndex: 0, patient: { heightM: 175 } });
    assert.equal(cm.muscle.smiCm2PerM2, null);
    assert.ok(cm.flags.some((f) => f.startsWith('height-implausible')));
    assert.equal(plausibleHeight(Number.NaN), undefined);
  });

  it('an air-only slice is E_EMPTY_MASK (the pipeline reports it not measurable), not NaN numbers', async () => {
    const { volume } = phantomVolume();
    const air = { ...volume, hu: new Int16Array(volume.hu.length).fill(-1000) };
    await assert.rejects(segmentAndMeasure({ volume: air, sliceIndex: 0 }), (e: unknown) => e instanceof CtMuscleError && e.code === 'E_EMPTY_MASK');
    await assert.rejects(segmentAndMeasure({ volume, sliceIndex: 3 }), (e: unknown) => e instanceof CtMuscleError && e.code === 'E_SEGMENT_INPUT');
  });

  it('constant HU: SD 0 and finite values', () => {
    const mask = new Uint8Array(100).fill(1);
    const m = measureMuscle({ mask, hu: new Int16Array(100).fill(50), rows: 10, columns: 10, pixelSpacingMm: [1, 1] })!;
    assert.equal(m.sdHu, 0);
    assert.equal(m.lowAttenuationFraction, 0);
    for (const v of Object.values(m)) assert.ok(v === null || Number.isFinite(v));
  });

  it('a site cut-off with its citation gives a verdict; wrong sex, level or missing height gives none', () => {
    const cutoffs = parseCutoffs([
      { sex: 'M', level: 'T12', smiBelow: 30, citation: 'Site validation study 2026, table 2' },
      { sex: 'F', level: 'T12', areaBelow: 80, citation: 'Site validation study 2026, table 3' },
    ]);
    const base = { areaCm2: 70, meanHu: 40, sdHu: 10, imatAreaCm2: 2, lowAttenuationFraction: 0.2, pixelCount: 7000 };
    const man = lowMuscleVerdict({ ...base, smiCm2PerM2: 25 }, cutoffs, 'T12', 'M')!;
    assert.equal(man.lowMuscle, true);
    assert.equal(man.measure, 'smi');
    assert.match(man.citation, /table 2/);
    assert.equal(lowMuscleVerdict({ ...base, smiCm2PerM2: null }, cutoffs, 'T12', 'M'), null);
    assert.equal(lowMuscleVerdict({ ...base, smiCm2PerM2: 25 }, cutoffs, 'L3', 'M'), null);
    assert.equal(lowMuscleVerdict({ ...base, smiCm2PerM2: null }, cutoffs, 'T12', null), null);
    assert.equal(lowMuscleVerdict({ ...base, smiCm2PerM2: null }, cutoffs, 'T12', 'F')!.lowMuscle, true);
    assert.throws(() => parseCutoffs([{ sex: 'M', level: 'T12', smiBelow: 30 }]), /citation/);
    assert.throws(() => parseCutoffs([{ sex: 'M', level: 'T12', smiBelow: 30, areaBelow: 3, citation: 'x et al. 2020' }]), /exactly one/);
  });

  it('model/anatomic disagreement and fallback prompts are flagged', () => {
    const flags = extraFlags({ pixelSpacingMm: [1, 1], promptSource: 'fallback-muscle-hu', crossCheck: { dice: 0.5, areaDifference: 0.1 }, heightGiven: false, heightUsable: false });
    assert.ok(flags.some((f) => f.startsWith('fallback-prompt')));
    assert.ok(flags.some((f) => f.startsWith('segmenter-disagreement')));
    assert.deepEqual(extraFlags({ pixelSpacingMm: [1, 1], crossCheck: { dice: 0.9, areaDifference: 0.05 }, heightGiven: true, heightUsable: true }), []);
  });
});
