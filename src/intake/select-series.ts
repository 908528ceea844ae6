/**
 * Picks the CT series of a study to analyse. Every series goes through an ordered list of
 * rejection rules; the first rule that rejects it gives its reason, so each rejected series has
 * one clear sentence. The survivors are ranked (kernel, coverage, thickness, slice count,
 * SeriesNumber, UID) and the winner's reasons say why it beat each other eligible series.
 *
 * Everything here reads the header-only SeriesSummary: no pixels are decoded to choose.
 */
import { CtMuscleError } from '../errors.ts';
import { BLOCKING_ISSUES } from '../dicom/geometry.ts';
import type { GeometryIssueKind, SeriesSummary } from '../dicom/types.ts';
import { classifySeriesKernel, describeKernel, kernelPreference, type KernelClassification } from './kernels.ts';

export interface SelectionRules {
  /** Modality the series must have (upper case). */
  modality: string;
  /** Largest accepted angle between the slice normal and the head-foot axis, degrees (0-90). */
  maxAxialTiltDeg: number;
  /** ImageType values that must all be present (upper case); empty accepts any ImageType. */
  requireImageType: readonly string[];
  /** Reject DERIVED/SECONDARY images and reformats (MPR, MIP, …) even when requireImageType allows them. */
  excludeDerived: boolean;
  /**
   * Fewest instances a series may have. 1 by default: a user may legitimately send the single
   * slice they want measured, and localizers are recognised by ImageType and description instead.
   */
  minSlices: number;
  /** Accepted [min, max] slice thickness in mm, inclusive. */
  sliceThicknessMm: readonly [number, number];
  /** Accept series without SliceThickness (noted, and ranked after series whose thickness is known). */
  acceptUnknownThickness: boolean;
  /** Manufacturer / SoftwareVersions value this node writes; series carrying it are our own outputs. */
  ownManufacturer: string;
  /** Geometry issues that make a series unusable as one volume. */
  blockingIssues: readonly GeometryIssueKind[];
  /** Coverage (mm) within this of the best eligible series counts as equal, so slightly different reconstruction ranges do not outrank thinner slices. */
  coverageToleranceMm: number;
}

export const DEFAULT_SELECTION_RULES: Readonly<SelectionRules> = Object.freeze({
  modality: 'CT',
  maxAxialTiltDeg: 15,
  requireImageType: Object.freeze(['ORIGINAL', 'PRIMARY']),
  excludeDerived: true,
  minSlices: 1,
  sliceThicknessMm: Object.freeze([0.5, 5] as [number, number]),
  acceptUnknownThickness: true,
  ownManufacturer: 'ct-muscle-node',
  blockingIssues: BLOCKING_ISSUES,
  coverageToleranceMm: 10,
});

export interface SelectionContext {
  /** LPS z range [inferior, superior] (mm) that must be imaged, e.g. around an expected T12 level. */
  targetZRangeMm?: [number, number];
}

export interface SelectionCandidate {
  seriesInstanceUid: string;
  eligible: boolean;
  /** Short sentences: why it was rejected, or notes and why it ranked where it did. */
  reasons: string[];
  /** 1 = selected; only for eligible series. */
  rank?: number;
}

export interface SelectionResult {
  selected: SeriesSummary | null;
  /** One entry per input summary, in input order. */
  candidates: SelectionCandidate[];
}

// ---------------------------------------------------------------------------------------------
// Rejection rules

const SOP_CLASS = {
  secondaryCapture: '1.2.840.10008.5.1.4.1.1.7',
  structuredReport: '1.2.840.10008.5.1.4.1.1.88',
} as const;

