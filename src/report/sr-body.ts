/**
 * The SR's groups for measurement.slices "body" (TID 1500, one Imaging Measurements container):
 * beside the measured slice's own group (sr.ts), one group per other measured slice of the
 * vertebral body, each on its own CT slice, and one group for the body: the mean, minimum and
 * maximum of the per-slice figures, the rule that chose the slices, their number and the slices
 * left out. Every group references the one SEG segment (whose frames are those slices).
 */
import type { InstanceHeader } from '../dicom/types.ts';
import { CtMuscleError } from '../errors.ts';
import type { FigureSpread, SliceMeasurement } from '../model/index.ts';
import { CODES, UNITS, type Code } from './codes.ts';
import { roundTo } from './format.ts';
import { codeContent, container, num, scoordPoint, text, type ContentItem, type ImageReference } from './sr-items.ts';
import { groupHead, levelLabelOf, measurementItems, REPORTED_DECIMALS, segmentationRefs } from './sr-group.ts';
import type { BodyFrame, BodyReportInput, SegReference, SrInput } from './types.ts';
import { deriveUid, type UidSeed } from './uids.ts';
import { validateBody } from './validate.ts';

const imageOf = (source: InstanceHeader): ImageReference => ({ sopClassUid: source.sopClassUid, sopInstanceUid: source.sopInstanceUid });

/** The point on a slice its figures are INFERRED FROM (what lets OHIF show them on that slice). */
function pointOn(frame: BodyFrame, source: InstanceHeader): () => ContentItem[] {
  return () => [scoordPoint('INFERRED FROM', frame.anchor.column + 0.5, frame.anchor.row + 0.5, imageOf(source))];
}

/** The body's SEG frames, one per body slice, or E_REPORT_INVALID (a SEG written without the body). */
export function checkBodySr(input: SrInput & { body: BodyReportInput }): BodyFrame[] {
  validateBody(input.body, input.source.sopInstanceUid);
  if (!input.measurements || !input.seg) throw new CtMuscleError('E_REPORT_INVALID', 'body: the figures need the measured slice and its SEG.');
  const frames = input.body.slices.map(({ source }) => input.seg!.bodyFrames?.find((f) => f.sopInstanceUid === source.sopInstanceUid));
  if (frames.some((f) => !f)) throw new CtMuscleError('E_REPORT_INVALID', 'body: the SEG has no frame for every body slice (was it written with the body?).');
  return frames as BodyFrame[];
}

/** One measured slice other than the level's: its figures, its position and its own flags. */
function sliceGroup(input: SrInput, seg: SegReference, slice: SliceMeasurement, source: InstanceHeader, frame: BodyFrame, label: string, seed: UidSeed): ContentItem {
  // The tracking UID of "muscle on this slice by this model", as a run measuring this slice would derive it.
  const trackingUid = deriveUid({ ...seed, sourceSopInstanceUid: source.sopInstanceUid }, 'tracking');
  return container('CONTAINS', CODES.measurementGroup, [
    ...groupHead(input, label, trackingUid),
    ...segmentationRefs(seg, source.seriesInstanceUid, [imageOf(source)]),
    ...measurementItems(slice.muscle, pointOn(frame, source)),
    text('CONTAINS', CODES.bodySliceRule, input.body!.figures.rule),
    num('CONTAINS', CODES.imagePositionZ, slice.zMm, UNITS.millimeter),
    ...slice.flags.map((flag) => text('CONTAINS', CODES.processingFlag, flag)),
  ]);
}

/** Mean, minimum and maximum of one figure, each a NUM with its Derivation. */
function spreadItems(name: Code, spread: FigureSpread | null, decimals: number, unit: Code, where: () => ContentItem[], derivations: Array<keyof FigureSpread> = ['mean', 'min', 'max']): ContentItem[] {
  if (!spread) return [];
  const code = { mean: CODES.mean, min: CODES.minimum, max: CODES.maximum };
  return derivations.filter((d) => Number.isFinite(spread[d])).map((d) => num('CONTAINS', name, roundTo(spread[d], decimals), unit, [codeContent('HAS CONCEPT MOD', CODES.derivation, code[d]), ...where()]));
}

/**
 * The body's group. Its NUMs are anchored on the level's slice (the middle of the body) so a
 * viewer shows them there. Mean HU gets a mean only: a "minimum attenuation" would read as the
 * darkest pixel, not the lowest slice mean (the JSON result has the range).
 */
function bodyGroup(input: SrInput, seg: SegReference, sources: InstanceHeader[], seed: UidSeed): ContentItem {
  const { figures } = input.body!;
  const mid = seg.bodyFrames!.find((f) => f.sopInstanceUid === input.source.sopInstanceUid)!;
  const where = pointOn(mid, input.source);
  const label = `Skeletal muscle at ${levelLabelOf(input.level)}, mean of ${figures.slices.length} body slices`;
  return container('CONTAINS', CODES.measurementGroup, [
    ...groupHead(input, label, deriveUid(seed, 'tracking-body')),
    ...segmentationRefs(seg, input.source.seriesInstanceUid, sources.map(imageOf)),
    ...spreadItems(CODES.areaOfDefinedRegion, figures.areaCm2, REPORTED_DECIMALS.areaCm2, UNITS.squareCentimeter, where),
    ...spreadItems(CODES.attenuationCoefficient, figures.meanHu, REPORTED_DECIMALS.hu, UNITS.hounsfieldUnit, where, ['mean']),
    ...spreadItems(CODES.imatArea, figures.imatAreaCm2, REPORTED_DECIMALS.areaCm2, UNITS.squareCentimeter, where),
    ...spreadItems(CODES.skeletalMuscleIndex, figures.smiCm2PerM2, REPORTED_DECIMALS.smi, UNITS.squareCentimeterPerSquareMeter, where),
    num('CONTAINS', CODES.bodySliceCount, figures.slices.length, UNITS.noUnits),
    text('CONTAINS', CODES.bodySliceRule, `${figures.rule}; each figure is the unweighted mean of the per-slice figures, with their minimum and maximum`),
    ...figures.notMeasured.map((s) => text('CONTAINS', CODES.processingFlag, `slice at z ${s.zMm.toFixed(1)} mm not measured (${s.code}): ${s.message}`)),
  ]);
}

/** The groups after the measured slice's: the body's, then every other body slice's, inferior → superior. */
export function bodyGroups(input: SrInput & { body: BodyReportInput }, frames: BodyFrame[], seed: UidSeed): ContentItem[] {
  const seg = input.seg!;
  const { figures, slices } = input.body;
  const sources = slices.map((s) => s.source);
  const groups = [bodyGroup(input, seg, sources, seed)];
  const level = levelLabelOf(input.level);
  slices.forEach(({ source }, i) => {
    if (source.sopInstanceUid === input.source.sopInstanceUid) return;
    const label = `Skeletal muscle at ${level}, body slice ${i + 1} of ${slices.length} (z ${figures.slices[i].zMm.toFixed(1)} mm)`;
    groups.push(sliceGroup(input, seg, figures.slices[i], source, frames[i], label, seed));
  });
  return groups;
}
