/**
 * Does a vertebra carry ribs? Judged at the costovertebral junction, not from any rib
 * cross-section in the slice: lower ribs run down and out, so a slice through L1 still cuts the
 * 11th and 12th ribs far out at the side. Within the body's height (the
 * rib head articulates in its upper part) bone is labelled in 3D; whatever touches the region beside the body and
 * pedicle belongs to this vertebra (its own rib or its transverse process). A rib carries that bone
 * far out sideways; a lumbar transverse process stops within about 45 mm of the canal.
 */
import { label3d } from '../image/morphology.ts';
import type { ColumnTrack } from './column.ts';
import type { BodySegment } from './discs.ts';
import { inBody, type WorkStack } from './stack.ts';

export const RIB_BONE_HU = 220;
/** Bone joined to the junction reaching this far from the canal centre is a rib. */
export const RIB_REACH_MM = 56;
const SEED_LATERAL_MM: [number, number] = [8, 35];
const SEED_AP_MM: [number, number] = [-30, 8];
const BOX_LATERAL_MM = 110;
const BOX_AP_MM: [number, number] = [-60, 50];

export interface RibJudgement {
  left: number;
  right: number;
}

/** Lateral reach (mm) on each side of bone joined to this vertebra's costovertebral region. */
export function ribReach(stack: WorkStack, track: ColumnTrack, segment: BodySegment): RibJudgement | null {
  const { width, height, mm, zMm } = stack;
  const plane = width * height;
  const zLo = segment.inferiorMm;
  const zHi = segment.superiorMm;
  const slices: number[] = [];
  for (let k = 0; k < stack.depth; k++) if (zMm[k] >= zLo && zMm[k] <= zHi && !Number.isNaN(track.canalX[k])) slices.push(k);
  if (slices.length === 0) return null;
  const cx = slices.reduce((s, k) => s + track.canalX[k], 0) / slices.length;
  const cy = slices.reduce((s, k) => s + track.canalY[k], 0) / slices.length;
  const x0 = Math.max(0, Math.round(cx - BOX_LATERAL_MM / mm));
  const x1 = Math.min(width - 1, Math.round(cx + BOX_LATERAL_MM / mm));
  const y0 = Math.max(0, Math.round(cy + BOX_AP_MM[0] / mm));
  const y1 = Math.min(height - 1, Math.round(cy + BOX_AP_MM[1] / mm));
  const w = x1 - x0 + 1;
  const hgt = y1 - y0 + 1;
  const d = slices.length;
  const mask = new Uint8Array(w * hgt * d);
  for (let s = 0; s < d; s++) {
    const base = slices[s] * plane;
    for (let y = 0; y < hgt; y++) {
      for (let x = 0; x < w; x++) {
        const p = base + (y + y0) * width + x + x0;
        if (stack.hu[p] >= RIB_BONE_HU && inBody(stack.body, p)) mask[(s * hgt + y) * w + x] = 1;
      }
    }
  }
  const { labels, count } = label3d(mask, w, hgt, d);
  if (count === 0) return { left: 0, right: 0 };
  // Per side: components touching that side's junction region.
  const seededLeft = new Uint8Array(count + 1);
  const seededRight = new Uint8Array(count + 1);
  for (let s = 0; s < d; s++) {
    const ccx = track.canalX[slices[s]];
    const ccy = track.canalY[slices[s]];
    for (let y = 0; y < hgt; y++) {
      const dy = (y + y0 - ccy) * mm;
      if (dy < SEED_AP_MM[0] || dy > SEED_AP_MM[1]) continue;
      for (let x = 0; x < w; x++) {
        const l = labels[(s * hgt + y) * w + x];
        if (!l) continue;
        const dx = (x + x0 - ccx) * mm;
        const lateral = Math.abs(dx);
        if (lateral < SEED_LATERAL_MM[0] || lateral > SEED_LATERAL_MM[1]) continue;
        // Working-grid columns run toward the patient's left.
        if (dx > 0) seededLeft[l] = 1;
        else seededRight[l] = 1;
      }
    }
  }
  let left = 0;
  let right = 0;
  for (let s = 0; s < d; s++) {
    const ccx = track.canalX[slices[s]];
    for (let y = 0; y < hgt; y++) {
      for (let x = 0; x < w; x++) {
        const l = labels[(s * hgt + y) * w + x];
        if (!l) continue;
        const dx = (x + x0 - ccx) * mm;
        if (dx > 0 && seededLeft[l]) left = Math.max(left, dx);
        if (dx < 0 && seededRight[l]) right = Math.max(right, -dx);
      }
    }
  }
  return { left: Math.round(left * 10) / 10, right: Math.round(right * 10) / 10 };
}

export function bearsRibs(reach: RibJudgement): boolean {
  return reach.left >= RIB_REACH_MM || reach.right >= RIB_REACH_MM;
}
