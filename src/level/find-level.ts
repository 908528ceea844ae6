/**
 * findLevel: the axial slice through the middle of a target vertebral body (T12 by default).
 * Explicit choices win: a one-slice series is taken as provided, and a slice named by SOP Instance
 * UID is returned as is. Otherwise the image decides, or a typed error says why it cannot.
 */
import { CtMuscleError } from '../errors.ts';
import type { CtVolume, SeriesLayout } from '../dicom/types.ts';
import { median } from '../image/statistics.ts';
import { trackColumn } from './column.ts';
import { bodySegments, centreTiltedDiscs, findDiscs, PROFILE_STEP_MM, resampleProfile, type BodySegment } from './discs.ts';
import { identify } from './identify.ts';
import { ANTERIOR_CORE, bodyCoreProfile } from './profile.ts';
import { bearsRibs, ribReach, RIB_REACH_MM } from './ribs.ts';
import { isSacral } from './sacrum.ts';
import { buildStack, type WorkStack } from './stack.ts';
import { canonicalGrid } from './canonical.ts';
import { TARGET_LEVELS, type LevelName, type LevelResult, type VertebraEvidence } from '../model/index.ts';
import type { LevelOptions } from './types.ts';

/** Less spine than this cannot show a disc above and below one body. */
const MIN_COVERAGE_MM = 30;
const MIN_SLICES = 5;
/** A cut body is used when at least this fraction of its expected height is in view. */
const MIN_CUT_FRACTION = 0.7;
const MIN_BODY_MM = 12;

const NAMES = ['T1', 'T2', 'T3', 'T4', 'T5', 'T6', 'T7', 'T8', 'T9', 'T10', 'T11', 'T12', 'L1', 'L2', 'L3', 'L4', 'L5', 'S1'];
const T12 = 11;

export const METHOD = 'canal-tracked body profile; discs as density dips; ribs at the costovertebral junction; sacral alae';

function nearestSlice(volume: SeriesLayout, z: number): number {
  let best = 0;
  for (let k = 1; k < volume.slices.length; k++) if (Math.abs(volume.slices[k].zMm - z) < Math.abs(volume.slices[best].zMm - z)) best = k;
  return best;
}

/** The slice a person chose, or the only slice of a one-image series; null when the image must decide. */
export function explicitChoice(volume: SeriesLayout, options: LevelOptions): LevelResult | null {
  if (options.sopInstanceUid !== undefined) {
    const index = volume.slices.findIndex((s) => s.sopInstanceUid === options.sopInstanceUid);
    if (index < 0) {
      throw new CtMuscleError('E_SLICE_NOT_FOUND', `The selected SOP Instance UID ${options.sopInstanceUid} is not a slice of this series.`, {
        sopInstanceUid: options.sopInstanceUid,
      });
    }
    const slice = volume.slices[index];
    return { name: 'user-selected', sliceIndex: index, sopInstanceUid: slice.sopInstanceUid, zMm: slice.zMm, rule: 'user-selected', method: 'user-selected', confidence: 1, evidence: null, warnings: [] };
  }
  if (volume.slices.length === 1) {
    const slice = volume.slices[0];
    return {
      name: 'as-provided',
      sliceIndex: 0,
      sopInstanceUid: slice.sopInstanceUid,
      zMm: slice.zMm,
      rule: 'as-provided',
      method: 'as-provided',
      confidence: 1,
      evidence: null,
      warnings: ['A single-slice series is measured as provided; its vertebral level was not checked.'],
    };
  }
  return null;
}

/** Enough slices over enough length to count vertebrae, or E_INSUFFICIENT_COVERAGE. */
function requireCoverage(volume: SeriesLayout): void {
  const zFirst = volume.slices[0].zMm;
  const zLast = volume.slices[volume.slices.length - 1].zMm;
  if (volume.slices.length < MIN_SLICES || zLast - zFirst < MIN_COVERAGE_MM) {
    throw new CtMuscleError('E_INSUFFICIENT_COVERAGE', `The series covers ${(zLast - zFirst).toFixed(1)} mm in ${volume.slices.length} slices; at least ${MIN_COVERAGE_MM} mm in ${MIN_SLICES} slices are needed to count vertebrae.`, {
      coverageMm: zLast - zFirst,
      slices: volume.slices.length,
    });
  }
}

