/**
 * TID 1500 "Imaging Measurement Report" as a Comprehensive 3D SR: language, a device observer
 * (this node running the model), the procedure, an image library with the measured CT slice,
 * and one measurement group (TID 1411 pattern, as dcmqi writes it) for skeletal muscle at the
 * chosen vertebral level with a reference to the SEG segment, NUM items in UCUM units, and how
 * the slice was chosen. Numbers that are not finite are left out, never written as NaN.
 * When the slice is not measurable the group says why and carries no numbers and no SEG link.
 */
import type { InstanceHeader, NaturalDataset } from '../dicom/types.ts';
import { CtMuscleError } from '../errors.ts';
import { CODES, PRIVATE_SCHEME, UNITS, VERTEBRA_CODES, codeItem, type Code } from './codes.ts';
import { clampText, requireIntegerString, roundTo } from './format.ts';
import { writePart10 } from './part10.ts';
import { patientStudyAttributes } from './patient-study.ts';
import { equipmentModule, outputText, SEG_SOP_CLASS_UID, uidSeedOf } from './seg.ts';
import { codeContent, container, image, num, scoordPoint, text, uidref, type ContentItem } from './sr-items.ts';
import type { LevelName, MuscleMeasurements } from '../model/index.ts';
import type { ReportOptions, SrInput, SrOutput } from './types.ts';
import { deriveSeriesNumber, deriveUid, deviceObserverUid, dicomDateTime, type UidSeed } from './uids.ts';
import { validateCommon, validateMeasurements } from './validate.ts';

export const COMPREHENSIVE_3D_SR_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.88.34';

/** Reported precision: NUM values are decimal strings; the JSON result keeps full precision. */
export const REPORTED_DECIMALS = { areaCm2: 2, hu: 1, percent: 1, smi: 2, confidence: 3 } as const;

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The measurement NUMs. Each is INFERRED FROM a point on the measured slice (TID 300 → TID 320)
 * when the SEG gave one: the region itself is the SEG segment, the point only says "on this
 * image, here". OHIF 3.13 skips NUMs whose children hold no SCOORD and draws nothing for a group
 * without one, so without it the viewer would show neither the mean nor the SD.
 */
