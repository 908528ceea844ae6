/** The linea alba rule (segmenter 1.4.0): the wall at the midline is cleared only where an organ lies directly beneath it. */
import assert from 'node:assert/strict';
import { clearLineaAlba, LINEA_ALBA_HALF_WIDTH_MM } from '../src/segment/linea-alba.ts';

const N = 200;
const FAT = -100;
const MUSCLE = 45;

/**
 * 1 mm grid. Anterior wall (in the band): 12 rows of muscle under 20 rows of subcutaneous fat, at
 * the top of the image (or at the bottom when `prone`: posterior points up). Beneath it `beneathHu`
 * (an organ, fat or gas) for 40 rows, then fat.
 */
function slice(beneathHu: number, prone = false): { band: Uint8Array; hu: Int16Array; wallRow: (depth: number) => number } {
  const band = new Uint8Array(N * N);
  const hu = new Int16Array(N * N).fill(FAT);
  const wallRow = (depth: number) => (prone ? N - 1 - depth : depth);
  for (let depth = 20; depth < 72; depth++) {
    for (let c = 0; c < N; c++) {
      const i = wallRow(depth) * N + c;
      if (depth < 32) {
        hu[i] = MUSCLE + ((depth * 7 + c * 3) % 9) - 4;
        band[i] = 1;
      } else hu[i] = beneathHu;
    }
  }
  return { band, hu, wallRow };
}

const midline = (prone: boolean) =>
  prone ? { canal: [100, 50] as [number, number], posterior: [0, -1] as [number, number], centre: [100, 100] as [number, number] } : { canal: [100, 150] as [number, number], posterior: [0, 1] as [number, number], centre: [100, 100] as [number, number] };

describe('segment: linea alba', () => {
  for (const prone of [false, true]) {
    it(`clears the wall within ${LINEA_ALBA_HALF_WIDTH_MM} mm of the midline over an organ, and nothing lateral to it (${prone ? 'posterior up' : 'posterior down'})`, () => {
      const { band, hu, wallRow } = slice(55, prone);
      const before = band.reduce((s, v) => s + v, 0);
      const cleared = clearLineaAlba(band, hu, N, N, [1, 1], midline(prone));
      assert.equal(before - band.reduce((s, v) => s + v, 0), cleared);
      for (let depth = 20; depth < 32; depth++) {
        const row = wallRow(depth) * N;
        assert.equal(band[row + 100], 0, `midline, depth ${depth}`);
        assert.equal(band[row + 92], 0, `8 mm off the midline, depth ${depth}`);
        assert.equal(band[row + 100 - 12], 1, `12 mm off the midline stays, depth ${depth}`);
        assert.equal(band[row + 100 + 12], 1, `12 mm off the midline stays, depth ${depth}`);
      }
      // 2 × half-width columns (± one column of rounding) × 12 rows of wall.
      assert.ok(cleared >= 12 * 2 * LINEA_ALBA_HALF_WIDTH_MM && cleared <= 12 * (2 * LINEA_ALBA_HALF_WIDTH_MM + 1), `${cleared} px cleared`);
    });
  }

  it('leaves the wall alone where fat, gas or bone lies beneath it', () => {
    for (const [beneathHu, why] of [
      [FAT, 'fat plane'],
      [-800, 'gas in the bowel'],
      [400, 'bone (xiphoid)'],
    ] as const) {
      const { band, hu } = slice(beneathHu);
      const before = band.slice();
      assert.equal(clearLineaAlba(band, hu, N, N, [1, 1], midline(false)), 0, why);
      assert.deepEqual(band, before, why);
    }
  });
});
