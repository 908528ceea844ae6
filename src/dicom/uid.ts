/**
 * DICOM UIDs (PS3.5 §9.1): at most 64 characters, components of digits separated by dots, no
 * empty component, no leading zero in a component of more than one digit. Invalid UIDs are
 * refused, never repaired: stripping characters (as dcmjs does when it formats a UI value) can
 * turn two different identifiers into one and let one instance overwrite another.
 */
import { CtMuscleError } from '../errors.ts';

const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;
export const MAX_UID_LENGTH = 64;

export function isValidUid(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_UID_LENGTH && UID_PATTERN.test(value);
}

/** Why a UID is invalid, in words (for error messages); null when it is valid. */
export function uidProblem(value: string): string | null {
  if (value.length === 0) return 'it is empty';
  if (value.length > MAX_UID_LENGTH) return `it has ${value.length} characters (at most ${MAX_UID_LENGTH})`;
  if (/[^0-9.]/.test(value)) return 'it holds characters other than digits and dots';
  if (value.split('.').some((c) => c === '')) return 'it has an empty component';
  if (!UID_PATTERN.test(value)) return 'a component has a leading zero';
  return null;
}

/** A printable, bounded rendering of a refused value (control characters escaped) for messages. */
export function quoteForMessage(value: string): string {
  const shown = value.length > 70 ? `${value.slice(0, 70)}…` : value;
  return JSON.stringify(shown);
}

/** The UID itself, or E_INVALID_UID naming the attribute and the reason. */
export function requireValidUid(value: string, attribute: string): string {
  const problem = uidProblem(value);
  if (problem !== null) throw new CtMuscleError('E_INVALID_UID', `${attribute} ${quoteForMessage(value)} is not a valid DICOM UID: ${problem} (PS3.5 9.1).`, { attribute });
  return value;
}

/**
 * The one way a UID becomes a file or folder name (spool, `analyze --out DIR/<StudyUID>`): only
 * a valid UID passes, so `..`, `/`, empty or over-long names can never reach a path.
 */
export function uidPathSegment(value: string, attribute: string): string {
  return requireValidUid(value, attribute);
}