function measurementItems(m: MuscleMeasurements, where: () => ContentItem[]): ContentItem[] {
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

/** How the level and slice were chosen, the HU window and the flags: free text a reader can audit. */
function provenanceItems(input: SrInput): ContentItem[] {
  const { level } = input;
  const items: ContentItem[] = [];
  const method = level.name === 'as-provided' ? (level.method ?? 'as-provided') : level.method;
  items.push(text('CONTAINS', CODES.sliceSelectionMethod, method));
  if (level.rule) items.push(text('CONTAINS', CODES.sliceSelectionRule, level.rule));
  if (finite(level.confidence ?? null)) {
    items.push(num('CONTAINS', CODES.sliceSelectionConfidence, roundTo(level.confidence!, REPORTED_DECIMALS.confidence), UNITS.noUnits));
  }
  if (finite(level.zMm)) items.push(num('CONTAINS', CODES.imagePositionZ, level.zMm, UNITS.millimeter));
  for (const warning of level.warnings ?? []) items.push(text('CONTAINS', CODES.sliceSelectionWarning, warning));
  for (const flag of input.flags) items.push(text('CONTAINS', CODES.processingFlag, flag));
  return items;
}

function algorithmItems(input: SrInput): ContentItem[] {
  const { segmenter, huWindow } = input;
  const items = [
    text('HAS CONCEPT MOD', CODES.algorithmName, segmenter.id),
    text('HAS CONCEPT MOD', CODES.algorithmVersion, segmenter.version),
    text('HAS CONCEPT MOD', CODES.algorithmParameters, `muscle HU window ${huWindow.lowerHu}..${huWindow.upperHu}`),
  ];
  if (segmenter.prompt) items.push(text('HAS CONCEPT MOD', CODES.algorithmParameters, `prompt: ${segmenter.prompt}`));
  return items;
}

function measurementGroup(input: SrInput, trackingUid: string): ContentItem {
  const { source, level, seg, measurements } = input;
  const levelLabel = level.name === 'as-provided' ? 'given slice' : level.name;
  const sourceImage = { sopClassUid: source.sopClassUid, sopInstanceUid: source.sopInstanceUid };
  // Tracking UID must be the group's first UIDREF: OHIF takes the first UIDREF it finds as the
  // measurement's Tracking Unique Identifier.
  const children: ContentItem[] = [
    text('HAS OBS CONTEXT', CODES.trackingIdentifier, `Skeletal muscle at ${levelLabel}`),
    uidref('HAS OBS CONTEXT', CODES.trackingUniqueIdentifier, trackingUid),
    codeContent('CONTAINS', CODES.finding, CODES.skeletalMuscle),
  ];
  if (level.name !== 'as-provided') children.push(codeContent('HAS CONCEPT MOD', CODES.findingSite, VERTEBRA_CODES[level.name]));
  children.push(...algorithmItems(input));
  if (seg && measurements) {
    children.push(
      // Segment number only: PS3.3 forbids ReferencedFrameNumber beside ReferencedSegmentNumber.
      image('CONTAINS', CODES.referencedSegment, { sopClassUid: seg.sopClassUid, sopInstanceUid: seg.sopInstanceUid, segmentNumber: seg.segmentNumber }),
      uidref('CONTAINS', CODES.sourceSeriesForSegmentation, source.seriesInstanceUid),
      image('CONTAINS', CODES.sourceImageForSegmentation, sourceImage),
      ...measurementItems(measurements, () =>
        seg.anchor ? [scoordPoint('INFERRED FROM', seg.anchor.column + 0.5, seg.anchor.row + 0.5, sourceImage)] : [],
      ),
    );
  } else {
    children.push(text('CONTAINS', CODES.notMeasurable, input.notMeasurableReason!));
  }
  children.push(...provenanceItems(input));
  return container('CONTAINS', CODES.measurementGroup, children);
}

function imageLibrary(source: InstanceHeader): ContentItem {
  const group: ContentItem[] = [codeContent('HAS ACQ CONTEXT', CODES.modality, CODES.computedTomography)];
  if (source.frameOfReferenceUid) group.push(uidref('HAS ACQ CONTEXT', CODES.frameOfReferenceUid, source.frameOfReferenceUid));
  group.push(image('CONTAINS', null, { sopClassUid: source.sopClassUid, sopInstanceUid: source.sopInstanceUid }));
  return container('CONTAINS', CODES.imageLibrary, [container('CONTAINS', CODES.imageLibraryGroup, group)]);
}

function checkSrInput(input: SrInput): void {
  validateCommon(input);
  if (input.measurements) validateMeasurements(input.measurements);
  if (input.measurements && !input.seg) {
    throw new CtMuscleError('E_REPORT_INVALID', 'Measurements need the SEG they were made on (seg is null).');
  }
  if (!input.measurements && !(typeof input.notMeasurableReason === 'string' && input.notMeasurableReason.trim() !== '')) {
    throw new CtMuscleError('E_REPORT_INVALID', 'Without measurements the SR needs notMeasurableReason.');
  }
  if (input.verification) {
    const { observerName, organization, dateTime } = input.verification;
    if (!observerName?.trim() || !organization?.trim() || Number.isNaN(dateTime?.getTime())) {
      throw new CtMuscleError('E_REPORT_INVALID', 'A verified SR needs the verifying observer\'s name, organization and a valid date.');
    }
    if (!input.measurements) throw new CtMuscleError('E_REPORT_INVALID', 'Only a measured report can be verified; a not-measurable one has nothing to verify.');
  }
  if (input.predecessor && !input.options?.revision) {
    throw new CtMuscleError('E_REPORT_INVALID', 'An amended SR needs options.revision: it must not reuse the UIDs of the SR it amends.');
  }
  if (input.seg && input.seg.sopClassUid !== SEG_SOP_CLASS_UID) {
    throw new CtMuscleError('E_REPORT_INVALID', `seg.sopClassUid must be Segmentation Storage; got ${input.seg.sopClassUid}.`);
  }
}

/** Every instance the tree references must be listed as evidence: the CT slice and the SEG. */
function evidenceOf(input: SrInput): NaturalDataset[] {
  const { source, seg } = input;
  const evidenceSeries: NaturalDataset[] = [
    {
      SeriesInstanceUID: source.seriesInstanceUid,
      ReferencedSOPSequence: [{ ReferencedSOPClassUID: source.sopClassUid, ReferencedSOPInstanceUID: source.sopInstanceUid }],
    },
  ];
  if (seg && input.measurements) {
    evidenceSeries.push({
      SeriesInstanceUID: seg.seriesInstanceUid,
      ReferencedSOPSequence: [{ ReferencedSOPClassUID: seg.sopClassUid, ReferencedSOPInstanceUID: seg.sopInstanceUid }],
    });
  }
  return evidenceSeries;
}

/** VerificationFlag and, when verified, the Verifying Observer (SR Document General, Type 1C). */
function verificationAttributes(input: Pick<SrInput, 'verification'>): NaturalDataset {
  if (!input.verification) return { CompletionFlag: 'PARTIAL', VerificationFlag: 'UNVERIFIED' };
  const { observerName, organization, dateTime } = input.verification;
  const when = dicomDateTime(dateTime);
  // PS3.3 C.17.2: only a COMPLETE document may be VERIFIED; a person checked it, so it is complete.
  return {
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'VERIFIED',
    VerifyingObserverSequence: [
      {
        VerifyingObserverName: clampText(observerName, 64),
        VerifyingObserverIdentificationCodeSequence: [],
        VerifyingOrganization: clampText(organization, 64),
        VerificationDateTime: `${when.date}${when.time}${when.timezoneOffset}`,
      },
    ],
  };
}

/** The SR this one amends (Type 1C: present when the document replaces another). */
function predecessorAttributes(input: Pick<SrInput, 'predecessor'>): NaturalDataset {
  const p = input.predecessor;
  if (!p) return {};
  return {
    PredecessorDocumentsSequence: [
      {
        StudyInstanceUID: p.studyInstanceUid,
        ReferencedSeriesSequence: [{ SeriesInstanceUID: p.seriesInstanceUid, ReferencedSOPSequence: [{ ReferencedSOPClassUID: p.sopClassUid, ReferencedSOPInstanceUID: p.sopInstanceUid }] }],
      },
    ],
  };
}

export function writeSr(input: SrInput): SrOutput {
  checkSrInput(input);
  const seed = uidSeedOf(input);
  const trackingUid = deriveUid(seed, 'tracking');
  const { levelText } = outputText(input);
  return srDocument({ input, seed, trackingUid, title: `Muscle report ${levelText}`, group: measurementGroup(input, trackingUid), evidence: evidenceOf(input) });
}

/** What a study that was looked at but not measured gets: an SR saying why (no slice was measured). */
export interface NotMeasuredSrInput {
  /** An image of the study (the chosen series' middle slice, else any CT image): patient/study attributes and evidence. */
  source: InstanceHeader;
  /** The level the node looked for. */
  target: LevelName;
  /** The status code (e.g. E_LEVEL_NOT_IN_VIEW) and a sentence for the reader. */
  code: string;
  reason: string;
  /** This software's name and version, in place of a segmenter (none ran). */
  software: { id: string; version: string };
  options?: ReportOptions;
}

/**
 * TID 1500 for a study the node looked at but could not measure: one measurement group for
 * skeletal muscle at the target level, with "not measurable" and the reason, no numbers, no SEG.
 * UIDs derive from the study's image, the code and the software version: a re-run writes the same
 * instance, another reason a new one.
 */
export function writeNotMeasuredSr(input: NotMeasuredSrInput): SrOutput {
  if (!input.reason.trim() || !input.code.trim()) throw new CtMuscleError('E_REPORT_INVALID', 'A not-measured SR needs a code and a reason.');
  const { source, software } = input;
  const seed = { sourceSopInstanceUid: source.sopInstanceUid, modelId: `not-measured:${input.code}`, modelVersion: software.version, revision: input.options?.revision };
  const trackingUid = deriveUid(seed, 'tracking');
  const group = container('CONTAINS', CODES.measurementGroup, [
    text('HAS OBS CONTEXT', CODES.trackingIdentifier, `Skeletal muscle at ${input.target}`),
    uidref('HAS OBS CONTEXT', CODES.trackingUniqueIdentifier, trackingUid),
    codeContent('CONTAINS', CODES.finding, CODES.skeletalMuscle),
    codeContent('HAS CONCEPT MOD', CODES.findingSite, VERTEBRA_CODES[input.target]),
    text('HAS CONCEPT MOD', CODES.algorithmName, software.id),
    text('HAS CONCEPT MOD', CODES.algorithmVersion, software.version),
    text('CONTAINS', CODES.notMeasurable, input.reason),
    text('CONTAINS', CODES.processingFlag, input.code),
  ]);
  const evidence = [{ SeriesInstanceUID: source.seriesInstanceUid, ReferencedSOPSequence: [{ ReferencedSOPClassUID: source.sopClassUid, ReferencedSOPInstanceUID: source.sopInstanceUid }] }];
  return srDocument({ input: { source, segmenter: software, options: input.options }, seed, trackingUid, title: `Muscle not measured ${input.target}`, group, evidence });
}

interface SrDocumentParts {
  /** The source image, the model (or software) that wrote the SR, and the options. */
  input: { source: InstanceHeader; segmenter: { id: string; version: string }; options?: ReportOptions } & Pick<SrInput, 'verification' | 'predecessor'>;
  seed: UidSeed;
  trackingUid: string;
  title: string;
  group: ContentItem;
  evidence: NaturalDataset[];
}

/** The SR document around one measurement group: observer context, image library, series, evidence. */
function srDocument(parts: SrDocumentParts): SrOutput {
  const { input, seed } = parts;
  const { source, segmenter, options = {} } = input;
  const sopInstanceUid = deriveUid(seed, 'sr');
  const seriesInstanceUid = deriveUid(seed, 'series-sr');
  const seriesNumber = requireIntegerString(deriveSeriesNumber(segmenter.id, segmenter.version, options.seriesNumber) + 1, 'SR SeriesNumber');
  const { created, manufacturer, modelText } = outputText(input);
  const root: ContentItem[] = [
    codeContent('HAS CONCEPT MOD', CODES.language, CODES.english, [codeContent('HAS CONCEPT MOD', CODES.countryOfLanguage, CODES.unitedStates)]),
    codeContent('HAS OBS CONTEXT', CODES.observerType, CODES.device),
    uidref('HAS OBS CONTEXT', CODES.deviceObserverUid, deviceObserverUid(manufacturer, segmenter.id, segmenter.version)),
    text('HAS OBS CONTEXT', CODES.deviceObserverName, 'ct-muscle-node'),
    text('HAS OBS CONTEXT', CODES.deviceObserverManufacturer, manufacturer),
    text('HAS OBS CONTEXT', CODES.deviceObserverModelName, modelText),
    codeContent('HAS CONCEPT MOD', CODES.procedureReported, CODES.ctUnspecifiedBodyRegion),
    imageLibrary(source),
    container('CONTAINS', CODES.imagingMeasurements, [parts.group]),
  ];
  const dataset: NaturalDataset = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: COMPREHENSIVE_3D_SR_SOP_CLASS_UID,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: created.date,
    InstanceCreationTime: created.time,
    TimezoneOffsetFromUTC: created.timezoneOffset,
    ...patientStudyAttributes(source),
    // SR Document Series
    Modality: 'SR',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: seriesNumber,
    SeriesDate: created.date,
    SeriesTime: created.time,
    SeriesDescription: clampText(`${parts.title} (${modelText})`, 64),
    ReferencedPerformedProcedureStepSequence: [],
    // General + Enhanced General Equipment
    ...equipmentModule(input),
    // SR Document General
    InstanceNumber: 1,
    ContentDate: created.date,
    ContentTime: created.time,
    ...verificationAttributes(input),
    ...predecessorAttributes(input),
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [{ StudyInstanceUID: source.studyInstanceUid, ReferencedSeriesSequence: parts.evidence }],
    CodingSchemeIdentificationSequence: [
      { CodingSchemeDesignator: PRIVATE_SCHEME.designator, CodingSchemeName: PRIVATE_SCHEME.name, CodingSchemeResponsibleOrganization: PRIVATE_SCHEME.responsibleOrganization },
    ],
    // SR Document Content: the root container
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [codeItem(CODES.imagingMeasurementReport)],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
    ContentSequence: root,
  };
  return { bytes: writePart10(dataset), sopClassUid: COMPREHENSIVE_3D_SR_SOP_CLASS_UID, sopInstanceUid, seriesInstanceUid, studyInstanceUid: source.studyInstanceUid, seriesNumber, trackingUid: parts.trackingUid };
}
