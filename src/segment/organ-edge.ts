/**
 * Partial volume at the edge of an enhancing organ. With IV contrast the liver, spleen, kidneys
 * and vessels are 60–150 HU brighter than muscle; a pixel that straddles such an organ and the
 * muscle beside it (the wall against the liver, the crus against the aorta) averages to a value
 * inside the paper's −29..150 HU range and is kept by the HU rule. Such a pixel is both brighter
 * than the slice's muscle and touches tissue brighter still that is not in the mask: it is the
 * organ's edge, not muscle; so is a costal-cartilage pixel inside the muscle range. Measured
 * against TotalSegmentator on example_ct_sm (30 slices): mean Dice 0.859 → 0.866, no slice worse
 * by more than 0.002; without contrast the organs stay within ~15 HU of muscle and only
 * cartilage qualifies (docs/segmentation.md).
 */

/** A mask pixel this much brighter than the mask's median HU may be organ partial volume... */
export const BRIGHTER_PIXEL_HU = 25;
/** ...when it touches a non-mask pixel this much brighter than the median (and below bone). */
export const BRIGHTER_NEIGHBOUR_HU = 45;
/** Bone partial volume is the bone-edge rule's (bone-edge.ts): neighbours from here up are not organ. */
const BONE_HU = 300;

/** Median HU of the mask's pixels (a histogram: the values are whole HU within a known range); null for an empty mask. */
export function maskMedianHu(mask: Uint8Array, hu: Int16Array): number | null {
  const offset = 1024;
  const histogram = new Uint32Array(4096);
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    histogram[Math.max(0, Math.min(4095, hu[i] + offset))]++;
    n++;
  }
  if (n === 0) return null;
  let seen = 0;
  for (let v = 0; v < histogram.length; v++) {
    seen += histogram[v];
    if (seen * 2 > n) return v - offset;
  }
  return null;
}

/** Clear (in place) mask pixels at the edge of an enhancing organ (one pixel deep); returns how many. */
export function clearOrganEdge(mask: Uint8Array, hu: Int16Array, rows: number, columns: number): number {
  const median = maskMedianHu(mask, hu);
  if (median === null) return 0;
  const pixelFloor = median + BRIGHTER_PIXEL_HU;
  const neighbourFloor = median + BRIGHTER_NEIGHBOUR_HU;
  const edge: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      if (!mask[i] || hu[i] < pixelFloor) continue;
      let touches = false;
      for (let dr = -1; dr <= 1 && !touches; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          const rr = r + dr;
          const cc = c + dc;
          if (rr < 0 || cc < 0 || rr >= rows || cc >= columns) continue;
          const j = rr * columns + cc;
          if (!mask[j] && hu[j] >= neighbourFloor && hu[j] < BONE_HU) {
            touches = true;
            break;
          }
        }
      }
      if (touches) edge.push(i);
    }
  }
  // Judged on the mask as it was: clearing one pixel does not expose the next.
  for (const i of edge) mask[i] = 0;
  return edge.length;
}
