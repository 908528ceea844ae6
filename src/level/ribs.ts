/**
 * Does a vertebra carry ribs? Judged at the costovertebral junction, not from any rib
 * cross-section in the slice: lower ribs run down and out, so a slice through L1 still cuts the
 * 11th and 12th ribs far out at the side. Within the body's height (the
 * rib head articulates in its upper part) bone is labelled in 3D; whatever touches the region beside the body and
 * pedicle belongs to this vertebra (its own rib or its transverse process). A rib carries that bone
 * far out sideways; a lumbar transverse process stops within about 45 mm of the canal.
 */
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

/**
 * The box round the canal searched for a vertebra's ribs: the slices of its body (with a canal), a
 * window of rows and columns, and per box slice where its voxels start in the stack and its canal centre.
 */
interface RibBox {
  slices: number[];
  x0: number;
  y0: number;
  w: number;
  hgt: number;
  sliceBase: Float64Array;
  canalX: Float64Array;
  canalY: Float64Array;
}

function ribBox(stack: WorkStack, track: ColumnTrack, segment: BodySegment): RibBox | null {
  const { width, height, mm, zMm } = stack;
  const slices: number[] = [];
  for (let k = 0; k < stack.depth; k++) if (zMm[k] >= segment.inferiorMm && zMm[k] <= segment.superiorMm && !Number.isNaN(track.canalX[k])) slices.push(k);
  if (slices.length === 0) return null;
  const cx = slices.reduce((s, k) => s + track.canalX[k], 0) / slices.length;
  const cy = slices.reduce((s, k) => s + track.canalY[k], 0) / slices.length;
  const x0 = Math.max(0, Math.round(cx - BOX_LATERAL_MM / mm));
  const x1 = Math.min(width - 1, Math.round(cx + BOX_LATERAL_MM / mm));
  const y0 = Math.max(0, Math.round(cy + BOX_AP_MM[0] / mm));
  const y1 = Math.min(height - 1, Math.round(cy + BOX_AP_MM[1] / mm));
  return {
    slices,
    x0,
    y0,
    w: x1 - x0 + 1,
    hgt: y1 - y0 + 1,
    sliceBase: Float64Array.from(slices, (k) => k * width * height),
    canalX: Float64Array.from(slices, (k) => track.canalX[k]),
    canalY: Float64Array.from(slices, (k) => track.canalY[k]),
  };
}

/** Which junction region box voxel (x, y) of box slice s lies in: 1 left, 2 right, 0 neither. */
function seedSide(box: RibBox, mm: number, s: number, x: number, y: number): number {
  const dy = (y + box.y0 - box.canalY[s]) * mm;
  if (dy < SEED_AP_MM[0] || dy > SEED_AP_MM[1]) return 0;
  const dx = (x + box.x0 - box.canalX[s]) * mm;
  const lateral = Math.abs(dx);
  if (lateral < SEED_LATERAL_MM[0] || lateral > SEED_LATERAL_MM[1]) return 0;
  // Working-grid columns run toward the patient's left.
  return dx > 0 ? 1 : 2;
}

/**
 * Bone (≥ RIB_BONE_HU, inside the body) in the box, 1 a voxel, in a copy of the box one voxel
 * wider on every side (slices too), whose border stays 0: a neighbour is then always an index away.
 */
function boneInBox(stack: WorkStack, box: RibBox): Uint8Array {
  const { w, hgt } = box;
  const d = box.slices.length;
  const W = w + 2;
  const H = hgt + 2;
  const bone = new Uint8Array(W * H * (d + 2));
  const { hu, body, width } = stack;
  for (let s = 0; s < d; s++) {
    for (let y = 0; y < hgt; y++) {
      const from = box.sliceBase[s] + (y + box.y0) * width + box.x0;
      for (let x = 0, p = from, q = ((s + 1) * H + y + 1) * W + 1; x < w; x++, p++, q++) {
        if (hu[p] >= RIB_BONE_HU && inBody(body, p)) bone[q] = 1;
      }
    }
  }
  return bone;
}

/**
 * Lateral reach (mm) on each side of bone joined to this vertebra's costovertebral region.
 *
 * Bone in the box is taken in 3D pieces, 4-connected within a slice and 3×3-connected to the
 * neighbouring slices (as `label3d` joins them), so a rib running obliquely through thick slices
 * stays one piece. Only pieces touching a junction region count, so only those are followed, from
 * their voxels there: the rest of the box's bone is never labelled.
 */
