/** The paper's grades and the agreement summary, on numbers worked out by hand. */
import assert from 'node:assert/strict';
import { blandAltman, compareAreas, gradeOf, summarize, withinHu } from '../src/validate/metrics.ts';

describe('validate metrics', () => {
  it('grades by |node − reader| / reader: < 5 % expert, 5–10 % acceptable, ≥ 10 % unacceptable', () => {
    assert.equal(gradeOf(0.0499), 'expert');
    assert.equal(gradeOf(-0.0499), 'expert');
    assert.equal(gradeOf(0.05), 'acceptable');
    assert.equal(gradeOf(-0.0999), 'acceptable');
    assert.equal(gradeOf(0.1), 'unacceptable');
    assert.equal(gradeOf(-0.25), 'unacceptable');
  });

  it('Bland–Altman: bias, sample SD and limits of agreement', () => {
    // differences 2, 4, 6 → bias 4, SD 2
    const ba = blandAltman([
      { ours: 102, reader: 100 },
      { ours: 54, reader: 50 },
      { ours: 86, reader: 80 },
    ])!;
    assert.equal(ba.biasCm2, 4);
    assert.equal(ba.sdCm2, 2);
    assert.deepEqual(ba.limitsCm2, [4 - 3.92, 4 + 3.92]);
    assert.equal(blandAltman([]), null);
  });

  it('summary: mean Dice over cases with masks, mean and max |error|, grade shares', () => {
    const s = summarize([compareAreas(104, 100, 0.9), compareAreas(93, 100, 0.8), compareAreas(80, 100), compareAreas(101, 100, 0.95)])!;
    assert.equal(s.n, 4);
    assert.ok(Math.abs(s.meanDice! - (0.9 + 0.8 + 0.95) / 3) < 1e-12);
    assert.equal(s.meanAbsAreaErrorCm2, (4 + 7 + 20 + 1) / 4);
    assert.equal(s.maxAbsAreaErrorCm2, 20);
    assert.deepEqual(s.gradeCounts, { expert: 2, acceptable: 1, unacceptable: 1 });
    assert.deepEqual(s.gradeShares, { expert: 0.5, acceptable: 0.25, unacceptable: 0.25 });
  });

  it('keeps the reader pixels within the muscle HU range, bounds included', () => {
    const mask = Uint8Array.from([1, 1, 1, 1, 0]);
    const hu = [-30, -29, 150, 151, 40];
    assert.deepEqual([...withinHu(mask, hu, { lowerHu: -29, upperHu: 150 })], [0, 1, 1, 0, 0]);
  });
});
