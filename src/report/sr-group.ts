/**
 * The parts of a TID 1500 measurement group (TID 1411 pattern) that every group of the SR shares:
 * the head (tracking, finding, site, algorithm), the references to the SEG segment and its
 * source images, and the measurement NUMs. Used by sr.ts (the measured slice) and sr-body.ts
 * (the other slices of a vertebral body and the body's mean).
 */
import type { MuscleMeasurements } from '../model/index.ts';
import { CODES, UNITS, VERTEBRA_CODES, type Code } from './codes.ts';
import { roundTo } from './format.ts';
import { codeContent, image, num, text, uidref, type ContentItem, type ImageReference } from './sr-items.ts';
import type { SegReference, SrInput } from './types.ts';

/** Reported precision: NUM values are decimal strings; the JSON result keeps full precision. */
export const REPORTED_DECIMALS = { areaCm2: 2, hu: 1, percent: 1, smi: 2, confidence: 3 } as const;

export const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** "T12", or "given slice" when a person chose the slice. */
export function levelLabelOf(level: SrInput['level']): string {
  return level.name === 'as-provided' ? 'given slice' : level.name;
}

/**
 * The measurement NUMs. Each is INFERRED FROM a point on the measured slice (TID 300 → TID 320)
 * when the SEG gave one: the region itself is the SEG segment, the point only says "on this
 * image, here". OHIF 3.13 skips NUMs whose children hold no SCOORD and draws nothing for a group
 * without one, so without it the viewer would show neither the mean nor the SD.
 */
export function measurementItems(m: MuscleMeasurements, where: () => ContentItem[]): ContentItem[] {
  const items: ContentItem[] = [];
  const add = (name: Code, value: number, unit: Code, modifiers: ContentItem[] = []) => items.push(num('CONTAINS', name, value, unit, [...modifiers, ...where()]));
  if (finite(m.areaCm2)) add(CODES.areaOfDefinedRegion, roundTo(m.areaCm2, REPORTED_DECIMALS.areaCm2), UNITS.squareCentimeter);
  if (finite(m.meanHu)) add(CODES.attenuationCoefficient, roundTo(m.meanHu, REPORTED_DECIMALS.hu), UNITS.hounsfieldUnit, [codeContent('HAS CONCEPT MOD', CODES.derivation, CODES.mean)]);
  if (finite(m.sdHu)) add(CODES.attenuationCoefficient, roundTo(m.sdHu, REPORTED_DECIMALS.hu), UNITS.hounsfieldUnit, [codeContent('HAS CONCEPT MOD', CODES.derivation, CODES.standardDeviation)]);
  if (finite(m.imatAreaCm2)) add(CODES.imatArea, roundTo(m.imatAreaCm2, REPORTED_DECIMALS.areaCm2), UNITS.squareCentimeter);
  if (finite(m.lowAttenuationFraction)) add(CODES.lowAttenuationFraction, roundTo(m.lowAttenuationFraction * 100, REPORTED_DECIMALS.percent), UNITS.percent);
  if (finite(m.smiCm2PerM2)) add(CODES.skeletalMuscleIndex, roundTo(m.smiCm2PerM2, REPORTED_DECIMALS.smi), UNITS.squareCentimeterPerSquareMeter);
  return items;
}

function algorithmItems(input: Pick<SrInput, 'segmenter' | 'huWindow'>): ContentItem[] {
  const { segmenter, huWindow } = input;
  const items = [
    text('HAS CONCEPT MOD', CODES.algorithmName, segmenter.id),
    text('HAS CONCEPT MOD', CODES.algorithmVersion, segmenter.version),
    text('HAS CONCEPT MOD', CODES.algorithmParameters, `muscle HU window ${huWindow.lowerHu}..${huWindow.upperHu}`),
  ];
  if (segmenter.prompt) items.push(text('HAS CONCEPT MOD', CODES.algorithmParameters, `prompt: ${segmenter.prompt}`));
  return items;
}

/**
 * A group's first items: Tracking Identifier (the label a viewer lists), Tracking UID, finding,
 * finding site (none for a given slice) and the algorithm. The Tracking UID must be the group's
 * first UIDREF: OHIF takes the first UIDREF it finds as the measurement's Tracking Unique Identifier.
 */
export function groupHead(input: Pick<SrInput, 'level' | 'segmenter' | 'huWindow'>, label: string, trackingUid: string): ContentItem[] {
  const items: ContentItem[] = [
    text('HAS OBS CONTEXT', CODES.trackingIdentifier, label),
    uidref('HAS OBS CONTEXT', CODES.trackingUniqueIdentifier, trackingUid),
    codeContent('CONTAINS', CODES.finding, CODES.skeletalMuscle),
  ];
  if (input.level.name !== 'as-provided') items.push(codeContent('HAS CONCEPT MOD', CODES.findingSite, VERTEBRA_CODES[input.level.name]));
  return [...items, ...algorithmItems(input)];
}

/** The SEG segment, the CT series it was made on and the slice(s) of it the group's figures come from. */
export function segmentationRefs(seg: SegReference, seriesInstanceUid: string, sources: ImageReference[]): ContentItem[] {
  return [
    // Segment number only: PS3.3 forbids ReferencedFrameNumber beside ReferencedSegmentNumber.
    image('CONTAINS', CODES.referencedSegment, { sopClassUid: seg.sopClassUid, sopInstanceUid: seg.sopInstanceUid, segmentNumber: seg.segmentNumber }),
    uidref('CONTAINS', CODES.sourceSeriesForSegmentation, seriesInstanceUid),
    ...sources.map((source) => image('CONTAINS', CODES.sourceImageForSegmentation, source)),
  ];
}
