/**
 * Value formatting for the attributes the writers fill. dcmjs writes whatever it is given; these
 * keep values inside their VR limits so a validator (and a strict PACS) accepts the file.
 */
import { CtMuscleError } from '../errors.ts';

/** DS: at most 16 characters. Shortest round-trip text first, then fewer significant digits. */
export function formatDs(value: number): string {
  if (!Number.isFinite(value)) throw new CtMuscleError('E_REPORT_INVALID', `A decimal string cannot hold ${value}.`);
  const plain = Object.is(value, -0) ? '0' : String(value);
  if (plain.length <= 16 && !plain.includes('e')) return plain;
  for (let digits = 15; digits >= 1; digits--) {
    const text = trimExponent(value.toPrecision(digits));
    if (text.length <= 16) return text;
  }
  throw new CtMuscleError('E_REPORT_INVALID', `${value} does not fit a decimal string.`);
}

function trimExponent(text: string): string {
  // toPrecision gives "1.20000e+21": drop trailing zeros of the mantissa, keep the exponent.
  const [mantissa, exponent] = text.split('e');
  const trimmed = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
  return exponent === undefined ? trimmed : `${trimmed}e${exponent}`;
}

/** A measurement rounded to the precision it is reported with (NUM NumericValue is DS). */
export function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  const rounded = Math.round(value * factor) / factor;
  return Object.is(rounded, -0) ? 0 : rounded;
}

/** LO/SH/LT-like strings: no control characters (backslash would split values), cut to the VR's maximum. */
export function clampText(text: string, maxLength: number): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\\]/g, ' ').trim();
  return clean.length <= maxLength ? clean : clean.slice(0, maxLength);
}

/** CS: upper case letters, digits, space and underscore, at most 16 characters. */
export function toCodeString(text: string): string {
  const cs = text.toUpperCase().replace(/[^A-Z0-9 _]/g, '_').slice(0, 16).trim();
  return cs === '' ? 'UNNAMED' : cs;
}

/** IS: a signed 32-bit integer. */
export function requireIntegerString(value: number, what: string): number {
  if (!Number.isInteger(value) || value < -(2 ** 31) || value > 2 ** 31 - 1) {
    throw new CtMuscleError('E_REPORT_INVALID', `${what} must be an integer within the signed 32-bit range; got ${value}.`);
  }
  return value;
}