// Prefixes match on whole UID components, so ".1.7" does not swallow ".1.77" (VL images).
const NON_IMAGE_SOP_CLASSES: ReadonlyArray<[prefix: string, name: string]> = [
  ['1.2.840.10008.5.1.4.1.1.66.4', 'Segmentation'],
  ['1.2.840.10008.5.1.4.1.1.66.5', 'Surface Segmentation'],
  ['1.2.840.10008.5.1.4.1.1.66', 'Raw Data / Registration / Fiducials'],
  ['1.2.840.10008.5.1.4.1.1.481', 'Radiotherapy object'],
  ['1.2.840.10008.5.1.4.1.1.11', 'Presentation State'],
  ['1.2.840.10008.5.1.4.1.1.104', 'Encapsulated Document'],
  ['1.2.840.10008.5.1.4.1.1.9', 'Waveform'],
  ['1.2.840.10008.5.1.4.1.1.200', 'Protocol / Parameters'],
];

const LOCALIZER_DESCRIPTION = /\b(scouts?|topogram\w*|surview|scanogram|locali[sz]er\w*)\b/i;
const DOSE_DESCRIPTION = /\b(dose\s*(report|info\w*|summary|record)|patient\s*protocol)\b/i;
const REFORMAT_IMAGE_TYPES = ['MPR', 'MIP', 'MINIP', 'REFORMATTED', 'PROJECTION IMAGE', 'VOLUME RENDERING', 'VRT', 'CURVED'];
const REFORMAT_DESCRIPTION = /\b(mpr|mip|minip|reformat\w*|vrt|volume\s*render\w*|curved)\b/i;

function uidHasPrefix(uid: string, prefix: string): boolean {
  return uid === prefix || uid.startsWith(`${prefix}.`);
}

function seriesImageType(series: SeriesSummary): string[] {
  return series.imageType.map((value) => value.trim().toUpperCase());
}

function listOrNone(values: readonly string[]): string {
  return values.length > 0 ? values.join(', ') : 'none';
}

function formatNumber(value: number): string {
  return String(Number(value.toFixed(2)));
}

/** A rule returns the rejection sentence, or null when the series passes. */
type RejectionRule = (series: SeriesSummary, rules: SelectionRules) => string | null;

function matchesOwnName(value: string | undefined, ownName: string): boolean {
  if (value === undefined) return false;
  const normalized = value.trim().toLowerCase();
  const own = ownName.trim().toLowerCase();
  // The writer may append a version ("ct-muscle-node 0.1.0", "ct-muscle-node@0.1.0").
  return normalized === own || normalized.split(/[\s@/]+/)[0] === own;
}

const rejectOwnOutput: RejectionRule = (series, rules) => {
  if (matchesOwnName(series.manufacturer, rules.ownManufacturer)) {
    return `written by this node (Manufacturer "${series.manufacturer}")`;
  }
  const version = series.softwareVersions.find((value) => matchesOwnName(value, rules.ownManufacturer));
  return version === undefined ? null : `written by this node (SoftwareVersions "${version}")`;
};

const rejectDoseReport: RejectionRule = (series) => {
  const sr = series.sopClassUids.find((uid) => uidHasPrefix(uid, SOP_CLASS.structuredReport));
  if (sr) return `dose report or other structured report (SR SOP class ${sr}), not an image`;
  const capture = series.sopClassUids.find((uid) => uidHasPrefix(uid, SOP_CLASS.secondaryCapture));
  if (capture) return `secondary capture (SOP class ${capture}), as used for dose reports and screenshots, not a CT image`;
  const description = series.seriesDescription ?? '';
  return DOSE_DESCRIPTION.test(description) ? `dose report (description "${description}")` : null;
};

const rejectNonImage: RejectionRule = (series) => {
  for (const uid of series.sopClassUids) {
    const known = NON_IMAGE_SOP_CLASSES.find(([prefix]) => uidHasPrefix(uid, prefix));
    if (known) return `not an image: SOP class ${uid} (${known[1]})`;
  }
  return null;
};

const rejectModality: RejectionRule = (series, rules) => {
  const modality = series.modality?.trim().toUpperCase();
  if (modality === undefined || modality === '') return `Modality missing (${rules.modality} required)`;
  return modality === rules.modality ? null : `Modality ${modality} is not ${rules.modality}`;
};

