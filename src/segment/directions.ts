/**
 * Anatomical directions inside the image plane, from the orientation cosines, so prone and
 * feet-first images are read the same way as head-first supine ones.
 */
import type { Vec3 } from './types.ts';

/**
 * Unit vector toward patient posterior in the image's millimetre frame (x along columns, y along
 * rows). LPS +y is posterior; a pixel step along a row moves by rowCosine, down a column by
 * columnCosine, so their y components are the in-plane posterior direction.
 */
export function posteriorInImage(rowCosine: Vec3, columnCosine: Vec3): [number, number] {
  const x = rowCosine[1];
  const y = columnCosine[1];
  const len = Math.hypot(x, y);
  // Not an axial slice (or no y component at all): fall back to the usual display convention.
  if (!(len > 1e-6)) return [0, 1];
  return [x / len, y / len];
}

/** Unit vector toward patient left (LPS +x) in the image's millimetre frame; [1, 0] when the slice has no x component. */
export function leftInImage(rowCosine: Vec3, columnCosine: Vec3): [number, number] {
  const x = rowCosine[0];
  const y = columnCosine[0];
  const len = Math.hypot(x, y);
  if (!(len > 1e-6)) return [1, 0];
  return [x / len, y / len];
}
