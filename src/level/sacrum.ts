/**
 * The sacrum: a body with wide, thick alae at its own front-to-back level, reaching out to the
 * sacroiliac joints. Lumbar transverse processes also stick out sideways, but they are thin bars at
 * the level of the canal, so an area threshold per side, at the level of the body, tells them apart.
 */
import { BONE_HU, type ColumnTrack } from './column.ts';
import type { BodySegment } from './discs.ts';
import { inBody, type WorkStack } from './stack.ts';

const ALA_LATERAL_MM: [number, number] = [28, 60];
const ALA_AP_MM: [number, number] = [-35, -2];
const ALA_MIN_AREA_MM2 = 250;
const SACRAL_SLICE_FRACTION = 0.4;

export function alaeAt(stack: WorkStack, track: ColumnTrack, k: number): boolean {
  const { width, height, mm } = stack;
  const cx = track.canalX[k];
  const cy = track.canalY[k];
  if (Number.isNaN(cx)) return false;
  const plane = width * height;
  const base = k * plane;
  let left = 0;
  let right = 0;
  const y0 = Math.max(0, Math.round(cy + ALA_AP_MM[0] / mm));
  const y1 = Math.min(height - 1, Math.round(cy + ALA_AP_MM[1] / mm));
  const xr = Math.round(ALA_LATERAL_MM[1] / mm);
  for (let y = y0; y <= y1; y++) {
    for (let x = Math.max(0, Math.round(cx) - xr); x <= Math.min(width - 1, Math.round(cx) + xr); x++) {
      const dx = (x - cx) * mm;
      if (Math.abs(dx) < ALA_LATERAL_MM[0]) continue;
      if (stack.hu[base + y * width + x] < BONE_HU || !inBody(stack.body, base + y * width + x)) continue;
      if (dx > 0) left++;
      else right++;
    }
  }
  const area = mm * mm;
  return left * area >= ALA_MIN_AREA_MM2 && right * area >= ALA_MIN_AREA_MM2;
}

export function isSacral(stack: WorkStack, track: ColumnTrack, segment: BodySegment): boolean {
  let n = 0;
  let hits = 0;
  for (let k = 0; k < stack.depth; k++) {
    const z = stack.zMm[k];
    if (z < segment.inferiorMm || z > segment.superiorMm) continue;
    n++;
    if (alaeAt(stack, track, k)) hits++;
  }
  return n > 0 && hits / n >= SACRAL_SLICE_FRACTION;
}