/** The storage SOP classes whose pixels are CT Hounsfield units the node can measure. */
export const CT_IMAGE_SOP_CLASSES: Readonly<Record<string, string>> = {
  '1.2.840.10008.5.1.4.1.1.2': 'CT Image Storage',
  '1.2.840.10008.5.1.4.1.1.2.1': 'Enhanced CT Image Storage',
};

/**
 * Modality alone is not enough: an MR Image Storage instance labelled Modality CT holds MR
 * signal, not HU. A CT series must hold only CT image SOP classes.
 */
const rejectSopClass: RejectionRule = (series, rules) => {
  if (rules.modality !== 'CT') return null;
  if (series.sopClassUids.length === 0) return 'SOP Class UID missing (CT Image Storage or Enhanced CT Image Storage required)';
  const other = series.sopClassUids.find((uid) => !(uid in CT_IMAGE_SOP_CLASSES));
  return other === undefined ? null : `SOP class ${other} is not CT Image Storage or Enhanced CT Image Storage, whatever its Modality says`;
};

const rejectLocalizer: RejectionRule = (series) => {
  if (seriesImageType(series).includes('LOCALIZER')) return 'localizer (ImageType contains LOCALIZER)';
  const description = series.seriesDescription ?? '';
  return LOCALIZER_DESCRIPTION.test(description) ? `localizer (description "${description}")` : null;
};

const rejectImageType: RejectionRule = (series, rules) => {
  const imageType = seriesImageType(series);
  const missing = rules.requireImageType.filter((value) => !imageType.includes(value));
  return missing.length === 0 ? null : `ImageType lacks ${missing.join(', ')} (has ${listOrNone(imageType)})`;
};

const rejectDerived: RejectionRule = (series, rules) => {
  if (!rules.excludeDerived) return null;
  const imageType = seriesImageType(series);
  const derived = imageType.filter((value) => value === 'DERIVED' || value === 'SECONDARY');
  if (derived.length > 0) return `derived image (ImageType contains ${derived.join(', ')})`;
  const reformat = imageType.filter((value) => REFORMAT_IMAGE_TYPES.includes(value));
  if (reformat.length > 0) return `reformat (ImageType contains ${reformat.join(', ')})`;
  const description = series.seriesDescription ?? '';
  return REFORMAT_DESCRIPTION.test(description) ? `reformat (description "${description}")` : null;
};

const rejectTooFewSlices: RejectionRule = (series, rules) =>
  series.instanceCount < rules.minSlices ? `only ${series.instanceCount} image(s), fewer than minSlices ${rules.minSlices}` : null;

const rejectBlockingGeometry: RejectionRule = (series, rules) => {
  const blocking = series.issues.filter((issue) => rules.blockingIssues.includes(issue.kind));
  return blocking.length === 0 ? null : `geometry unusable: ${blocking.map((issue) => issue.message).join('; ')}`;
};

/** Some producers report the tilt of a feet-first normal as 180 - θ; the axis has no direction. */
function axisAngleDeg(tiltDeg: number): number {
  const folded = Math.abs(tiltDeg) % 180;
  return folded > 90 ? 180 - folded : folded;
}

const rejectNonAxial: RejectionRule = (series, rules) => {
  if (series.plane === null) return 'slice orientation unknown or mixed';
  if (series.normalTiltFromAxialDeg === null) {
    // The plane label alone is only trusted when it says axial; the tilt cannot be checked.
    return series.plane === 'axial' ? null : `${series.plane} slices (tilt from axial unknown)`;
  }
  const tilt = axisAngleDeg(series.normalTiltFromAxialDeg);
  return tilt <= rules.maxAxialTiltDeg
    ? null
    : `slice normal ${formatNumber(tilt)}° from the head-foot axis (${series.plane}; limit ${formatNumber(rules.maxAxialTiltDeg)}°)`;
};

const rejectThickness: RejectionRule = (series, rules) => {
  const thickness = series.sliceThicknessMm;
  const [min, max] = rules.sliceThicknessMm;
  if (thickness === null) return rules.acceptUnknownThickness ? null : 'slice thickness unknown';
  return thickness >= min && thickness <= max
    ? null
    : `slice thickness ${formatNumber(thickness)} mm outside ${formatNumber(min)}-${formatNumber(max)} mm`;
};

