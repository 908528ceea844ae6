/**
 * Everything about a phantom series that is known before any pixel is made: resolved options,
 * the anatomy model, slice positions and order, UIDs and the level truth. Generation and
 * encoding read from the plan, so the same options always lead to the same bytes.
 */
import { createAnatomy, type Anatomy } from './anatomy.ts';
import { sliceLayout, type SliceLayout, type Vec3 } from './geometry.ts';
import { composeSlice } from './image.ts';
import { spineLabelAt, T12_INDEX, VERTEBRA_NAMES, type VertebraName } from './levels.ts';
import { resolvePhantomOptions, type PhantomOptions, type ResolvedPhantomOptions } from './options.ts';
import { uidFromText } from './random.ts';
import { renderLabels } from './render.ts';
import { tissueHuTable } from './tissues.ts';
import { encodeMaskRle, type PhantomTruth, type T12Truth, type VertebraTruth } from './truth.ts';

export interface PlannedSlice {
  /** Index in inferior → superior order. */
  index: number;
  /** Position in acquisition order (head → feet for head-first patients). */
  acquisitionIndex: number;
  instanceNumber: number;
  sopInstanceUid: string;
  zMm: number;
  imagePositionPatient: Vec3;
}

export interface PhantomPlan {
  kind: 'phantom-plan';
  options: ResolvedPhantomOptions;
  anatomy: Anatomy;
  layout: SliceLayout;
  huTable: Float32Array;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  /** Inferior → superior. */
  slices: PlannedSlice[];
  /** Indices into `slices` in acquisition order. */
  acquisitionOrder: number[];
  /** Level truth; per-slice muscle areas are filled in as slices are generated (see generatePhantomStudy). */
  truth: PhantomTruth;
}

export function isPhantomPlan(value: unknown): value is PhantomPlan {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'phantom-plan';
}

const round3 = (value: number) => Math.round(value * 1000) / 1000;

/** JSON with sorted keys, so equal options always hash alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function planPhantom(input: PhantomOptions | PhantomPlan = {}): PhantomPlan {
  if (isPhantomPlan(input)) return input;
  const options = resolvePhantomOptions(input);
  const anatomy = createAnatomy(options);
  const layout = sliceLayout(options.orientation, options.rows, options.columns, options.fieldOfViewMm);
  const { vertebrae } = anatomy.spine;
  const vertebra = (name: VertebraName) => vertebrae[VERTEBRA_NAMES.indexOf(name)];

  const spacing = options.sliceSpacingMm;
  const zFirst = Math.round(vertebra(options.fromLevel).midMm * 100) / 100;
  const count = options.sliceCount ?? Math.max(1, Math.floor((vertebra(options.toLevel ?? 'T9').midMm - zFirst) / spacing + 1e-6) + 1);

  // Study identity follows the patient (seed and demographics), so several series can share a study.
  const studyInstanceUid = options.study.studyInstanceUid ?? uidFromText(`ct-muscle-node phantom study|${options.seed}|${canonicalJson(options.patient)}`);
  const seriesKey = canonicalJson({ ...options, study: { ...options.study, studyInstanceUid } });
  const seriesInstanceUid = options.series.seriesInstanceUid ?? uidFromText(`ct-muscle-node phantom series|${seriesKey}`);
  const frameOfReferenceUid = options.series.frameOfReferenceUid ?? uidFromText(`ct-muscle-node phantom frame|${seriesInstanceUid}`);

  const slices: PlannedSlice[] = [];
  for (let k = 0; k < count; k++) {
    const z = round3(zFirst + k * spacing);
    slices.push({
      index: k,
      acquisitionIndex: layout.headFirst ? count - 1 - k : k,
      instanceNumber: layout.headFirst ? count - k : k + 1,
      sopInstanceUid: uidFromText(`ct-muscle-node phantom instance|${seriesInstanceUid}|${k}`),
      zMm: z,
      imagePositionPatient: [layout.originXY[0], layout.originXY[1], z],
    });
  }
  const acquisitionOrder = slices.map((s) => s.index).sort((a, b) => slices[a].acquisitionIndex - slices[b].acquisitionIndex);

  const huTable = tissueHuTable(options.contrast);
  const plan: PhantomPlan = {
    kind: 'phantom-plan',
    options,
    anatomy,
    layout,
    huTable,
    studyInstanceUid,
    seriesInstanceUid,
    frameOfReferenceUid,
    slices,
    acquisitionOrder,
    truth: undefined as unknown as PhantomTruth,
  };
  plan.truth = levelTruth(plan);
  return plan;
}

/** Index of the slice nearest z, or null when z lies more than half a spacing outside the series. */
function nearestSlice(plan: PhantomPlan, z: number): number | null {
  const { slices } = plan;
  const spacing = plan.options.sliceSpacingMm;
  const first = slices[0].zMm;
  const last = slices[slices.length - 1].zMm;
  if (z < first - spacing / 2 || z > last + spacing / 2) return null;
  let best = 0;
  for (let k = 1; k < slices.length; k++) {
    if (Math.abs(slices[k].zMm - z) < Math.abs(slices[best].zMm - z)) best = k;
  }
  return best;
}

