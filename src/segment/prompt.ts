/**
 * The paper's fallback prompt: when the detector finds nothing, a box around every trunk pixel in
 * the muscle/fat HU range (−190..150 HU). Arms and table are outside the trunk, so they do not
 * stretch the box.
 */
import { MUSCLE_OR_FAT_HU } from '../model/index.ts';
import type { Box } from './types.ts';

export const FALLBACK_BOX_HU = MUSCLE_OR_FAT_HU;

export function fallbackBox(hu: Int16Array, rows: number, columns: number, body?: Uint8Array, range: readonly [number, number] = FALLBACK_BOX_HU): Box | null {
  let x1 = columns;
  let y1 = rows;
  let x2 = -1;
  let y2 = -1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      if (body && !body[i]) continue;
      const v = hu[i];
      if (v < range[0] || v > range[1]) continue;
      if (c < x1) x1 = c;
      if (c > x2) x2 = c;
      if (r < y1) y1 = r;
      if (r > y2) y2 = r;
    }
  }
  return x2 < 0 ? null : { x1, y1, x2, y2 };
}