// Most specific first: our own SEG is reported as ours, not as "not an image" or "Modality SEG".
const REJECTION_RULES: readonly RejectionRule[] = [
  rejectOwnOutput,
  rejectDoseReport,
  rejectNonImage,
  rejectModality,
  rejectSopClass,
  rejectLocalizer,
  rejectImageType,
  rejectDerived,
  rejectTooFewSlices,
  rejectBlockingGeometry,
  rejectNonAxial,
  rejectThickness,
];

function firstRejection(series: SeriesSummary, rules: SelectionRules): string | null {
  for (const rule of REJECTION_RULES) {
    const reason = rule(series, rules);
    if (reason !== null) return reason;
  }
  return null;
}

/** Remarks on an accepted series that a reader should know about. */
function acceptanceNotes(series: SeriesSummary): string[] {
  const notes: string[] = [];
  if (series.sliceThicknessMm === null) notes.push('slice thickness unknown: accepted, ranked after series with known thickness');
  if (series.plane === 'axial' && series.normalTiltFromAxialDeg === null) notes.push('tilt from axial unknown: accepted on the axial plane label');
  if (series.zRangeMm === null) notes.push('z coverage unknown: ranked after series with known coverage');
  return notes;
}

// ---------------------------------------------------------------------------------------------
// Ranking

interface RankedSeries {
  series: SeriesSummary;
  kernel: KernelClassification;
  /** Higher is better: imaged length, or minus the length of the target range left uncovered. */
  coverageScoreMm: number;
  nearBestCoverage: boolean;
}

/** Slice positions are slice centres; the imaged extent reaches half a slice beyond each end. */
function imagedExtentMm(series: SeriesSummary): [number, number] | null {
  if (series.zRangeMm === null) return null;
  const [a, b] = series.zRangeMm;
  const halfSlice = (series.sliceThicknessMm ?? series.sliceSpacingMm ?? 0) / 2;
  return [Math.min(a, b) - halfSlice, Math.max(a, b) + halfSlice];
}

function coverageScoreMm(series: SeriesSummary, target: [number, number] | undefined): number {
  const extent = imagedExtentMm(series);
  if (extent === null) return Number.NEGATIVE_INFINITY;
  if (target === undefined) return extent[1] - extent[0];
  // Distance by which the extent falls short of the target at either end; 0 when it covers it.
  const uncovered = Math.max(0, extent[0] - target[0]) + Math.max(0, target[1] - extent[1]);
  return -uncovered;
}

function seriesLabel(series: SeriesSummary): string {
  const number = series.seriesNumber === undefined ? `series ${series.seriesInstanceUid}` : `series ${series.seriesNumber}`;
  return series.seriesDescription ? `${number} "${series.seriesDescription}"` : number;
}

/** One ranking step: compare (negative when a ranks first) and say why the winner of a pair won. */
interface RankingCriterion {
  compare(a: RankedSeries, b: RankedSeries): number;
  explain(winner: RankedSeries, loser: RankedSeries, target: [number, number] | undefined): string;
}

const byKernel: RankingCriterion = {
  compare: (a, b) => kernelPreference(b.kernel.kernelClass) - kernelPreference(a.kernel.kernelClass),
  explain: (winner, loser) => `${describeKernel(winner.kernel)} preferred over ${describeKernel(loser.kernel)} of ${seriesLabel(loser.series)}`,
};

const byCoverage: RankingCriterion = {
  compare: (a, b) => Number(b.nearBestCoverage) - Number(a.nearBestCoverage),
  explain: (winner, loser, target) => {
    if (target === undefined) {
      const lost = Number.isFinite(loser.coverageScoreMm) ? `${formatNumber(loser.coverageScoreMm)} mm` : 'unknown coverage';
      return `larger z coverage (${formatNumber(winner.coverageScoreMm)} mm vs ${lost} of ${seriesLabel(loser.series)})`;
    }
    const range = `${formatNumber(target[0])} to ${formatNumber(target[1])} mm`;
    const lost = Number.isFinite(loser.coverageScoreMm) ? `falls ${formatNumber(-loser.coverageScoreMm)} mm short of it` : 'has unknown coverage';
    const won = winner.coverageScoreMm === 0 ? 'covers' : `comes closer to covering (${formatNumber(-winner.coverageScoreMm)} mm short)`;
    return `${won} the target z range ${range}; ${seriesLabel(loser.series)} ${lost}`;
  },
};

