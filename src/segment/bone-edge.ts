/**
 * Partial volume at bone edges. A pixel that straddles rib or lamina cortex and muscle averages
 * to 80–150 HU, inside the paper's −29..150 HU muscle range, so the HU rule keeps it. Muscle
 * itself stays below ~70 HU with or without contrast, so a pixel next to bone and at least
 * PARTIAL_VOLUME_HU dense is bone edge, not muscle. Against TotalSegmentator on example_ct_sm
 * (30 slices) such pixels are ~1 reference pixel for 9 others; in the phantom (sharp edges,
 * 12 HU noise) muscle never reaches it.
 */

/** Raw HU from which a pixel touching bone counts as partial volume with it. */
export const PARTIAL_VOLUME_HU = 100;
/** Raw HU of bone (cortex and cancellous bone of ribs and vertebrae). */
const BONE_HU = 200;

/** Clear (in place) band pixels at least PARTIAL_VOLUME_HU with an 8-neighbour at bone density; returns how many. */
export function clearBoneEdge(band: Uint8Array, hu: Int16Array, rows: number, columns: number, threshold = PARTIAL_VOLUME_HU): number {
  let cleared = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      if (!band[i] || hu[i] < threshold || hu[i] >= BONE_HU) continue;
      let touches = false;
      for (let dr = -1; dr <= 1 && !touches; dr++) {
        const rr = r + dr;
        if (rr < 0 || rr >= rows) continue;
        for (let dc = -1; dc <= 1; dc++) {
          const cc = c + dc;
          if (cc >= 0 && cc < columns && hu[rr * columns + cc] >= BONE_HU) {
            touches = true;
            break;
          }
        }
      }
      if (touches) {
        band[i] = 0;
        cleared++;
      }
    }
  }
  return cleared;
}