/** What each body between discs shows: its extent, cut ends, ribs and sacral alae. */
function vertebraEvidence(stack: WorkStack, track: ReturnType<typeof trackColumn>, segments: BodySegment[], typicalHeight: number): VertebraEvidence[] {
  return segments.map((segment) => {
    const visible = segment.superiorMm - segment.inferiorMm;
    const cut = segment.cutInferior || segment.cutSuperior;
    const judgeable = visible >= MIN_BODY_MM && (!cut || visible >= MIN_CUT_FRACTION * typicalHeight);
    const reach = judgeable ? ribReach(stack, track, segment) : null;
    let ribs: boolean | null = reach ? bearsRibs(reach) : null;
    // In a body cut by the edge of the view the rib head (or the rib's way out) may be missing:
    // absence proves nothing there.
    if (cut && ribs === false) ribs = null;
    return {
      name: null,
      inferiorMm: round1(segment.inferiorMm),
      superiorMm: round1(segment.superiorMm),
      cutInferior: segment.cutInferior,
      cutSuperior: segment.cutSuperior,
      bearsRibs: ribs,
      ribReachMm: reach,
      sacral: isSacral(stack, track, segment),
    };
  });
}

/** Name the column from its anchors; a failure carries the evidence gathered so far. */
function identifyColumn(evidence: VertebraEvidence[], baseEvidence: object): ReturnType<typeof identify> {
  try {
    return identify(evidence);
  } catch (error) {
    if (error instanceof CtMuscleError) {
      throw new CtMuscleError(error.code, error.message, { ...error.details, evidence: baseEvidence });
    }
    throw error;
  }
}

/**
 * The target body's extent; a body cut by the edge of the view gets its height from its
 * neighbours (with a warning and a confidence penalty), or E_LEVEL_NOT_IN_VIEW when too little shows.
 */
function placeBody(segment: BodySegment, target: LevelName, typicalHeight: number, baseEvidence: object): { inferiorMm: number; superiorMm: number; warning?: string; penalty: number } {
  let { inferiorMm, superiorMm } = segment;
  if (!segment.cutInferior && !segment.cutSuperior) return { inferiorMm, superiorMm, penalty: 0 };
  const visible = superiorMm - inferiorMm;
  if (segment.cutInferior && segment.cutSuperior) throw new CtMuscleError('E_LEVEL_NOT_IN_VIEW', `${target} fills the whole column in view; its endplates are not seen.`);
  if (visible < MIN_CUT_FRACTION * typicalHeight) {
    throw new CtMuscleError('E_LEVEL_NOT_IN_VIEW', `Only ${visible.toFixed(0)} mm of the ${target} body is in view (about ${typicalHeight.toFixed(0)} mm expected): its middle cannot be placed.`, {
      evidence: baseEvidence,
    });
  }
  const expected = Math.max(visible, typicalHeight);
  if (segment.cutSuperior) superiorMm = inferiorMm + expected;
  else inferiorMm = superiorMm - expected;
  const warning = `The ${target} body is cut by the edge of the field of view; its height was taken from its neighbours (${expected.toFixed(0)} mm).`;
  return { inferiorMm, superiorMm, warning, penalty: 0.15 };
}

/**
 * The working stack of a series: the one built while it was decoded, else built from the volume
 * held whole. A series given without either is refused as the grid refuses it (not axial).
 */
function stackOf(volume: SeriesLayout | CtVolume, given: WorkStack | null | undefined): WorkStack {
  if (given) return given;
  if ('hu' in volume) return buildStack(volume);
  canonicalGrid(volume.geometry);
  throw new CtMuscleError('E_STAGE_UNAVAILABLE', 'The level finder was given neither the series\' pixels nor its working stack.');
}

/**
 * `stack`: the series on the working grid, when it was built as the series was decoded (the
 * pipeline); without it the stack is built from `volume`, which must then hold its HU.
 */
export function findLevel(volume: SeriesLayout | CtVolume, options: LevelOptions = {}, stack?: WorkStack | null): LevelResult {
  const target: LevelName = options.target ?? 'T12';
  if (!TARGET_LEVELS.includes(target)) {
    throw new CtMuscleError('E_CONFIG_INVALID', `The target level must be one of ${TARGET_LEVELS.join(', ')}; got ${JSON.stringify(target)}.`);
  }
  const explicit = explicitChoice(volume, options);
  if (explicit) return explicit;

  requireCoverage(volume);
  return levelOnStack(volume, target, stackOf(volume, stack));
}