const THICKNESS_EPSILON_MM = 0.01;

const byThickness: RankingCriterion = {
  compare: (a, b) => {
    const ta = a.series.sliceThicknessMm ?? Number.POSITIVE_INFINITY;
    const tb = b.series.sliceThicknessMm ?? Number.POSITIVE_INFINITY;
    if (ta === tb || Math.abs(ta - tb) <= THICKNESS_EPSILON_MM) return 0;
    return ta < tb ? -1 : 1;
  },
  explain: (winner, loser) => {
    const won = formatNumber(winner.series.sliceThicknessMm ?? Number.NaN);
    const lost = loser.series.sliceThicknessMm === null ? 'unknown thickness' : `${formatNumber(loser.series.sliceThicknessMm)} mm`;
    return `thinner slices (${won} mm vs ${lost} of ${seriesLabel(loser.series)})`;
  },
};

const bySliceCount: RankingCriterion = {
  compare: (a, b) => b.series.instanceCount - a.series.instanceCount,
  explain: (winner, loser) => `more slices (${winner.series.instanceCount} vs ${loser.series.instanceCount} of ${seriesLabel(loser.series)})`,
};

const bySeriesNumber: RankingCriterion = {
  compare: (a, b) => (a.series.seriesNumber ?? Number.POSITIVE_INFINITY) - (b.series.seriesNumber ?? Number.POSITIVE_INFINITY) || 0,
  explain: (winner, loser) =>
    `lower SeriesNumber (${winner.series.seriesNumber} vs ${loser.series.seriesNumber ?? 'none'} of ${seriesLabel(loser.series)})`,
};

// Plain code-unit order, not localeCompare: the result must not depend on the host's locale.
const byUid: RankingCriterion = {
  compare: (a, b) => (a.series.seriesInstanceUid < b.series.seriesInstanceUid ? -1 : a.series.seriesInstanceUid > b.series.seriesInstanceUid ? 1 : 0),
  explain: (winner, loser) => `tie broken by SeriesInstanceUID (${winner.series.seriesInstanceUid} sorts before ${loser.series.seriesInstanceUid})`,
};

const RANKING: readonly RankingCriterion[] = [byKernel, byCoverage, byThickness, bySliceCount, bySeriesNumber, byUid];

function compareRanked(a: RankedSeries, b: RankedSeries): number {
  for (const criterion of RANKING) {
    const order = criterion.compare(a, b);
    if (order !== 0) return order;
  }
  return 0;
}

function decidingCriterion(winner: RankedSeries, loser: RankedSeries): RankingCriterion | undefined {
  return RANKING.find((criterion) => criterion.compare(winner, loser) < 0);
}

function rankEligible(eligible: SeriesSummary[], rules: SelectionRules, target: [number, number] | undefined): RankedSeries[] {
  const scored = eligible.map((series) => ({
    series,
    kernel: classifySeriesKernel(series.convolutionKernel, series.seriesDescription),
    coverageScoreMm: coverageScoreMm(series, target),
  }));
  const best = Math.max(...scored.map((entry) => entry.coverageScoreMm));
  return scored
    .map((entry) => ({ ...entry, nearBestCoverage: entry.coverageScoreMm >= best - rules.coverageToleranceMm }))
    .sort(compareRanked);
}

function explainWinner(ranked: RankedSeries[], target: [number, number] | undefined): string[] {
  const [winner, ...others] = ranked;
  if (others.length === 0) return ['selected: the only eligible series'];
  return others.map((loser) => {
    const criterion = decidingCriterion(winner, loser);
    // Identical summaries (same UID twice) have no deciding criterion; input order then decides.
    return `selected: ${criterion ? criterion.explain(winner, loser, target) : `indistinguishable from ${seriesLabel(loser.series)}`}`;
  });
}

