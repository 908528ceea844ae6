/**
 * Phantom options: defaults and validation. Every option is checked up front with a message that
 * names the option and what is allowed, so a bad benchmark or test setup fails before any work.
 */
import { CtMuscleError } from '../errors.ts';
import { isVertebraName, VERTEBRA_NAMES, type VertebraName } from './levels.ts';

export type PatientPosition = 'HFS' | 'FFS' | 'HFP' | 'FFP';

export const PHANTOM_TRANSFER_SYNTAXES = {
  implicitVrLittleEndian: '1.2.840.10008.1.2',
  explicitVrLittleEndian: '1.2.840.10008.1.2.1',
  deflatedExplicitVrLittleEndian: '1.2.840.10008.1.2.1.99',
  explicitVrBigEndian: '1.2.840.10008.1.2.2',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
} as const;

const SUPPORTED_SYNTAXES: ReadonlySet<string> = new Set(Object.values(PHANTOM_TRANSFER_SYNTAXES));

export interface PhantomPatient {
  name?: string;
  id?: string;
  sex?: 'M' | 'F' | 'O';
  /** Metres (PatientSize). Scales the skeleton. */
  height?: number;
  /** Kilograms (PatientWeight). With height, sets the fat thickness (via BMI). */
  weight?: number;
  /** YYYYMMDD. */
  birthDate?: string;
}

export interface PhantomStudyInfo {
  studyInstanceUid?: string;
  studyDate?: string;
  studyTime?: string;
  studyId?: string;
  accessionNumber?: string;
  description?: string;
}

export interface PhantomSeriesInfo {
  seriesInstanceUid?: string;
  frameOfReferenceUid?: string;
  seriesNumber?: number;
  description?: string;
  convolutionKernel?: string;
}

export interface PhantomOptions {
  /** Seeds noise and the small anatomical variation between phantoms (default 1). */
  seed?: number;
  rows?: number;
  columns?: number;
  /** Reconstruction diameter (mm); pixel spacing = fieldOfViewMm / columns. */
  fieldOfViewMm?: number;
  sliceThicknessMm?: number;
  /** Distance between slice centres (default: the thickness). */
  sliceSpacingMm?: number;
  /** First (most inferior) slice at this vertebra's mid-body (default 'L3'). */
  fromLevel?: VertebraName;
  /** Last (most superior) slice at or below this vertebra's mid-body (default 'T9'). Not with sliceCount. */
  toLevel?: VertebraName;
  /** Exactly this many slices upward from fromLevel's mid-body, instead of toLevel. */
  sliceCount?: number;
  orientation?: PatientPosition;
  transferSyntaxUid?: string;
  ribPairs?: 11 | 12 | 13;
  arms?: boolean;
  table?: boolean;
  contrast?: boolean;
  /** Standard deviation of the (spatially correlated) noise in HU (default 12). */
  noiseSd?: number;
  /** 'signed': PixelRepresentation 1, intercept 0. 'unsigned': PixelRepresentation 0, intercept −1024. */
  storage?: 'signed' | 'unsigned';
  /** Stored value written outside the reconstruction circle (and as PixelPaddingValue); default none. */
  pixelPaddingValue?: number | null;
  patient?: PhantomPatient;
  study?: PhantomStudyInfo;
  series?: PhantomSeriesInfo;
}

export interface ResolvedPhantomOptions {
  seed: number;
  rows: number;
  columns: number;
  fieldOfViewMm: number;
  sliceThicknessMm: number;
  sliceSpacingMm: number;
  fromLevel: VertebraName;
  toLevel: VertebraName | null;
  sliceCount: number | null;
  orientation: PatientPosition;
  transferSyntaxUid: string;
  ribPairs: 11 | 12 | 13;
  arms: boolean;
  table: boolean;
  contrast: boolean;
  noiseSd: number;
  storage: 'signed' | 'unsigned';
  pixelPaddingValue: number | null;
  patient: Required<PhantomPatient>;
  study: PhantomStudyInfo;
  series: PhantomSeriesInfo;
}

const OPTION_KEYS = new Set([
  'seed', 'rows', 'columns', 'fieldOfViewMm', 'sliceThicknessMm', 'sliceSpacingMm', 'fromLevel', 'toLevel', 'sliceCount',
  'orientation', 'transferSyntaxUid', 'ribPairs', 'arms', 'table', 'contrast', 'noiseSd', 'storage', 'pixelPaddingValue',
  'patient', 'study', 'series',
]);

const MAX_SLICES = 5000;

function fail(message: string, details?: Record<string, unknown>): never {
  throw new CtMuscleError('E_PHANTOM_OPTIONS', message, details);
}

