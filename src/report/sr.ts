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
import { CODES, PRIVATE_SCHEME, UNITS, VERTEBRA_CODES, codeItem } from './codes.ts';
import { clampText, requireIntegerString, roundTo } from './format.ts';
import { writePart10 } from './part10.ts';
import { patientStudyAttributes } from './patient-study.ts';
import { equipmentModule, outputText, SEG_SOP_CLASS_UID, uidSeedOf } from './seg.ts';
import { codeContent, container, image, num, scoordPoint, text, uidref, type ContentItem } from './sr-items.ts';
import { bodyGroups, checkBodySr } from './sr-body.ts';
import { finite, groupHead, levelLabelOf, measurementItems, REPORTED_DECIMALS, segmentationRefs } from './sr-group.ts';
import type { LevelName } from '../model/index.ts';
import type { ReportOptions, SrInput, SrOutput } from './types.ts';
import { deriveSeriesNumber, deriveUid, deviceObserverUid, dicomDateTime, type UidSeed } from './uids.ts';
import { validateCommon, validateMeasurements } from './validate.ts';

export const COMPREHENSIVE_3D_SR_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.88.34';

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

function measurementGroup(input: SrInput, trackingUid: string): ContentItem {
  const { source, seg, measurements } = input;
  const sourceImage = { sopClassUid: source.sopClassUid, sopInstanceUid: source.sopInstanceUid };
  const children: ContentItem[] = groupHead(input, `Skeletal muscle at ${levelLabelOf(input.level)}`, trackingUid);
  if (seg && measurements) {
    children.push(
      ...segmentationRefs(seg, source.seriesInstanceUid, [sourceImage]),
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

/** The CT slices the report's figures come from: the measured one, or every measured slice of the body. */
function measuredSources(input: Pick<SrInput, 'source' | 'body'>): InstanceHeader[] {
  return input.body ? input.body.slices.map((s) => s.source) : [input.source];
}

function imageLibrary(sources: InstanceHeader[]): ContentItem {
  const source = sources.find((s) => s.frameOfReferenceUid) ?? sources[0];
  const group: ContentItem[] = [codeContent('HAS ACQ CONTEXT', CODES.modality, CODES.computedTomography)];
  if (source.frameOfReferenceUid) group.push(uidref('HAS ACQ CONTEXT', CODES.frameOfReferenceUid, source.frameOfReferenceUid));
  for (const s of sources) group.push(image('CONTAINS', null, { sopClassUid: s.sopClassUid, sopInstanceUid: s.sopInstanceUid }));
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

/** Every instance the tree references must be listed as evidence: the CT slice(s) and the SEG. */
function evidenceOf(input: SrInput, sources: InstanceHeader[]): NaturalDataset[] {
  const { source, seg } = input;
  const evidenceSeries: NaturalDataset[] = [
    {
      SeriesInstanceUID: source.seriesInstanceUid,
      ReferencedSOPSequence: sources.map((s) => ({ ReferencedSOPClassUID: s.sopClassUid, ReferencedSOPInstanceUID: s.sopInstanceUid })),
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
  const body = input.body && input.measurements ? input.body : undefined;
  const groups = [measurementGroup(input, trackingUid), ...(body ? bodyGroups({ ...input, body }, checkBodySr({ ...input, body }), seed) : [])];
  const sources = measuredSources({ source: input.source, body });
  return srDocument({ input, seed, trackingUid, title: `Muscle report ${levelText}`, groups, sources, evidence: evidenceOf(input, sources) });
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
  return srDocument({ input: { source, segmenter: software, options: input.options }, seed, trackingUid, title: `Muscle not measured ${input.target}`, groups: [group], sources: [source], evidence });
}

interface SrDocumentParts {
  /** The source image, the model (or software) that wrote the SR, and the options. */
  input: { source: InstanceHeader; segmenter: { id: string; version: string }; options?: ReportOptions } & Pick<SrInput, 'verification' | 'predecessor'>;
  seed: UidSeed;
  trackingUid: string;
  title: string;
  groups: ContentItem[];
  /** The CT slices of the image library. */
  sources: InstanceHeader[];
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
    imageLibrary(parts.sources),
    container('CONTAINS', CODES.imagingMeasurements, parts.groups),
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
