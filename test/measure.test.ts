import assert from 'node:assert/strict';
import { fillHoles } from '../src/image/morphology.ts';
import { measureMuscle, plausibilityFlags } from '../src/measure/muscle.ts';

function grid(rows: number, columns: number, fill: (r: number, c: number) => number): Uint8Array {
  const out = new Uint8Array(rows * columns);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[r * columns + c] = fill(r, c);
  return out;
}

describe('muscle measurements', () => {
  const rows = 20;
  const columns = 30;
  // A 10×10 square of muscle (rows 5–14, columns 5–14) with a 2×2 hole of fat in the middle.
  const mask = grid(rows, columns, (r, c) => (r >= 5 && r < 15 && c >= 5 && c < 15 && !(r >= 9 && r < 11 && c >= 9 && c < 11) ? 1 : 0));
  const hu = new Int16Array(rows * columns).map((_, i) => {
    const r = Math.floor(i / columns);
    const c = i % columns;
    if (r >= 9 && r < 11 && c >= 9 && c < 11) return -100; // intermuscular fat
    if (r >= 5 && r < 15 && c >= 5 && c < 15) return c < 10 ? 20 : 60; // two halves of muscle
    return -1000;
  });

  it('area is pixel count × row spacing × column spacing / 100, exactly', () => {
    const m = measureMuscle({ mask, hu, rows, columns, pixelSpacingMm: [0.8, 0.5] })!;
    assert.equal(m.pixelCount, 96);
    assert.ok(Math.abs(m.areaCm2 - (96 * 0.8 * 0.5) / 100) < 1e-12);
  });

  it('mean and SD of HU, low-attenuation share, IMAT in the filled envelope', () => {
    const m = measureMuscle({ mask, hu, rows, columns, pixelSpacingMm: [1, 1] })!;
    // 48 pixels at 20 HU (columns 5–9 minus 2 hole pixels) and 48 at 60 HU.
    assert.equal(m.meanHu, 40);
    assert.equal(m.sdHu, 20);
    assert.equal(m.lowAttenuationFraction, 0.5);
    assert.equal(m.imatAreaCm2, 0.04);
  });

  it('SMI only with a height; never NaN', () => {
    assert.equal(measureMuscle({ mask, hu, rows, columns, pixelSpacingMm: [1, 1] })!.smiCm2PerM2, null);
    assert.equal(measureMuscle({ mask, hu, rows, columns, pixelSpacingMm: [1, 1], heightM: 0 })!.smiCm2PerM2, null);
    const m = measureMuscle({ mask, hu, rows, columns, pixelSpacingMm: [10, 10], heightM: 2 })!;
    assert.equal(m.smiCm2PerM2, 96 / 4);
    const constant = measureMuscle({ mask, hu: new Int16Array(rows * columns).fill(33), rows, columns, pixelSpacingMm: [1, 1] })!;
    assert.equal(constant.sdHu, 0);
    for (const v of Object.values(constant)) assert.ok(v === null || Number.isFinite(v));
  });

  it('an empty mask gives null, and the flag says so', () => {
    const empty = new Uint8Array(rows * columns);
    assert.equal(measureMuscle({ mask: empty, hu, rows, columns, pixelSpacingMm: [1, 1] }), null);
    assert.deepEqual(plausibilityFlags({ mask: empty, hu, rows, columns, pixelSpacingMm: [1, 1] }, null, { areaRangeCm2: [20, 400] }), ['empty-mask']);
  });

  it('flags an area outside the range and a mask touching the image edge', () => {
    const touching = grid(rows, columns, (r, c) => (c === 0 && r < 5 ? 1 : 0));
    const m = measureMuscle({ mask: touching, hu, rows, columns, pixelSpacingMm: [1, 1] });
    const flags = plausibilityFlags({ mask: touching, hu, rows, columns, pixelSpacingMm: [1, 1] }, m, { areaRangeCm2: [20, 400] });
    assert.equal(flags.length, 2);
    assert.match(flags[0], /^area-outside-range/);
    assert.match(flags[1], /^mask-touches-image-edge/);
  });

  it('fills holes but not bays open to the border', () => {
    const ring = grid(5, 5, (r, c) => (r === 0 || r === 4 || c === 0 || c === 4 ? 0 : r === 2 && c === 2 ? 0 : 1));
    assert.equal(fillHoles(ring, 5, 5)[12], 1);
    const bay = grid(5, 5, (r, c) => (r >= 1 && r <= 3 && c >= 1 && c <= 3 && !(r === 2 && c >= 2) ? 1 : 0));
    assert.equal(fillHoles(bay, 5, 5)[12], 0);
  });
});