function explainRunnerUp(winner: RankedSeries, loser: RankedSeries, rank: number, target: [number, number] | undefined): string {
  const criterion = decidingCriterion(winner, loser);
  const why = criterion ? criterion.explain(winner, loser, target) : 'indistinguishable from it';
  return `eligible, ranked ${rank}: ${seriesLabel(winner.series)} chosen instead, ${why}`;
}

function validateTarget(target: [number, number] | undefined): [number, number] | undefined {
  if (target === undefined) return undefined;
  if (!Array.isArray(target) || target.length !== 2 || !target.every((value) => typeof value === 'number' && Number.isFinite(value))) {
    throw new CtMuscleError('E_CONFIG_INVALID', `targetZRangeMm must be two finite numbers [inferior, superior] (got ${describeValue(target)})`);
  }
  return [Math.min(target[0], target[1]), Math.max(target[0], target[1])];
}

/**
 * Chooses the series to analyse. `selected` is null when nothing qualifies; the caller decides
 * whether that is an error (see requireSelectedSeries).
 */
export function selectSeries(summaries: SeriesSummary[], rules?: Partial<SelectionRules>, context?: SelectionContext): SelectionResult {
  const effectiveRules = validateSelectionRules(rules ?? {});
  const target = validateTarget(context?.targetZRangeMm);

  const rejections = new Map<SeriesSummary, string>();
  for (const series of summaries) {
    const reason = firstRejection(series, effectiveRules);
    if (reason !== null) rejections.set(series, reason);
  }
  const ranked = rankEligible(
    summaries.filter((series) => !rejections.has(series)),
    effectiveRules,
    target,
  );
  const rankOf = new Map(ranked.map((entry, index) => [entry.series, index + 1]));
  const winnerReasons = ranked.length > 0 ? explainWinner(ranked, target) : [];

  const candidates = summaries.map((series): SelectionCandidate => {
    const rejection = rejections.get(series);
    if (rejection !== undefined) return { seriesInstanceUid: series.seriesInstanceUid, eligible: false, reasons: [rejection] };
    const rank = rankOf.get(series) ?? 0;
    const ranking = rank === 1 ? winnerReasons : [explainRunnerUp(ranked[0], ranked[rank - 1], rank, target)];
    return { seriesInstanceUid: series.seriesInstanceUid, eligible: true, reasons: [...acceptanceNotes(series), ...ranking], rank };
  });

  return { selected: ranked.length > 0 ? ranked[0].series : null, candidates };
}

/** The selected series, or a typed error carrying every candidate's reasons for the job log. */
export function requireSelectedSeries(result: SelectionResult): SeriesSummary {
  if (result.selected !== null) return result.selected;
  if (result.candidates.length === 0) throw new CtMuscleError('E_NO_SERIES');
  const summary = result.candidates.map((candidate) => `${candidate.seriesInstanceUid}: ${candidate.reasons.join('; ')}`).join(' | ');
  throw new CtMuscleError('E_NO_SUITABLE_SERIES', `No series met the selection rules (${summary})`, { candidates: result.candidates });
}

// ---------------------------------------------------------------------------------------------
// Validation of configured rules

// A Record over the union makes the compiler insist on every issue kind being listed.
const GEOMETRY_ISSUE_KINDS: Readonly<Record<GeometryIssueKind, true>> = {
  'irregular-spacing': true,
  gap: true,
  'duplicate-position': true,
  'gantry-tilt': true,
  'mixed-orientation': true,
  'several-stacks': true,
  'mixed-size': true,
  'mixed-pixel-spacing': true,
  'missing-position': true,
};

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function invalid(path: string, expectation: string, value: unknown): CtMuscleError {
  return new CtMuscleError('E_CONFIG_INVALID', `${path} must be ${expectation} (got ${describeValue(value)})`, { path, value });
}

