/** `validate`: phantoms against their truth, example_ct_sm against TotalSegmentator (agreement), the report in Chromium. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { readNiftiVolume } from '../src/dicom/nifti.ts';
import type { CtVolume } from '../src/dicom/types.ts';
import type { Stages } from '../src/pipeline/index.ts';
import { decodeMaskRle, type PhantomTruth } from '../src/phantom/index.ts';
import { anatomicSegmenter } from '../src/segment/index.ts';
import { runValidate } from '../src/validate/run-validate.ts';
import type { CaseRecord } from '../src/validate/types.ts';
import { requireChromium, tableState, withPage } from './support/browser.ts';
import { makeTempDir, requirePaths } from './support/env.ts';
import { EXAMPLE_CT_SM, EXAMPLE_MUSCLE, linkExampleCase, writePhantomCase } from './support/reference-cases.ts';
import { truthStages } from './support/truth-stages.ts';

const config = loadConfig({ env: {} });
const PHANTOM = { rows: 128, columns: 128, fromLevel: 'L1', toLevel: 'T11' } as const;
const ones = (m: ArrayLike<number>) => Array.from(m).reduce((s, v) => s + v, 0);

/** Dice written out here on its own, so the test does not lean on the code under test. */
function diceOf(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let both = 0;
  for (let i = 0; i < a.length; i++) both += a[i] && b[i] ? 1 : 0;
  return (2 * both) / (ones(a) + ones(b));
}

/** Truth stages for several phantoms: each volume answered by its own study's truth. */
function truthStagesOf(truths: PhantomTruth[]): Stages {
  const of = (volume: Pick<CtVolume, 'studyInstanceUid'>) => truthStages(truths.find((t) => t.studyInstanceUid === volume.studyInstanceUid)!);
  return {
    findLevel: (input) => of(input.volume).findLevel(input),
    segmentAndMeasure: (input) => of(input.volume).segmentAndMeasure(input),
  };
}

/** The reader "misses" every pixel in the bottom `rows` rows of the truth mask. */
function trimBottom(rows: number) {
  return (mask: Uint8Array, truth: PhantomTruth) => {
    const out = mask.slice();
    out.fill(0, (truth.rows - rows) * truth.columns);
    return out;
  };
}

