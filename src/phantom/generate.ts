/**
 * The pure core: slices one at a time, in acquisition order, as HU arrays with geometry and
 * truth. Nothing is written and nothing from earlier slices is kept, so a 1,000-slice series
 * streams in constant memory.
 */
import { CtMuscleError } from '../errors.ts';
import type { Orientation6 } from './geometry.ts';
import { composeSlice, sliceNoise } from './image.ts';
import type { PhantomOptions } from './options.ts';
import { muscleAreaCm2, paddingHu, planPhantom, type PhantomPlan, type PlannedSlice } from './plan.ts';
import { renderLabels } from './render.ts';
import { spineLabelAt } from './levels.ts';

export interface PhantomSlice extends PlannedSlice {
  imageOrientationPatient: Orientation6;
  rows: number;
  columns: number;
  /** [row spacing, column spacing] in mm. */
  pixelSpacingMm: [number, number];
  /** HU, row-major in the stored pixel layout (padding pixels hold the padding value's HU). */
  hu: Int16Array;
  /** Tissue label per pixel (see TISSUE), same layout. */
  labels: Uint8Array;
  /** 1 where the pixel is trunk skeletal muscle (not arm muscle, not intramuscular fat). */
  muscleMask: Uint8Array;
  muscleAreaCm2: number;
  /** What the slice cuts at the spine: 'T12', 'T12/L1' (disc) or null. */
  spineLevel: string | null;
}

/** Render one planned slice (by inferior → superior index). */
export function renderPhantomSlice(plan: PhantomPlan, index: number): PhantomSlice {
  const planned = plan.slices[index];
  if (!planned) throw new CtMuscleError('E_PHANTOM_OPTIONS', `Slice index ${index} is outside the series (0…${plan.slices.length - 1}).`);
  const { layout, options } = plan;
  const labels = renderLabels(plan.anatomy, planned.zMm, layout.grid);
  const noise = sliceNoise(options.seed, planned.zMm, options.columns, options.rows, options.noiseSd);
  const { hu, mask, maskCount } = composeSlice(labels, layout, {
    huTable: plan.huTable,
    noise,
    paddingHu: paddingHu(plan),
    circleRadiusMm: options.fieldOfViewMm / 2,
  });
  return {
    index: planned.index,
    acquisitionIndex: planned.acquisitionIndex,
    instanceNumber: planned.instanceNumber,
    sopInstanceUid: planned.sopInstanceUid,
    zMm: planned.zMm,
    imagePositionPatient: [...planned.imagePositionPatient],
    imageOrientationPatient: [...layout.imageOrientationPatient],
    rows: options.rows,
    columns: options.columns,
    pixelSpacingMm: [...layout.pixelSpacingMm],
    hu,
    labels,
    muscleMask: mask,
    muscleAreaCm2: muscleAreaCm2(plan, maskCount),
    spineLevel: spineLabelAt(plan.anatomy.spine, planned.zMm),
  };
}

/** Slices in acquisition order (head → feet for head-first positions). Accepts options or a plan. */
export function* generatePhantomSlices(input: PhantomOptions | PhantomPlan = {}): Generator<PhantomSlice, void, undefined> {
  const plan = planPhantom(input);
  for (const index of plan.acquisitionOrder) yield renderPhantomSlice(plan, index);
}
