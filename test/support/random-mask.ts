/** Random binary masks for testing image code against a reference implementation. */
import { createRng } from '../../src/phantom/random.ts';

/**
 * A blobby mask: thresholded smooth noise (3×3 mean), so regions of many shapes and sizes; with
 * `salt`, the raw noise thresholded instead (isolated pixels).
 */
export function blobMask(seed: number, rows: number, columns: number, density: number, salt = false): Uint8Array {
  const rng = createRng(seed);
  const noise = Float64Array.from({ length: rows * columns }, () => rng.next());
  const mask = new Uint8Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      let sum = 0;
      for (let dr = -1; dr <= 1; dr++) for (let dc = -1; dc <= 1; dc++) sum += noise[Math.min(rows - 1, Math.max(0, r + dr)) * columns + Math.min(columns - 1, Math.max(0, c + dc))];
      mask[r * columns + c] = (salt ? noise[r * columns + c] : sum / 9) < density ? 1 : 0;
    }
  }
  return mask;
}