describe('validate', function () {
  this.timeout(300_000);
  let tmp: ReturnType<typeof makeTempDir>;
  before(() => (tmp = makeTempDir('ctmn-validate-')));
  after(() => tmp.remove());

  it('phantoms against their truth masks: Dice, areas, grades, level and the summary as computed here', async () => {
    const ref = join(tmp.path, 'phantom-ref');
    // The node's "mask" is each phantom's truth (truth stages); the reader's masks miss known rows of it.
    const cases = [
      { id: 'a', seed: 11, trim: 0 },
      { id: 'b', seed: 12, trim: 45 },
      { id: 'c', seed: 13, trim: 52 },
    ];
    const expected = new Map<string, { dice: number; ours: number; reader: number }>();
    const truths: PhantomTruth[] = [];
    for (const c of cases) {
      const { truth, mask } = await writePhantomCase(join(ref, c.id), { ...PHANTOM, seed: c.seed }, trimBottom(c.trim));
      const ours = decodeMaskRle(truth.t12.muscleMask!);
      const px = (truth.pixelSpacingMm[0] * truth.pixelSpacingMm[1]) / 100;
      expected.set(c.id, { dice: diceOf(ours, mask), ours: ones(ours) * px, reader: ones(mask) * px });
      truths.push(truth);
    }
    mkdirSync(join(ref, 'z-no-mask'));
    writeFileSync(join(ref, 'z-no-mask', 'case.json'), '{}');

    const report = await runValidate({ reference: ref, outDir: join(tmp.path, 'out-phantoms'), config, stages: truthStagesOf(truths) });
    const grades = { expert: 0, acceptable: 0, unacceptable: 0 };
    let errorSum = 0;
    for (const c of cases) {
      const want = expected.get(c.id)!;
      const record = report.cases.find((r) => r.id === c.id)!;
      assertCase(record, want);
      const relative = Math.abs(want.ours - want.reader) / want.reader;
      grades[relative < 0.05 ? 'expert' : relative < 0.1 ? 'acceptable' : 'unacceptable']++;
      errorSum += Math.abs(want.ours - want.reader);
    }
    assert.ok(Object.values(grades).filter(Boolean).length >= 2, `the trims should give different grades: ${JSON.stringify(grades)}`);
    assert.equal(report.cases.find((r) => r.id === 'z-no-mask')!.status, 'E_REFERENCE_NO_MASK');
    assert.equal(report.failed, 1);
    const s = report.summary.full!;
    assert.equal(s.n, 3);
    assert.deepEqual(s.gradeCounts, grades);
    assert.ok(Math.abs(s.meanAbsAreaErrorCm2 - errorSum / 3) < 1e-9);
    assert.ok(Math.abs(s.meanDice! - [...expected.values()].reduce((a, w) => a + w.dice, 0) / 3) < 1e-12);
    assert.equal(report.summary.level!.meanAbsMm, 0);
    assert.deepEqual(report.paper, { dice: 0.9025, meanAreaErrorCm2: 5.12, gradeShares: { expert: 0.517, acceptable: 0.333, unacceptable: 0.15 } });
  });

  function assertCase(record: CaseRecord, want: { dice: number; ours: number; reader: number }): void {
    assert.equal(record.status, 'ok', record.message);
    const full = record.full!;
    assert.ok(Math.abs(full.dice! - want.dice) < 1e-12, `Dice ${full.dice} vs ${want.dice}`);
    assert.ok(Math.abs(full.oursAreaCm2 - want.ours) < 1e-9);
    assert.ok(Math.abs(full.readerAreaCm2 - want.reader) < 1e-9);
    const relative = (want.ours - want.reader) / want.reader;
    assert.equal(full.grade, Math.abs(relative) < 0.05 ? 'expert' : Math.abs(relative) < 0.1 ? 'acceptable' : 'unacceptable');
    assert.deepEqual(record.level && 'differenceMm' in record.level && record.level.differenceMm, 0);
  }

  it("example_ct_sm with TotalSegmentator's muscle mask as the reader (agreement): the Dice and areas bench:accuracy computes", async function () {
    requirePaths(this, EXAMPLE_CT_SM, EXAMPLE_MUSCLE);
    const ref = join(tmp.path, 'sm-ref');
    linkExampleCase(join(ref, 'sm24'), { sliceIndex: 24 });
    linkExampleCase(join(ref, 'sm25'), { sliceIndex: 25 });
    const out = join(tmp.path, 'out-sm');
    const report = await runValidate({ reference: ref, outDir: out, config });
    // bench/accuracy.ts's computation: the default segmenter on the slice, the mask > 0, and within −29..150 HU.
    const sm = await readNiftiVolume(EXAMPLE_CT_SM);
    const muscle = await readNiftiVolume(EXAMPLE_MUSCLE);
    const { rows, columns, pixelSpacingMm, rowCosine, columnCosine } = sm.geometry;
    const n = rows * columns;
    const inRangeDices: number[] = [];
    for (const k of [24, 25]) {
      const hu = sm.hu.subarray(k * n, (k + 1) * n);
      const result = await anatomicSegmenter.segment({ hu, rows, columns, pixelSpacingMm, rowCosine, columnCosine });
      const all = Array.from(muscle.hu.subarray(k * n, (k + 1) * n), (v) => (v > 0 ? 1 : 0));
      const inRange = all.map((v, i) => (v && hu[i] >= -29 && hu[i] <= 150 ? 1 : 0));
      const record = report.cases.find((c) => c.id === `sm${k}`)!;
      assert.equal(record.status, 'ok', record.message);
      assert.ok(Math.abs(record.full!.dice! - diceOf(result.mask, all)) < 1e-12);
      assert.ok(Math.abs(record.primary!.dice! - diceOf(result.mask, inRange)) < 1e-12);
      inRangeDices.push(diceOf(result.mask, inRange));
      const px = (pixelSpacingMm[0] * pixelSpacingMm[1]) / 100;
      assert.ok(Math.abs(record.full!.relativeDifference - (ones(result.mask) - ones(all)) / ones(all)) < 1e-12);
      assert.ok(Math.abs(record.primary!.readerAreaCm2 - ones(inRange) * px) < 1e-9);
      assert.equal(record.level && 'ours' in record.level && record.level.ours, 'T12');
    }
    console.log(`      agreement with TotalSegmentator: ${report.cases.map((c) => `${c.id} Dice ${c.full!.dice!.toFixed(3)} (−29..150: ${c.primary!.dice!.toFixed(3)}), area ${(100 * c.full!.relativeDifference).toFixed(1)} %`).join('; ')}`);

    requireChromium(this);
    await withPage(join(out, 'validation.html'), async (page) => {
      assert.deepEqual(await tableState(page, 'cases'), { rows: 2, images: 2, loaded: 2 });
      const summary = await page.$$eval('#summary tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
      // The summary's mean in-range Dice (segmenter 1.5.0 to 1.7.0: ≈ 0.927; T12 slices 24 and 25), as the masks above give it.
      const meanDice = ((inRangeDices[0] + inRangeDices[1]) / 2).toFixed(4);
      assert.ok(summary.some((t) => t.includes('Dice') && t.includes(meanDice)), `summary has no Dice ${meanDice}`);
      const plots = await page.evaluate<number[]>("[...document.querySelectorAll('body > img')].map((i) => i.naturalWidth)");
      assert.deepEqual(plots, [640, 640], 'Bland–Altman and scatter plots load');
    });
  });

  it('a CSV of reader areas: our area on the reader\'s slice against theirs, graded', async () => {
    const dir = join(tmp.path, 'csv-case');
    const { truth } = await writePhantomCase(dir, { ...PHANTOM, seed: 31 });
    const csv = join(tmp.path, 'areas.csv');
    const readerArea = truth.t12.muscleAreaCm2! * 1.07;
    writeFileSync(csv, `StudyInstanceUID,areaCm2,sliceSopInstanceUid\n${truth.studyInstanceUid},${readerArea},${truth.t12.sopInstanceUid}\n1.2.3.999,100\n`);
    const report = await runValidate({ reference: csv, paths: [join(dir, 'ct')], outDir: join(tmp.path, 'out-csv'), config, stages: truthStages(truth) });
    const [ok, missing] = report.cases;
    assert.equal(ok.status, 'ok', ok.message);
    assert.ok(Math.abs(ok.primary!.relativeDifference - (1 / 1.07 - 1)) < 1e-3);
    assert.equal(ok.primary!.grade, 'acceptable');
    assert.equal(ok.primary!.dice, null);
    assert.equal(missing.status, 'E_STUDY_NOT_FOUND');
  });
});
