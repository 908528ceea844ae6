/**
 * The trunk outline: everything denser than air, the patient table and the arms removed. Arms
 * lying apart are separate components; arms resting against the flank join the trunk only through
 * a thin skin bridge, which an opening cuts. Pixels are then given to whichever opened component
 * (trunk or arm) is nearer, so the cut follows the narrowest part of the bridge.
 */
import { connectedComponents, distanceToSet, erode, fillHoles } from '../image/morphology.ts';

/** Denser than lung and air: skin, fat, everything inside the body, the table. */
const BODY_HU = -400;
/** Half the width of the thickest bridge that is still cut: thicker than the table shell, thinner than the trunk. */
const OPEN_RADIUS_MM = 12;
/** An arm or table part is at least this large (smaller leftovers are cables, noise, sheets). */
const MIN_PART_MM2 = 400;

export interface BodyParts {
  /** Trunk: largest part, holes filled (lungs, bowel gas included). */
  trunk: Uint8Array;
  /** Other large soft-tissue parts (arms), outside the trunk. */
  arms: Uint8Array;
  armPixels: number;
}

export function bodyParts(smoothHu: Float32Array, rows: number, columns: number, spacing: [number, number]): BodyParts {
  const n = rows * columns;
  const dense = new Uint8Array(n);
  for (let i = 0; i < n; i++) dense[i] = smoothHu[i] > BODY_HU ? 1 : 0;
  const filled = fillHoles(dense, rows, columns);

  // Opening by distance: the core keeps pixels deeper than the radius.
  const core = erode(filled, rows, columns, spacing, OPEN_RADIUS_MM);
  const { labels, count, sizes } = connectedComponents(core, rows, columns);
  const trunk = new Uint8Array(n);
  const arms = new Uint8Array(n);
  if (count === 0) return { trunk, arms, armPixels: 0 };
  let best = 1;
  for (let l = 2; l <= count; l++) if (sizes[l] > sizes[best]) best = l;
  const pixelMm2 = spacing[0] * spacing[1];
  const trunkCore = new Uint8Array(n);
  const otherCore = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l === best) trunkCore[i] = 1;
    // The table is flat: its core is tiny or absent, so only arm-sized parts count as "other".
    else if (l && sizes[l] * pixelMm2 >= MIN_PART_MM2 / 4) otherCore[i] = 1;
  }
  const reach = OPEN_RADIUS_MM + 1.5 * Math.max(spacing[0], spacing[1]);
  // Exact up to `reach`: beyond it toTrunk fails the test whatever toOther is, and a toOther
  // beyond it (exact, or Infinity from distanceToSet) never beats a toTrunk within it.
  const toTrunk = distanceToSet(trunkCore, rows, columns, spacing, reach);
  const toOther = distanceToSet(otherCore, rows, columns, spacing, reach);
  for (let i = 0; i < n; i++) {
    if (!filled[i]) continue;
    if (toTrunk[i] <= reach && toTrunk[i] <= toOther[i]) trunk[i] = 1;
  }
  // Keep only the trunk's own connected piece (the nearest-core rule can leave slivers of the table).
  const parts = connectedComponents(trunk, rows, columns);
  let keep = 0;
  for (let l = 1; l <= parts.count; l++) if (keep === 0 || parts.sizes[l] > parts.sizes[keep]) keep = l;
  for (let i = 0; i < n; i++) trunk[i] = parts.labels[i] === keep && keep > 0 ? 1 : 0;
  const trunkFilled = fillHoles(trunk, rows, columns);

  // Arms: large non-trunk parts of the body that are not flat like the table (they have a core).
  const rest = new Uint8Array(n);
  for (let i = 0; i < n; i++) rest[i] = filled[i] && !trunkFilled[i] ? 1 : 0;
  const restParts = connectedComponents(rest, rows, columns);
  const hasCore = new Uint8Array(restParts.count + 1);
  for (let i = 0; i < n; i++) if (otherCore[i] && restParts.labels[i]) hasCore[restParts.labels[i]] = 1;
  let armPixels = 0;
  for (let i = 0; i < n; i++) {
    const l = restParts.labels[i];
    if (l && hasCore[l] && restParts.sizes[l] * pixelMm2 >= MIN_PART_MM2) {
      arms[i] = 1;
      armPixels++;
    }
  }
  return { trunk: trunkFilled, arms, armPixels };
}