/** Muscle mask and area of one planned slice, from the anatomy alone (no noise needed). */
export function sliceMuscleTruth(plan: PhantomPlan, index: number): { mask: Uint8Array; areaCm2: number } {
  const slice = plan.slices[index];
  const labels = renderLabels(plan.anatomy, slice.zMm, plan.layout.grid);
  const { mask, maskCount } = composeSlice(labels, plan.layout, {
    huTable: plan.huTable,
    noise: null,
    paddingHu: paddingHu(plan),
    circleRadiusMm: plan.options.fieldOfViewMm / 2,
  });
  return { mask, areaCm2: muscleAreaCm2(plan, maskCount) };
}

export function muscleAreaCm2(plan: PhantomPlan, pixelCount: number): number {
  const [rowSpacing, columnSpacing] = plan.layout.pixelSpacingMm;
  return Math.round(((pixelCount * rowSpacing * columnSpacing) / 100) * 1e4) / 1e4;
}

/** HU of the padding value, or null when padding is off. */
export function paddingHu(plan: PhantomPlan): number | null {
  const { pixelPaddingValue, storage } = plan.options;
  if (pixelPaddingValue === null) return null;
  return storage === 'unsigned' ? pixelPaddingValue - 1024 : pixelPaddingValue;
}

function levelTruth(plan: PhantomPlan): PhantomTruth {
  const { options, anatomy, slices, layout } = plan;
  const { vertebrae, discs } = anatomy.spine;
  const vertebraTruth: VertebraTruth[] = vertebrae.map((v) => ({
    name: v.name,
    bodyInferiorMm: v.inferiorMm,
    bodySuperiorMm: v.superiorMm,
    midBodyMm: v.midMm,
    bearsRibs: v.bearsRibs,
    nearestSliceIndex: nearestSlice(plan, v.midMm),
  }));
  const t12 = vertebrae[T12_INDEX];
  const t12Index = nearestSlice(plan, t12.midMm);
  let t12Truth: T12Truth = {
    bodyInferiorMm: t12.inferiorMm,
    bodySuperiorMm: t12.superiorMm,
    midBodyMm: t12.midMm,
    sliceIndex: null,
    instanceNumber: null,
    sopInstanceUid: null,
    zMm: null,
    muscleAreaCm2: null,
    muscleMask: null,
  };
  if (t12Index !== null) {
    const slice = slices[t12Index];
    const { mask, areaCm2 } = sliceMuscleTruth(plan, t12Index);
    t12Truth = {
      ...t12Truth,
      sliceIndex: t12Index,
      instanceNumber: slice.instanceNumber,
      sopInstanceUid: slice.sopInstanceUid,
      zMm: slice.zMm,
      muscleAreaCm2: areaCm2,
      muscleMask: encodeMaskRle(mask, options.rows, options.columns),
    };
  }
  const lowest = vertebrae.filter((v) => v.bearsRibs).pop();
  return {
    format: 'ct-muscle-node/phantom-truth',
    version: 1,
    seed: options.seed,
    studyInstanceUid: plan.studyInstanceUid,
    seriesInstanceUid: plan.seriesInstanceUid,
    frameOfReferenceUid: plan.frameOfReferenceUid,
    patientPosition: options.orientation,
    rows: options.rows,
    columns: options.columns,
    pixelSpacingMm: layout.pixelSpacingMm,
    sliceThicknessMm: options.sliceThicknessMm,
    sliceSpacingMm: options.sliceSpacingMm,
    sliceCount: slices.length,
    zRangeMm: [slices[0].zMm, slices[slices.length - 1].zMm],
    ribPairs: options.ribPairs,
    lowestRibBearing: lowest ? lowest.name : 'T1',
    contrast: options.contrast,
    arms: options.arms,
    table: options.table,
    vertebrae: vertebraTruth,
    discs: discs.map((d) => ({ above: d.above, below: d.below, inferiorMm: d.inferiorMm, superiorMm: d.superiorMm })),
    t12: t12Truth,
    slices: slices.map((s) => ({
      index: s.index,
      instanceNumber: s.instanceNumber,
      sopInstanceUid: s.sopInstanceUid,
      zMm: s.zMm,
      spineLevel: spineLabelAt(anatomy.spine, s.zMm),
      muscleAreaCm2: null,
    })),
  };
}
