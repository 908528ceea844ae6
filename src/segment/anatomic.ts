/**
 * The embedded default segmenter: model-free, deterministic, anatomy first. Trunk outline (table
 * and arms removed) → subcutaneous fat → the muscle band of the body wall and the paraspinal
 * muscles, bounded inside by the ribs and vertebral arches (so liver, spleen, kidneys, heart,
 * bowel and vessels, which lie deeper, are never reached) → the paper's −29..150 HU rule → tiny
 * islands removed.
 */
import { bodyParts } from './body.ts';
import { posteriorInImage } from './directions.ts';
import { finishMuscleMask } from './hu-rule.ts';
import { boxMean3, close, countOnes } from '../image/morphology.ts';
import type { SegmentInput, SegmentResult, Segmenter } from './types.ts';
import { clearParavertebral, findSpine } from './spine.ts';
import { trunkCentre, wallBand } from './wall-rays.ts';
import { stopwatch } from './stopwatch.ts';

export const ANATOMIC_SEGMENTER_ID = 'ct-muscle-node/anatomic';
export const ANATOMIC_SEGMENTER_VERSION = '1.1.0';
/** Gaps between muscle bellies up to this radius count as intermuscular (for the IMAT envelope). */
const ENVELOPE_CLOSE_MM = 4;

export function segmentAnatomic(input: SegmentInput): SegmentResult {
  const { hu, rows, columns, pixelSpacingMm: spacing } = input;
  const { timingsMs, lap } = stopwatch();
  const smooth = boxMean3(hu, rows, columns, spacing);
  const { trunk, arms, armPixels } = bodyParts(smooth, rows, columns, spacing);
  lap('body');
  const posterior = posteriorInImage(input.rowCosine, input.columnCosine);
  const centre = trunkCentre(trunk, rows, columns, spacing);
  const { band, boneRays, rays } = wallBand(smooth, trunk, rows, columns, spacing, posterior, centre);
  lap('wall');
  const spine = centre ? findSpine(smooth, trunk, rows, columns, spacing, posterior, centre) : null;
  const cleared = centre && spine ? clearParavertebral(band, rows, columns, spacing, posterior, centre, spine) : 0;
  lap('spine');
  const mask = finishMuscleMask(band, hu, rows, columns, spacing);
  const closed = close(mask, rows, columns, spacing, ENVELOPE_CLOSE_MM);
  const envelope = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) envelope[i] = mask[i] || (closed[i] && band[i]) ? 1 : 0;
  lap('mask');
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
      notes: [`trunk ${countOnes(trunk)} px, muscle ${countOnes(mask)} px`, spine?.found ? `vertebra found; ${cleared} paravertebral px cleared` : 'no vertebra found'],
    },
  };
}

export const anatomicSegmenter: Segmenter = {
  id: ANATOMIC_SEGMENTER_ID,
  version: ANATOMIC_SEGMENTER_VERSION,
  segment: async (input) => segmentAnatomic(input),
};
