/**
 * Names the bodies found along the column from two independent anchors: the lowest rib-bearing
 * vertebra (T12 when there are 12 rib pairs) and the sacrum (five lumbar vertebrae above it).
 * When both are in view they must agree; when they disagree the spine is transitional (11 or 13
 * rib pairs, 4 or 6 lumbar vertebrae) and the finder says so rather than picking one.
 */
import { CtMuscleError } from '../errors.ts';

export interface SegmentFacts {
  /** null: not judged. */
  bearsRibs: boolean | null;
  sacral: boolean;
}

export interface Identification {
  /** Index (inferior → superior, into the segments) of T12; may lie outside the segments. */
  t12Index: number;
  anchors: { ribs: string | null; sacrum: string | null };
  ribBearingCount: number;
  lumbarCount: number | null;
  sacrumIndex: number | null;
  warnings: string[];
  confidence: number;
}

/** Index of the lowest rib-bearing body of the rib-bearing run that starts at the top of the view, if a rib-free body follows it. */
function ribTransition(facts: SegmentFacts[]): { index: number | null; topRibFree: boolean; count: number } {
  let i = facts.length - 1;
  while (i >= 0 && facts[i].bearsRibs === null) i--;
  if (i < 0) return { index: null, topRibFree: false, count: 0 };
  if (facts[i].bearsRibs === false) return { index: null, topRibFree: true, count: 0 };
  let count = 0;
  while (i >= 0 && facts[i].bearsRibs === true) {
    count++;
    i--;
  }
  if (i < 0 || facts[i].bearsRibs !== false) return { index: null, topRibFree: false, count };
  return { index: i + 1, topRibFree: false, count };
}

function sacrumIndex(facts: SegmentFacts[]): number | null {
  // The highest sacral body with a free (non-sacral) body above it: S1.
  for (let i = facts.length - 2; i >= 0; i--) if (facts[i].sacral && !facts[i + 1].sacral) return i;
  return null;
}

export function identify(facts: SegmentFacts[]): Identification {
  const ribs = ribTransition(facts);
  const s1 = sacrumIndex(facts);
  const warnings: string[] = [];
  const fromRibs = ribs.index;
  const fromSacrum = s1 === null ? null : s1 + 6;
  const base = {
    anchors: {
      ribs: fromRibs === null ? null : 'lowest rib-bearing vertebra above a rib-free one',
      sacrum: s1 === null ? null : 'sacrum (S1) with five lumbar vertebrae above it',
    },
    ribBearingCount: ribs.count,
    sacrumIndex: s1,
  };
  if (fromRibs !== null && s1 !== null) {
    const lumbarCount = fromRibs - s1 - 1;
    if (lumbarCount !== 5) {
      throw new CtMuscleError(
        'E_LEVEL_AMBIGUOUS',
        `Transitional spine: ${lumbarCount} rib-free vertebrae lie between the lowest rib-bearing one and the sacrum (5 expected), ` +
          'so either the rib count (11 or 13 pairs) or the lumbar count differs from the norm and T12 cannot be named with certainty.',
        { lumbarCount, ribAnchorIndex: fromRibs, sacrumIndex: s1 },
      );
    }
    return { ...base, t12Index: fromRibs, lumbarCount, warnings, confidence: 0.95 };
  }
  if (fromRibs !== null) {
    warnings.push('T12 taken as the lowest rib-bearing vertebra; the sacrum is not in view, so 11 or 13 rib pairs (or a lumbar rib) could not be ruled out.');
    return { ...base, t12Index: fromRibs, lumbarCount: null, warnings, confidence: 0.75 };
  }
  if (fromSacrum !== null) {
    // Counting from the sacrum contradicts the ribs seen: a transitional spine.
    const t12Ribs = facts[fromSacrum]?.bearsRibs;
    const l1Ribs = facts[fromSacrum - 1]?.bearsRibs;
    if (t12Ribs === false || l1Ribs === true) {
      throw new CtMuscleError(
        'E_LEVEL_AMBIGUOUS',
        `Transitional spine: the sixth vertebra above the sacrum ${t12Ribs === false ? 'bears no ribs' : 'has a rib-bearing vertebra below it'}, ` +
          'so the rib count (11 or 13 pairs) or the lumbar count differs from the norm and T12 cannot be named with certainty.',
        { sacrumIndex: s1, countedT12Index: fromSacrum },
      );
    }
    warnings.push('T12 counted as the sixth vertebra above the sacrum; its ribs were not confirmed, so 4 or 6 lumbar vertebrae could not be ruled out.');
    return { ...base, t12Index: fromSacrum, lumbarCount: null, warnings, confidence: 0.7 };
  }
  if (ribs.topRibFree) {
    throw new CtMuscleError('E_LEVEL_NOT_IN_VIEW', 'No rib-bearing vertebra is in view: the field of view ends below the thoracolumbar junction.', {
      reason: 'all-rib-free',
    });
  }
  if (ribs.count > 0) {
    throw new CtMuscleError(
      'E_LEVEL_NOT_IN_VIEW',
      'Every judged vertebra bears ribs and no rib-free vertebra is in view below them: the field of view ends above the thoracolumbar junction.',
      { reason: 'all-rib-bearing', ribBearingCount: ribs.count },
    );
  }
  throw new CtMuscleError('E_LEVEL_AMBIGUOUS', 'Neither the ribs nor the sacrum could anchor the count of vertebrae.');
}
