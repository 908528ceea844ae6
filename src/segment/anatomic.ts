/**
 * The embedded default segmenter: model-free, deterministic, anatomy first. Trunk outline (table
 * and arms removed) → subcutaneous fat → the muscle band of the body wall and the paraspinal
 * muscles, bounded inside by the ribs and vertebral arches (so liver, spleen, kidneys, heart,
 * bowel and vessels, which lie deeper, are never reached) → the paper's −29..150 HU rule → tiny
 * islands removed.
 */
import { bodyParts } from './body.ts';
import { leftInImage, posteriorInImage } from './directions.ts';
import { finishMuscleMask } from './hu-rule.ts';
import { boxMean3, close, countOnes } from '../image/morphology.ts';
import type { SegmentInput, SegmentResult, Segmenter } from './types.ts';
import { clearBoneEdge } from './bone-edge.ts';
import { clearOrganEdge } from './organ-edge.ts';
import { clearLineaAlba } from './linea-alba.ts';
import { posteriorWallMuscles, psoasOptionsFor, type PsoasOptions } from './psoas.ts';
import { anatomicReviewFlags, outlineOnEdge, pelvisBeside } from './scope.ts';
import { clearParavertebral, findSpine, type TrunkSlice } from './spine.ts';
import { trunkCentre, wallBand, type WallRayOptions } from './wall-rays.ts';
import { stopwatch } from './stopwatch.ts';

export const ANATOMIC_SEGMENTER_ID = 'ct-muscle-node/anatomic';
export const ANATOMIC_SEGMENTER_VERSION = '1.7.0';
/** Gaps between muscle bellies up to this radius count as intermuscular (for the IMAT envelope). */
const ENVELOPE_CLOSE_MM = 4;

export interface AnatomicOptions {
  /** Search for psoas and quadratus lumborum beside the vertebra (default true; off only to show what the rule adds). */
  posteriorWallMuscles?: boolean;
  /** Clear enhancing-organ partial volume after the HU rule (default true; off only to show what the rule does). */
  organEdge?: boolean;
  /** Clear the wall at the linea alba where an organ lies beneath it (default true; off only to show what the rule does). */
  lineaAlba?: boolean;
  /** Wall-ray settings (default DEFAULT_WALL_RAY_OPTIONS; others only to show what a setting does). */
  wallRays?: WallRayOptions;
  /** Psoas and quadratus lumborum settings (default DEFAULT_PSOAS_OPTIONS; others only to show what a setting does). */
  psoas?: PsoasOptions;
}

export function segmentAnatomic(input: SegmentInput, options: AnatomicOptions = {}): SegmentResult {
  const { hu, rows, columns, pixelSpacingMm: spacing } = input;
  const { timingsMs, lap } = stopwatch();
  const smooth = boxMean3(hu, rows, columns, spacing);
  const { trunk, arms, armPixels } = bodyParts(smooth, rows, columns, spacing);
  lap('body');
  const posterior = posteriorInImage(input.rowCosine, input.columnCosine);
  const centre = trunkCentre(trunk, rows, columns, spacing);
  const { band, boneRays, rays } = wallBand(smooth, trunk, rows, columns, spacing, posterior, centre, options.wallRays);
  lap('wall');
  const slice: TrunkSlice | null = centre ? { smoothHu: smooth, trunk, rows, columns, spacing, posterior, centre } : null;
  const spine = slice ? findSpine(slice) : null;
  const cleared = slice && spine ? clearParavertebral(band, slice, spine) : 0;
  lap('spine');
  const deep = slice && spine?.found && options.posteriorWallMuscles !== false ? posteriorWallMuscles(slice, band, spine, leftInImage(input.rowCosine, input.columnCosine), psoasOptionsFor(input.level, options.psoas)) : null;
  if (deep) for (let i = 0; i < band.length; i++) band[i] |= deep.mask[i];
  lap('psoas');
  const lineaAlba = slice && spine?.found && options.lineaAlba !== false ? clearLineaAlba(band, hu, rows, columns, spacing, { canal: spine.canal, posterior, centre: slice.centre }) : 0;
  const boneEdge = clearBoneEdge(band, hu, rows, columns);
  const mask = finishMuscleMask(band, hu, rows, columns, spacing);
  const organEdge = options.organEdge === false ? 0 : clearOrganEdge(mask, hu, rows, columns);
  const closed = close(mask, rows, columns, spacing, ENVELOPE_CLOSE_MM);
  const envelope = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) envelope[i] = mask[i] || (closed[i] && band[i]) ? 1 : 0;
  lap('mask');
  const left = leftInImage(input.rowCosine, input.columnCosine);
  const pixelCm2 = (spacing[0] * spacing[1]) / 100;
  const reviewFlags = anatomicReviewFlags({
    level: input.level,
    outlineOnEdge: outlineOnEdge(trunk, rows, columns),
    pelvis: spine?.found ? pelvisBeside(smooth, trunk, spine.vertebra, rows, columns, spacing, (x, y) => (x - spine.canal[0]) * left[0] + (y - spine.canal[1]) * left[1]) : false,
    vertebraFound: spine?.found ?? false,
    // Not searched although a vertebra was found counts as not found: the area is still short.
    psoasCm2: deep ? [deep.psoasPixels[0] * pixelCm2, deep.psoasPixels[1] * pixelCm2] : spine?.found ? [0, 0] : null,
    quadratusCm2: deep ? [deep.quadratusPixels[0] * pixelCm2, deep.quadratusPixels[1] * pixelCm2] : spine?.found ? [0, 0] : null,
  });
  lap('scope');
  return {
    mask,
    envelope,
    body: trunk,
    arms,
    segmenter: { id: ANATOMIC_SEGMENTER_ID, version: ANATOMIC_SEGMENTER_VERSION },
    diagnostics: {
      prompt: { source: 'none', box: null, score: null },
      scores: { boneCoveredRayFraction: rays > 0 ? boneRays / rays : 0 },
      timingsMs,
      armPixels,
      canalMm: spine?.found ? spine.canal : null,
      notes: [
        `trunk ${countOnes(trunk)} px, muscle ${countOnes(mask)} px`,
        spine?.found ? `vertebra found; ${cleared} paravertebral px cleared` : 'no vertebra found',
        `${lineaAlba} px of the linea alba cleared (organ beneath)`,
        `${boneEdge} px of bone-edge partial volume cleared`,
        `${organEdge} px of enhancing-organ partial volume cleared`,
        deep ? `psoas ${deep.psoasPixels.join('/')} px, quadratus lumborum ${deep.quadratusPixels.join('/')} px (right/left, before the HU rule)` : 'psoas and quadratus lumborum not searched',
      ],
    },
    reviewFlags,
  };
}

export const anatomicSegmenter: Segmenter = {
  id: ANATOMIC_SEGMENTER_ID,
  version: ANATOMIC_SEGMENTER_VERSION,
  segment: async (input) => segmentAnatomic(input),
};
