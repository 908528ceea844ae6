/**
 * Patient and study values copied from a source instance into the node's own SEG/SR, made valid
 * for their VR instead of failing the write: too long → cut to the VR's maximum (PS3.5 Table
 * 6.2-1), malformed dates, times, ages and numbers → left out (a Type 2 attribute is then written
 * empty, which PS3.3 allows when the value is unknown), control characters → removed. A source
 * with a 70-character PatientName must still get its result; the copy is never better than the
 * source, only never worse than the standard.
 */
import dcmjs from 'dcmjs';
import type { NaturalDataset } from '../dicom/types.ts';

/** Maximum characters per value (PN: per component group). */
const MAX_CHARS: Readonly<Record<string, number>> = {
  AE: 16, AS: 4, CS: 16, DA: 8, DS: 16, DT: 26, IS: 12, LO: 64, LT: 10240, PN: 64, SH: 16, ST: 1024, TM: 14, UI: 64,
};
/** Values that must also have a form: anything else is left out rather than guessed. */
const FORMAT: Readonly<Record<string, RegExp>> = {
  AS: /^\d{3}[DWMY]$/,
  CS: /^[A-Z0-9 _]*$/,
  DA: /^\d{8}$/,
  DS: /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/,
  IS: /^[+-]?\d+$/,
  TM: /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/,
  UI: /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/,
};
const TEXT_VRS = new Set(['LT', 'ST', 'UT']);

const nameMap = (dcmjs.data.DicomMetaDictionary as unknown as { nameMap: Record<string, { vr?: string }> }).nameMap;

export function vrOfKeyword(keyword: string): string | undefined {
  return nameMap[keyword]?.vr;
}

function cleanText(text: string, vr: string): string {
  // Text VRs may hold line breaks and tabs; no VR may hold other control characters (ESC starts ISO 2022 escapes).
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  const cleaned = TEXT_VRS.has(vr) ? text.replace(/[\u0000-\u0008\u000b\u000e-\u001a\u001c-\u001f\u007f]/g, '') : text.replace(/[\u0000-\u001a\u001c-\u001f\u007f]/g, '');
  return cleaned.trim();
}

/** One string value made valid for its VR, or undefined when it has to be left out. */
export function lenientString(value: string, vr: string): string | undefined {
  let text = cleanText(value, vr);
  const max = MAX_CHARS[vr];
  if (max !== undefined && text.length > max) text = text.slice(0, max).trimEnd();
  if (text === '') return undefined;
  const format = FORMAT[vr];
  return format && !format.test(text) ? undefined : text;
}

function lenientPersonName(value: unknown): unknown {
  if (typeof value === 'string') {
    // Component groups (alphabetic=ideographic=phonetic) are limited separately.
    const groups = value.split('=').map((g) => lenientString(g, 'PN') ?? '');
    const joined = groups.join('=').replace(/=+$/, '');
    return joined === '' ? undefined : joined;
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, string> = {};
    for (const [group, text] of Object.entries(value as Record<string, unknown>)) {
      const cleaned = typeof text === 'string' ? lenientString(text, 'PN') : undefined;
      if (cleaned !== undefined) out[group] = cleaned;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }
  return undefined;
}

function lenientScalar(value: unknown, vr: string): unknown {
  if (vr === 'PN') return lenientPersonName(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    // A number must also fit its string VR once written (16 characters for DS, 12 for IS).
    return MAX_CHARS[vr] === undefined || lenientString(String(value), vr) === String(value) ? value : undefined;
  }
  if (typeof value === 'string') return lenientString(value, vr);
  return value;
}

/** A naturalized value made valid for its VR; undefined when nothing valid is left. */
export function lenientValue(value: unknown, vr: string | undefined): unknown {
  if (value === undefined || value === null || vr === undefined) return value ?? undefined;
  if (vr === 'SQ') return Array.isArray(value) ? value.map((item) => lenientDataset(item as NaturalDataset)) : undefined;
  if (!Array.isArray(value)) return lenientScalar(value, vr);
  const kept = value.map((v) => lenientScalar(v, vr)).filter((v) => v !== undefined);
  return kept.length === 0 ? undefined : kept;
}

/** Every attribute of a (sequence item) dataset made valid; attributes with nothing valid left are dropped. */
export function lenientDataset(dataset: NaturalDataset): NaturalDataset {
  const out: NaturalDataset = {};
  for (const [keyword, value] of Object.entries(dataset)) {
    if (keyword === '_vrMap') continue;
    const cleaned = lenientValue(value, vrOfKeyword(keyword));
    if (cleaned !== undefined) out[keyword] = cleaned;
  }
  return out;
}
