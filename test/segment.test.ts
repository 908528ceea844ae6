/**
 * The embedded anatomic segmenter on phantoms with known truth: every patient position, arms and
 * table in view. Threshold 0.90 is the paper's own best Dice (0.9025) on real CT; the phantom is
 * easier (sharp tissue classes), so falling below it means the anatomy logic broke, not noise.
 */
import assert from 'node:assert/strict';
import { planPhantom, renderPhantomSlice, TISSUE } from '../src/phantom/index.ts';
import { segmentAnatomic, ANATOMIC_SEGMENTER_ID } from '../src/segment/index.ts';
import { fallbackBox } from '../src/segment/prompt.ts';
import type { SegmentInput } from '../src/segment/types.ts';

function dice(a: Uint8Array, b: Uint8Array): number {
  let i = 0;
  let na = 0;
  let nb = 0;
  for (let p = 0; p < a.length; p++) {
    na += a[p];
    nb += b[p];
    i += a[p] & b[p];
  }
  return (2 * i) / (na + nb);
}

function phantomT12(orientation: 'HFS' | 'FFS' | 'HFP' | 'FFP', extra: Record<string, unknown> = {}) {
  const plan = planPhantom({ orientation, arms: true, table: true, seed: 3, ...extra });
  const slice = renderPhantomSlice(plan, plan.truth.t12.sliceIndex!);
  const iop = slice.imageOrientationPatient;
  const input: SegmentInput = {
    hu: slice.hu,
    rows: slice.rows,
    columns: slice.columns,
    pixelSpacingMm: slice.pixelSpacingMm,
    rowCosine: [iop[0], iop[1], iop[2]],
    columnCosine: [iop[3], iop[4], iop[5]],
  };
  return { slice, input };
}

describe('anatomic segmenter on phantoms', () => {
  for (const orientation of ['HFS', 'FFS', 'HFP', 'FFP'] as const) {
    it(`${orientation}, arms and table: Dice ≥ 0.90 against the trunk-muscle truth, no arm or table pixel`, () => {
      const { slice, input } = phantomT12(orientation);
      const result = segmentAnatomic(input);
      const d = dice(result.mask, slice.muscleMask);
      assert.ok(d >= 0.9, `Dice ${d.toFixed(3)} < 0.90`);
      let armOrTable = 0;
      let organ = 0;
      for (let i = 0; i < slice.labels.length; i++) {
        if (!result.mask[i]) continue;
        const label = slice.labels[i];
        if (label === TISSUE.MUSCLE_ARM || label === TISSUE.TABLE_SHELL || label === TISSUE.TABLE_CORE) armOrTable++;
        if (label === TISSUE.LIVER || label === TISSUE.SPLEEN || label === TISSUE.KIDNEY || label === TISSUE.AORTA || label === TISSUE.HEART) organ++;
      }
      assert.equal(armOrTable, 0, 'arm or table pixels in the mask');
      const count = result.mask.reduce((s, v) => s + v, 0);
      assert.ok(organ / count < 0.03, `organ pixels ${organ} of ${count}`);
      assert.ok((result.diagnostics.armPixels ?? 0) > 0, 'the arms were not recognised');
      assert.equal(result.segmenter.id, ANATOMIC_SEGMENTER_ID);
    });
  }

  it('all four positions give the same mask up to the pixel flip (orientation comes from the cosines)', () => {
    const a = phantomT12('HFS');
    const b = phantomT12('FFP');
    // FFP flips rows (IOP [1,0,0, 0,-1,0]): row r ↔ rows−1−r.
    const ma = segmentAnatomic(a.input).mask;
    const mb = segmentAnatomic(b.input).mask;
    const { rows, columns } = a.input;
    const flipped = new Uint8Array(mb.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) flipped[r * columns + c] = mb[(rows - 1 - r) * columns + c];
    assert.ok(dice(ma, flipped) > 0.97);
  });

  it('keeps only −29..150 HU, and every output is 0/1 on the native grid', () => {
    const { input } = phantomT12('HFS');
    const result = segmentAnatomic(input);
    assert.equal(result.mask.length, input.rows * input.columns);
    for (let i = 0; i < result.mask.length; i++) {
      assert.ok(result.mask[i] === 0 || result.mask[i] === 1);
      if (result.mask[i]) assert.ok(input.hu[i] >= -29 && input.hu[i] <= 150);
      if (result.mask[i]) assert.equal(result.envelope[i], 1);
    }
  });

  it('an empty (air-only) slice gives an empty mask, not an error', () => {
    const input: SegmentInput = { hu: new Int16Array(64 * 64).fill(-1000), rows: 64, columns: 64, pixelSpacingMm: [1, 1], rowCosine: [1, 0, 0], columnCosine: [0, 1, 0] };
    const result = segmentAnatomic(input);
    assert.equal(result.mask.reduce((s, v) => s + v, 0), 0);
  });

  it('fallback box encloses the trunk pixels in the muscle/fat range, not the arms', () => {
    const { input } = phantomT12('HFS');
    const result = segmentAnatomic(input);
    const box = fallbackBox(input.hu, input.rows, input.columns, result.body)!;
    const all = fallbackBox(input.hu, input.rows, input.columns)!;
    assert.ok(box.x2 - box.x1 < all.x2 - all.x1, 'arms widen the unrestricted box');
    for (let r = 0; r < input.rows; r++) {
      for (let c = 0; c < input.columns; c++) {
        if (result.mask[r * input.columns + c]) assert.ok(c >= box.x1 && c <= box.x2 && r >= box.y1 && r <= box.y2);
      }
    }
  });
});
