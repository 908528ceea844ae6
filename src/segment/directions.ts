/**
 * Anatomical directions inside the image plane, from the orientation cosines, so prone and
 * feet-first images are read the same way as head-first supine ones.
 */
import type { Vec3 } from './types.ts';

/**
 * The in-plane unit vector of LPS axis `axis` (0 = x, 1 = y) in the image's millimetre frame (x
 * along columns, y along rows): a pixel step along a row moves by rowCosine, down a column by
 * columnCosine, so their `axis` components give the direction. `fallback` when the slice has none.
 */
function inPlaneAxis(rowCosine: Vec3, columnCosine: Vec3, axis: 0 | 1, fallback: [number, number]): [number, number] {
  const x = rowCosine[axis];
  const y = columnCosine[axis];
  const len = Math.hypot(x, y);
  if (!(len > 1e-6)) return fallback;
  return [x / len, y / len];
}

/**
 * Unit vector toward patient posterior (LPS +y) in the image's millimetre frame. Not an axial
 * slice (or no y component at all): falls back to the usual display convention, [0, 1].
 */
export function posteriorInImage(rowCosine: Vec3, columnCosine: Vec3): [number, number] {
  return inPlaneAxis(rowCosine, columnCosine, 1, [0, 1]);
}

/** Unit vector toward patient left (LPS +x) in the image's millimetre frame; [1, 0] when the slice has no x component. */
export function leftInImage(rowCosine: Vec3, columnCosine: Vec3): [number, number] {
  return inPlaneAxis(rowCosine, columnCosine, 0, [1, 0]);
}