function integerIn(name: string, value: unknown, lo: number, hi: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < lo || value > hi) {
    fail(`Phantom option ${name} must be an integer from ${lo} to ${hi}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

function numberIn(name: string, value: unknown, lo: number, hi: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || value > hi) {
    fail(`Phantom option ${name} must be a number from ${lo} to ${hi}; got ${JSON.stringify(value)}.`);
  }
  return value;
}

function booleanOption(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(`Phantom option ${name} must be true or false; got ${JSON.stringify(value)}.`);
  return value;
}

function oneOf<T extends string | number>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    fail(`Phantom option ${name} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}; got ${JSON.stringify(value)}.`);
  }
  return value as T;
}

function level(name: string, value: unknown): VertebraName {
  if (!isVertebraName(value)) fail(`Phantom option ${name} must be a vertebra from ${VERTEBRA_NAMES[0]} to ${VERTEBRA_NAMES[VERTEBRA_NAMES.length - 1]} (e.g. 'L3'); got ${JSON.stringify(value)}.`);
  return value;
}

function text(name: string, value: unknown, pattern: RegExp, what: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) fail(`Phantom option ${name} must be ${what}; got ${JSON.stringify(value)}.`);
  return value;
}

const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;
const DATE_PATTERN = /^(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/;
const TIME_PATTERN = /^([01]\d|2[0-3])[0-5]\d[0-5]\d$/;

function uid(name: string, value: unknown): string {
  const result = text(name, value, UID_PATTERN, 'a DICOM UID (digits and dots)');
  if (result.length > 64) fail(`Phantom option ${name} must be at most 64 characters.`);
  return result;
}

/** A DICOM string value of at most `max` characters without backslashes or control characters. */
function dicomText(name: string, value: unknown, max: number): string {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length > max || /[\\\x00-\x1f]/.test(value)) {
    fail(`Phantom option ${name} must be text of at most ${max} characters without backslashes; got ${JSON.stringify(value)}.`);
  }
  return value;
}

function record(name: string, value: unknown, keys: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`Phantom option ${name} must be an object.`);
  const unknownKeys = Object.keys(value).filter((k) => !keys.includes(k));
  if (unknownKeys.length > 0) fail(`Unknown phantom option ${unknownKeys.map((k) => `${name}.${k}`).join(', ')}; known: ${keys.join(', ')}.`);
  return value as Record<string, unknown>;
}

function resolvePatient(value: unknown, seed: number): Required<PhantomPatient> {
  const given = record('patient', value, ['name', 'id', 'sex', 'height', 'weight', 'birthDate']);
  return {
    name: given.name === undefined ? 'PHANTOM^CT MUSCLE' : dicomText('patient.name', given.name, 64),
    id: given.id === undefined ? `PHANTOM-${seed}` : dicomText('patient.id', given.id, 64),
    sex: given.sex === undefined ? 'M' : oneOf('patient.sex', given.sex, ['M', 'F', 'O'] as const),
    height: given.height === undefined ? 1.75 : numberIn('patient.height (m)', given.height, 1.3, 2.2),
    weight: given.weight === undefined ? 75 : numberIn('patient.weight (kg)', given.weight, 35, 200),
    birthDate: given.birthDate === undefined ? '19650101' : text('patient.birthDate', given.birthDate, DATE_PATTERN, 'a date YYYYMMDD'),
  };
}

function resolveStudy(value: unknown): PhantomStudyInfo {
  const given = record('study', value, ['studyInstanceUid', 'studyDate', 'studyTime', 'studyId', 'accessionNumber', 'description']);
  const out: PhantomStudyInfo = {};
  if (given.studyInstanceUid !== undefined) out.studyInstanceUid = uid('study.studyInstanceUid', given.studyInstanceUid);
  if (given.studyDate !== undefined) out.studyDate = text('study.studyDate', given.studyDate, DATE_PATTERN, 'a date YYYYMMDD');
  if (given.studyTime !== undefined) out.studyTime = text('study.studyTime', given.studyTime, TIME_PATTERN, 'a time HHMMSS');
  if (given.studyId !== undefined) out.studyId = dicomText('study.studyId', given.studyId, 16);
  if (given.accessionNumber !== undefined) out.accessionNumber = dicomText('study.accessionNumber', given.accessionNumber, 16);
  if (given.description !== undefined) out.description = dicomText('study.description', given.description, 64);
  return out;
}

function resolveSeries(value: unknown): PhantomSeriesInfo {
  const given = record('series', value, ['seriesInstanceUid', 'frameOfReferenceUid', 'seriesNumber', 'description', 'convolutionKernel']);
  const out: PhantomSeriesInfo = {};
  if (given.seriesInstanceUid !== undefined) out.seriesInstanceUid = uid('series.seriesInstanceUid', given.seriesInstanceUid);
  if (given.frameOfReferenceUid !== undefined) out.frameOfReferenceUid = uid('series.frameOfReferenceUid', given.frameOfReferenceUid);
  if (given.seriesNumber !== undefined) out.seriesNumber = integerIn('series.seriesNumber', given.seriesNumber, 0, 99999);
  if (given.description !== undefined) out.description = dicomText('series.description', given.description, 64);
  if (given.convolutionKernel !== undefined) out.convolutionKernel = dicomText('series.convolutionKernel', given.convolutionKernel, 16);
  return out;
}

export function resolvePhantomOptions(options: PhantomOptions = {}): ResolvedPhantomOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) fail('Phantom options must be an object.');
  const unknownKeys = Object.keys(options).filter((k) => !OPTION_KEYS.has(k));
  if (unknownKeys.length > 0) fail(`Unknown phantom option(s) ${unknownKeys.join(', ')}; known: ${[...OPTION_KEYS].join(', ')}.`);
  const o = options as Record<string, unknown>;
  const given = (key: string) => o[key] !== undefined;

  const seed = given('seed') ? integerIn('seed', o.seed, 0, 2 ** 31 - 1) : 1;
  const columns = given('columns') ? integerIn('columns', o.columns, 64, 1024) : 256;
  const rows = given('rows') ? integerIn('rows', o.rows, 64, 1024) : columns;
  const fieldOfViewMm = given('fieldOfViewMm') ? numberIn('fieldOfViewMm', o.fieldOfViewMm, 100, 700) : 400;
  const sliceThicknessMm = given('sliceThicknessMm') ? numberIn('sliceThicknessMm', o.sliceThicknessMm, 0.1, 20) : 2.5;
  const sliceSpacingMm = given('sliceSpacingMm') ? numberIn('sliceSpacingMm', o.sliceSpacingMm, 0.1, 50) : sliceThicknessMm;
  const fromLevel = given('fromLevel') ? level('fromLevel', o.fromLevel) : 'L3';
  if (given('toLevel') && given('sliceCount')) fail('Give phantom option toLevel or sliceCount, not both.');
  const sliceCount = given('sliceCount') ? integerIn('sliceCount', o.sliceCount, 1, MAX_SLICES) : null;
  const toLevel = sliceCount !== null ? null : given('toLevel') ? level('toLevel', o.toLevel) : 'T9';
  if (toLevel !== null && VERTEBRA_NAMES.indexOf(toLevel) > VERTEBRA_NAMES.indexOf(fromLevel)) {
    fail(`Phantom option toLevel (${toLevel}) must be at or above fromLevel (${fromLevel}): slices run from fromLevel up to toLevel.`);
  }
  const orientation = given('orientation') ? oneOf('orientation', o.orientation, ['HFS', 'FFS', 'HFP', 'FFP'] as const) : 'HFS';
  let transferSyntaxUid: string = PHANTOM_TRANSFER_SYNTAXES.explicitVrLittleEndian;
  if (given('transferSyntaxUid')) {
    if (typeof o.transferSyntaxUid !== 'string' || !SUPPORTED_SYNTAXES.has(o.transferSyntaxUid)) {
      fail(
        `The phantom cannot write transfer syntax ${JSON.stringify(o.transferSyntaxUid)}; supported: ${[...SUPPORTED_SYNTAXES].join(', ')} ` +
          '(convert with dcmtk, e.g. dcmcrle or dcmcjpeg, for others).',
        { supported: [...SUPPORTED_SYNTAXES] },
      );
    }
    transferSyntaxUid = o.transferSyntaxUid;
  }
  const ribPairs = given('ribPairs') ? oneOf('ribPairs', o.ribPairs, [11, 12, 13] as const) : 12;
  const arms = given('arms') ? booleanOption('arms', o.arms) : false;
  const table = given('table') ? booleanOption('table', o.table) : true;
  const contrast = given('contrast') ? booleanOption('contrast', o.contrast) : false;
  const noiseSd = given('noiseSd') ? numberIn('noiseSd', o.noiseSd, 0, 200) : 12;
  const storage = given('storage') ? oneOf('storage', o.storage, ['signed', 'unsigned'] as const) : 'signed';
  let pixelPaddingValue: number | null = null;
  if (o.pixelPaddingValue !== undefined && o.pixelPaddingValue !== null) {
    pixelPaddingValue =
      storage === 'signed'
        ? integerIn('pixelPaddingValue (signed storage)', o.pixelPaddingValue, -32768, 32767)
        : // HU = stored − 1024 must fit the 16-bit HU arrays the core yields.
          integerIn('pixelPaddingValue (unsigned storage)', o.pixelPaddingValue, 0, 32767);
  }
  const resolved: ResolvedPhantomOptions = {
    seed,
    rows,
    columns,
    fieldOfViewMm,
    sliceThicknessMm,
    sliceSpacingMm,
    fromLevel,
    toLevel,
    sliceCount,
    orientation,
    transferSyntaxUid,
    ribPairs,
    arms,
    table,
    contrast,
    noiseSd,
    storage,
    pixelPaddingValue,
    patient: resolvePatient(o.patient, seed),
    study: resolveStudy(o.study),
    series: resolveSeries(o.series),
  };
  return resolved;
}
