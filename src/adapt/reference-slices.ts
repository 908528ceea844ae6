/**
 * REF (the `validate` reference format, src/reference) → the adaptation's labelled slices: one
 * per case, the reader's slice with its mask. A case that cannot be read stops the adaptation
 * with its own typed error (E_REFERENCE_*): training on a silently shrunken set is worse.
 */
import { CtMuscleError } from '../errors.ts';
import { readReference, readReferenceCase } from '../reference/read-reference.ts';
import type { AdaptSlice } from './training-set.ts';

export async function readAdaptSlices(ref: string, onCase?: (id: string) => void): Promise<AdaptSlice[]> {
  const reference = await readReference(ref);
  if (reference.kind !== 'cases') {
    throw new CtMuscleError('E_REFERENCE_INVALID', `${ref} is a CSV of reader areas; adaptation needs the readers' masks (a folder of cases, docs/validation.md).`);
  }
  const slices: AdaptSlice[] = [];
  for (const { id, directory } of reference.cases) {
    const c = await readReferenceCase(directory);
    slices.push({ id, hu: c.hu, rows: c.geometry.rows, columns: c.geometry.columns, pixelSpacingMm: c.pixelSpacingMm, mask: c.mask });
    onCase?.(id);
  }
  return slices;
}