function readNumber(value: unknown, path: string, min: number, max: number): number {
  const expectation = max === Number.POSITIVE_INFINITY ? `a number >= ${min}` : `a number from ${min} to ${max}`;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw invalid(path, expectation, value);
  return value;
}

function readInteger(value: unknown, path: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw invalid(path, `an integer >= ${min}`, value);
  return value;
}

function readBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw invalid(path, 'true or false', value);
  return value;
}

function readNonEmptyString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(path, 'a non-empty string', value);
  return value.trim();
}

function readStringList(value: unknown, path: string): string[] {
  if (!Array.isArray(value)) throw invalid(path, 'an array of strings', value);
  return value.map((item, index) => readNonEmptyString(item, `${path}[${index}]`).toUpperCase());
}

function readThicknessRange(value: unknown, path: string): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) throw invalid(path, 'a [min, max] pair of millimetres', value);
  const min = readNumber(value[0], `${path}[0]`, 0, Number.POSITIVE_INFINITY);
  const max = readNumber(value[1], `${path}[1]`, 0, Number.POSITIVE_INFINITY);
  if (min > max) throw invalid(path, 'a [min, max] pair with min <= max', value);
  return [min, max];
}

function readIssueKinds(value: unknown, path: string): GeometryIssueKind[] {
  if (!Array.isArray(value)) throw invalid(path, 'an array of geometry issue kinds', value);
  const known = Object.keys(GEOMETRY_ISSUE_KINDS);
  return value.map((item, index) => {
    if (typeof item !== 'string' || !known.includes(item)) throw invalid(`${path}[${index}]`, `one of ${known.join(', ')}`, item);
    return item as GeometryIssueKind;
  });
}

type RuleReaders = { [K in keyof SelectionRules]: (value: unknown, path: string) => SelectionRules[K] };

const RULE_READERS: RuleReaders = {
  modality: (value, path) => readNonEmptyString(value, path).toUpperCase(),
  maxAxialTiltDeg: (value, path) => readNumber(value, path, 0, 90),
  requireImageType: readStringList,
  excludeDerived: readBoolean,
  minSlices: (value, path) => readInteger(value, path, 1),
  sliceThicknessMm: readThicknessRange,
  acceptUnknownThickness: readBoolean,
  ownManufacturer: readNonEmptyString,
  blockingIssues: readIssueKinds,
  coverageToleranceMm: (value, path) => readNumber(value, path, 0, Number.POSITIVE_INFINITY),
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks configured selection rules and fills in defaults for absent keys (undefined counts as
 * absent). Unknown keys are errors, so a misspelt rule is not silently ignored.
 * `path` prefixes messages so they point into the config file.
 */
export function validateSelectionRules(value: unknown, path = 'selection'): SelectionRules {
  const configuredRules = value === undefined ? {} : value;
  if (!isPlainObject(configuredRules)) throw invalid(path, 'an object', value);
  const known = Object.keys(RULE_READERS);
  const unknownKey = Object.keys(configuredRules).find((key) => !known.includes(key));
  if (unknownKey !== undefined) {
    throw new CtMuscleError('E_CONFIG_INVALID', `${path}.${unknownKey} is not a selection rule (known: ${known.join(', ')})`, {
      path: `${path}.${unknownKey}`,
    });
  }
  const read = <K extends keyof SelectionRules>(key: K): SelectionRules[K] => {
    const configured = configuredRules[key];
    return RULE_READERS[key](configured === undefined ? DEFAULT_SELECTION_RULES[key] : configured, `${path}.${key}`);
  };
  return {
    modality: read('modality'),
    maxAxialTiltDeg: read('maxAxialTiltDeg'),
    requireImageType: read('requireImageType'),
    excludeDerived: read('excludeDerived'),
    minSlices: read('minSlices'),
    sliceThicknessMm: read('sliceThicknessMm'),
    acceptUnknownThickness: read('acceptUnknownThickness'),
    ownManufacturer: read('ownManufacturer'),
    blockingIssues: read('blockingIssues'),
    coverageToleranceMm: read('coverageToleranceMm'),
  };
}