export function ribReach(stack: WorkStack, track: ColumnTrack, segment: BodySegment): RibJudgement | null {
  const box = ribBox(stack, track, segment);
  if (!box) return null;
  const { w, hgt } = box;
  const d = box.slices.length;
  const mm = stack.mm;
  const W = w + 2;
  const H = hgt + 2;
  // Per padded box voxel: 0 not bone, 1 bone, 2 bone of a piece already followed.
  const bone = boneInBox(stack, box);
  let left = 0;
  let right = 0;
  for (let s = 0; s < d; s++) {
    // The junction regions' rows and columns, a pixel wider than the exact test (`seedSide`), which decides.
    const ya = Math.max(0, Math.floor(box.canalY[s] - box.y0 + SEED_AP_MM[0] / mm) - 1);
    const yb = Math.min(hgt - 1, Math.ceil(box.canalY[s] - box.y0 + SEED_AP_MM[1] / mm) + 1);
    const xa = Math.max(0, Math.floor(box.canalX[s] - box.x0 - SEED_LATERAL_MM[1] / mm) - 1);
    const xb = Math.min(w - 1, Math.ceil(box.canalX[s] - box.x0 + SEED_LATERAL_MM[1] / mm) + 1);
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const q = ((s + 1) * H + y + 1) * W + x + 1;
        if (bone[q] !== 1 || seedSide(box, mm, s, x, y) === 0) continue;
        const piece = followPiece(box, mm, q, bone);
        if (piece.seededLeft) left = Math.max(left, piece.left);
        if (piece.seededRight) right = Math.max(right, piece.right);
      }
    }
  }
  return { left: Math.round(left * 10) / 10, right: Math.round(right * 10) / 10 };
}

interface Piece {
  seededLeft: boolean;
  seededRight: boolean;
  /** How far (mm) the piece reaches to the left and to the right of the canal centre of each of its slices. */
  left: number;
  right: number;
}

/** Pushes onto `stack` the first voxel of each run of unfollowed bone (1) among padded box voxels [from, to]. */
function pushRunStarts(bone: Uint8Array, from: number, to: number, stack: number[]): void {
  for (let n = from; n <= to; n++) if (bone[n] === 1 && (n === from || bone[n - 1] !== 1)) stack.push(n);
}

/**
 * The 3D piece of bone holding padded box voxel `start` (1 in `bone`), marked 2 there. Followed a
 * run (a row's stretch of bone) at a time: a run's reach to each side is that of its end voxels
 * (dx grows with x), and its neighbours are the same columns in the rows above and below and one
 * column wider in the three rows of each neighbouring slice.
 */
function followPiece(box: RibBox, mm: number, start: number, bone: Uint8Array): Piece {
  const W = box.w + 2;
  const plane = W * (box.hgt + 2);
  const piece: Piece = { seededLeft: false, seededRight: false, left: 0, right: 0 };
  const stack = [start];
  while (stack.length > 0) {
    const q = stack.pop()!;
    if (bone[q] !== 1) continue;
    let a = q;
    let b = q;
    while (bone[a - 1] === 1) a--;
    while (bone[b + 1] === 1) b++;
    bone.fill(2, a, b + 1);
    const xa = (a % W) - 1;
    const xb = xa + (b - a);
    const row = (a - xa - 1) / W;
    const y = (row % (box.hgt + 2)) - 1;
    const s = (row - y - 1) / (box.hgt + 2) - 1;
    const dxHigh = (xb + box.x0 - box.canalX[s]) * mm;
    const dxLow = (xa + box.x0 - box.canalX[s]) * mm;
    if (dxHigh > 0) piece.left = Math.max(piece.left, dxHigh);
    if (dxLow < 0) piece.right = Math.max(piece.right, -dxLow);
    markSeeds(box, mm, s, y, xa, xb, piece);
    pushRunStarts(bone, a - W, b - W, stack);
    pushRunStarts(bone, a + W, b + W, stack);
    for (const dz of [-plane, plane]) for (const dy of [-W, 0, W]) pushRunStarts(bone, a + dz + dy - 1, b + dz + dy + 1, stack);
  }
  return piece;
}

/** Notes which junction regions the run [xa, xb] of row y, box slice s, reaches into. */
function markSeeds(box: RibBox, mm: number, s: number, y: number, xa: number, xb: number, piece: Piece): void {
  const dy = (y + box.y0 - box.canalY[s]) * mm;
  if (dy < SEED_AP_MM[0] || dy > SEED_AP_MM[1]) return;
  for (let x = xa; x <= xb && !(piece.seededLeft && piece.seededRight); x++) {
    const side = seedSide(box, mm, s, x, y);
    if (side === 1) piece.seededLeft = true;
    if (side === 2) piece.seededRight = true;
  }
}

export function bearsRibs(reach: RibJudgement): boolean {
  return reach.left >= RIB_REACH_MM || reach.right >= RIB_REACH_MM;
}
