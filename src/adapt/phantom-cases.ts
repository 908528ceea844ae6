/**
 * Labelled slices from the seeded phantom (src/phantom) in the adaptation's input form: the
 * T12 slice (± a few slices) of a phantom with the given seed and patient position, with its
 * trunk-muscle truth as the reader's mask. Used by the tests and `npm run bench:adapt`.
 */
import { planPhantom, renderPhantomSlice, type PatientPosition } from '../phantom/index.ts';
import type { AdaptSlice } from './training-set.ts';

export interface PhantomCase {
  seed: number;
  orientation: PatientPosition;
  /** Slices above (+) or below (−) the T12 mid-body slice. */
  offset?: number;
  rows?: number;
}

export function phantomAdaptSlice({ seed, orientation, offset = 0, rows = 512 }: PhantomCase): AdaptSlice {
  const plan = planPhantom({ seed, orientation, arms: true, table: true, rows, columns: rows });
  const s = renderPhantomSlice(plan, plan.truth.t12.sliceIndex! + offset);
  return { id: `phantom-${orientation}-seed${seed}${offset ? `-${offset > 0 ? '+' : ''}${offset}` : ''}`, hu: s.hu, rows: s.rows, columns: s.columns, pixelSpacingMm: s.pixelSpacingMm, mask: s.muscleMask };
}