function levelOnStack(volume: SeriesLayout, target: LevelName, stack: WorkStack): LevelResult {
  const track = trackColumn(stack);
  if (Number.isNaN(track.fromMm)) throw new CtMuscleError('E_INSUFFICIENT_COVERAGE', 'No spinal column was found in the series.');
  const profile = resampleProfile(stack.zMm, bodyCoreProfile(stack, track));
  if (!profile) throw new CtMuscleError('E_INSUFFICIENT_COVERAGE', 'The spinal column was found on too few slices.');
  const columnFrom = profile.z0;
  const columnTo = profile.z0 + (profile.values.length - 1) * PROFILE_STEP_MM;
  const thickness = volume.geometry.sliceThicknessMm ?? volume.geometry.sliceSpacingMm ?? 1;
  const discs = centreTiltedDiscs(findDiscs(profile, thickness), resampleProfile(stack.zMm, bodyCoreProfile(stack, track, ANTERIOR_CORE)));
  const segments = bodySegments(discs, columnFrom, columnTo);
  // A "body" shorter than the shortest real one (T1, ~15 mm) means a false disc: not a body to count on.
  const complete = segments.filter((s) => !s.cutInferior && !s.cutSuperior && s.superiorMm - s.inferiorMm >= MIN_BODY_MM);
  if (complete.length === 0) {
    throw new CtMuscleError(
      'E_INSUFFICIENT_COVERAGE',
      `Too little spine to count on: ${discs.length} disc space(s) over ${(columnTo - columnFrom).toFixed(0)} mm of column, no whole vertebral body between two discs.`,
      { discsMm: discs.map((d) => d.centreMm), columnMm: [columnFrom, columnTo] },
    );
  }
  const typicalHeight = median(complete.map((s) => s.superiorMm - s.inferiorMm));

  const evidence = vertebraEvidence(stack, track, segments, typicalHeight);

  const baseEvidence = {
    vertebrae: evidence,
    discsMm: discs.map((d) => round1(d.centreMm)),
    columnMm: [round1(columnFrom), round1(columnTo)] as [number, number],
    gridMm: round1(stack.mm),
  };
  const identification = identifyColumn(evidence, baseEvidence);
  for (let i = 0; i < evidence.length; i++) evidence[i].name = NAMES[T12 + identification.t12Index - i] ?? null;
  // Inferior → superior indices: L1 is one below T12.
  const offset = TARGET_LEVELS.indexOf(target);
  const index = identification.t12Index - offset;
  const warnings = [...identification.warnings];
  if (index < 0 || index >= segments.length) {
    throw new CtMuscleError('E_LEVEL_NOT_IN_VIEW', `${target} lies ${index < 0 ? 'below' : 'above'} the field of view (the column was labelled from ${identification.anchors.ribs ?? identification.anchors.sacrum}).`, {
      evidence: baseEvidence,
    });
  }
  const segment: BodySegment = segments[index];
  const placed = placeBody(segment, target, typicalHeight, baseEvidence);
  const { inferiorMm, superiorMm } = placed;
  if (placed.warning) warnings.push(placed.warning);
  let confidence = identification.confidence - placed.penalty;
  const mid = (inferiorMm + superiorMm) / 2;
  const sliceIndex = nearestSlice(volume, mid);
  const slice = volume.slices[sliceIndex];
  if (Math.abs(slice.zMm - mid) > 3) warnings.push(`The nearest slice is ${Math.abs(slice.zMm - mid).toFixed(1)} mm from the mid-body plane.`);
  const reach = evidence[identification.t12Index]?.ribReachMm;
  if (reach && identification.anchors.ribs && Math.min(reach.left, reach.right) < RIB_REACH_MM) {
    warnings.push('Ribs were found on one side of T12 only.');
    confidence -= 0.1;
  }
  return {
    name: target,
    sliceIndex,
    sopInstanceUid: slice.sopInstanceUid,
    zMm: slice.zMm,
    rule: 'mid-vertebral-body',
    method: METHOD,
    confidence: Math.max(0, Math.min(1, Math.round(confidence * 100) / 100)),
    evidence: {
      ...baseEvidence,
      sacrumTopMm: identification.sacrumIndex === null ? null : round1(segments[identification.sacrumIndex].superiorMm),
      ribBearingCount: identification.ribBearingCount,
      lumbarCount: identification.lumbarCount,
      anchors: identification.anchors,
      targetBodyMm: [round1(inferiorMm), round1(superiorMm)],
      targetMidMm: round1(mid),
    },
    warnings,
  };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
