/** The enhancing-organ edge rule (segmenter 1.3.0): which mask pixels it clears, and which it leaves. */
import assert from 'node:assert/strict';
import { clearOrganEdge, maskMedianHu } from '../src/segment/organ-edge.ts';

const ROWS = 20;
const COLUMNS = 20;

/** Muscle (45 HU, rows 0–9) in the mask; row 10 a partial-volume row (in the mask, `edgeHu`); rows 11+ an organ (`organHu`, not in the mask). */
function slice(edgeHu: number, organHu: number): { mask: Uint8Array; hu: Int16Array } {
  const mask = new Uint8Array(ROWS * COLUMNS);
  const hu = new Int16Array(ROWS * COLUMNS);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLUMNS; c++) {
      const i = r * COLUMNS + c;
      hu[i] = r < 10 ? 45 + ((r * 7 + c * 3) % 9) - 4 : r === 10 ? edgeHu : organHu;
      mask[i] = r <= 10 ? 1 : 0;
    }
  }
  return { mask, hu };
}

describe('segment: enhancing-organ edge', () => {
  it('clears the mask row between muscle and an enhancing organ, and only that row', () => {
    const { mask, hu } = slice(100, 160);
    assert.equal(maskMedianHu(mask, hu), 45);
    assert.equal(clearOrganEdge(mask, hu, ROWS, COLUMNS), COLUMNS);
    for (let c = 0; c < COLUMNS; c++) {
      assert.equal(mask[10 * COLUMNS + c], 0, 'the partial-volume row is cleared');
      assert.equal(mask[9 * COLUMNS + c], 1, 'the muscle beside it stays (one pixel deep)');
    }
  });

  it('leaves the mask alone without contrast (organ near muscle HU), at bone, and where the edge pixel is muscle-dark', () => {
    for (const [edgeHu, organHu, why] of [
      [60, 60, 'unenhanced organ'],
      [100, 400, 'bone beside the edge (the bone-edge rule\'s)'],
      [60, 160, 'edge pixel within 25 HU of the muscle median'],
    ] as const) {
      const { mask, hu } = slice(edgeHu, organHu);
      const before = mask.slice();
      assert.equal(clearOrganEdge(mask, hu, ROWS, COLUMNS), 0, why);
      assert.deepEqual(mask, before, why);
    }
    assert.equal(maskMedianHu(new Uint8Array(4), new Int16Array(4)), null);
  });
});
