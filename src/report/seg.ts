/**
 * DICOM-SEG writer: BINARY Segmentation Storage, Explicit VR Little Endian, one segment
 * "Skeletal muscle". Built as a plain naturalized dataset (not dcmjs.derivations.Segmentation,
 * which needs the CT pixel data, draws random UIDs and dates, and stamps its own qualification),
 * so that every attribute is chosen here and the same input gives the same bytes.
 *
 * Geometry is copied, never recomputed: each frame takes its source slice's
 * ImagePositionPatient and the shared ImageOrientationPatient, and the mask is written on the
 * source's stored pixel grid exactly as given (row-major, no flip, no transpose). That is what
 * keeps the overlay on the muscle for feet-first, prone or flipped acquisitions.
 */
import { numberValue } from '../dicom/dataset-values.ts';
import type { InstanceHeader, NaturalDataset } from '../dicom/types.ts';
import { CtMuscleError } from '../errors.ts';
import { packBits } from './bitpack.ts';
import { CODES, codeItem } from './codes.ts';
import { clampText, formatDs, requireIntegerString } from './format.ts';
import { writePart10 } from './part10.ts';
import { patientStudyAttributes } from './patient-study.ts';
import type { BodyFrame, ReportCommon, SegInput, SegOutput } from './types.ts';
import { deriveSeriesNumber, deriveUid, dicomDateTime, type UidSeed } from './uids.ts';
import { requireGeometry, validateBody, validateCommon, type SourceGeometry } from './validate.ts';

export const SEG_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.66.4';
export const DEFAULT_MANUFACTURER = 'ct-muscle-node';

/** General + Enhanced General Equipment, the same in the SEG and the SR. */
/** What the output texts need: the model (or software) that wrote them, the level if any, the options. */
type OutputTextInput = Pick<ReportCommon, 'segmenter' | 'options'> & { level?: Pick<ReportCommon['level'], 'name'> };

export function equipmentModule(input: OutputTextInput): NaturalDataset {
  const { manufacturer, modelText } = outputText(input);
  const options = input.options ?? {};
  return {
    Manufacturer: manufacturer,
    ManufacturerModelName: clampText(modelText, 64),
    DeviceSerialNumber: clampText(options.deviceSerialNumber ?? '0', 64),
    SoftwareVersions: clampText(options.softwareVersion ?? '0', 64),
  };
}

/** What the SEG, SR and overlay all state the same way: creation time, manufacturer, model, level. */
export function outputText(input: OutputTextInput): { created: ReturnType<typeof dicomDateTime>; manufacturer: string; modelText: string; levelText: string } {
  const options = input.options ?? {};
  return {
    created: dicomDateTime(options.created ?? new Date()),
    manufacturer: clampText(options.manufacturer ?? DEFAULT_MANUFACTURER, 64),
    modelText: `${input.segmenter.id} ${input.segmenter.version}`,
    levelText: !input.level ? '' : input.level.name === 'as-provided' ? 'given slice' : input.level.name,
  };
}
export const SEGMENT_NUMBER = 1;
export const SEGMENT_LABEL = 'Skeletal muscle';

/** Segment colour for viewers (OHIF reads it): sRGB (230, 60, 60) as DICOM-scaled CIELab. */
const DISPLAY_CIELAB = [34252, 49435, 43201];

/** Orientation cosines agree within this (slices of one stack are written with rounding). */
const ORIENTATION_TOLERANCE = 1e-4;

export function uidSeedOf(input: { source: InstanceHeader; segmenter: { id: string; version: string }; options?: { revision?: string }; body?: unknown }): UidSeed {
  return {
    sourceSopInstanceUid: input.source.sopInstanceUid,
    modelId: input.segmenter.id,
    modelVersion: input.segmenter.version,
    revision: input.options?.revision,
    ...(input.body ? { slices: 'body' as const } : {}),
  };
}

/** Mask checks: right size, only 0 and 1 (a 0/255 or label map is a caller bug), at least one pixel. */
export function checkMask(mask: Uint8Array, rows: number, columns: number): number {
  if (!(mask instanceof Uint8Array)) throw new CtMuscleError('E_REPORT_INVALID', 'The mask must be a Uint8Array.');
  if (mask.length !== rows * columns) {
    throw new CtMuscleError('E_REPORT_INVALID', `The mask has ${mask.length} values; the slice is ${rows}×${columns} = ${rows * columns}.`);
  }
  let count = 0;
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i];
    if (v === 1) count++;
    else if (v !== 0) throw new CtMuscleError('E_REPORT_INVALID', `The mask must hold only 0 and 1; found ${v} at index ${i}.`);
  }
  if (count === 0) throw new CtMuscleError('E_EMPTY_MASK', 'The mask is empty: no SEG is written; report the slice as not measurable.');
  return count;
}

/**
 * The mask pixel deepest inside the mask (largest 3-4 chamfer distance to a background pixel or
 * the image edge; the first one in row-major order on ties): well inside a muscle even when the
 * mask is a ring or two separate muscles, whose centroid lies outside them.
 */
export function anchorPixel(mask: Uint8Array, rows: number, columns: number): { column: number; row: number } {
  const far = 1 << 30;
  const d = new Int32Array(mask.length);
  for (let i = 0; i < mask.length; i++) d[i] = mask[i] ? far : 0;
  const at = (r: number, c: number) => (r < 0 || c < 0 || r >= rows || c >= columns ? 0 : d[r * columns + c]);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      if (d[i] === 0) continue;
      d[i] = Math.min(d[i], at(r, c - 1) + 3, at(r - 1, c) + 3, at(r - 1, c - 1) + 4, at(r - 1, c + 1) + 4);
    }
  }
  let best = -1;
  for (let r = rows - 1; r >= 0; r--) {
    for (let c = columns - 1; c >= 0; c--) {
      const i = r * columns + c;
      if (d[i] === 0) continue;
      d[i] = Math.min(d[i], at(r, c + 1) + 3, at(r + 1, c) + 3, at(r + 1, c + 1) + 4, at(r + 1, c - 1) + 4);
    }
  }
  for (let i = 0; i < d.length; i++) if (d[i] > 0 && (best < 0 || d[i] > d[best])) best = i;
  return { column: best % columns, row: Math.floor(best / columns) };
}

function sameOrientation(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= ORIENTATION_TOLERANCE);
}

/** A slice that gets a frame must share the measured slice's series, matrix, frame of reference, orientation and spacing. */
function checkFrameGeometry(slice: InstanceHeader, source: InstanceHeader, geometry: SourceGeometry): void {
  const g = requireGeometry(slice);
  const problems: string[] = [];
  if (slice.seriesInstanceUid !== source.seriesInstanceUid) problems.push('another series');
  if (g.rows !== geometry.rows || g.columns !== geometry.columns) problems.push(`${g.rows}×${g.columns} pixels`);
  if (g.frameOfReferenceUid !== geometry.frameOfReferenceUid) problems.push('another frame of reference');
  if (!sameOrientation(g.imageOrientationPatient, geometry.imageOrientationPatient)) problems.push('another orientation');
  if (Math.abs(g.pixelSpacing[0] - geometry.pixelSpacing[0]) > 1e-6 || Math.abs(g.pixelSpacing[1] - geometry.pixelSpacing[1]) > 1e-6) problems.push('another pixel spacing');
  if (problems.length > 0) {
    throw new CtMuscleError('E_INCONSISTENT_GEOMETRY', `Slice ${slice.sopInstanceUid} cannot share the SEG's geometry: ${problems.join(', ')}.`);
  }
}

/** The frames of a full-stack SEG: every slice of the series, each checked against the measured one. */
function stackSlices(input: SegInput, geometry: SourceGeometry): InstanceHeader[] {
  const slices = input.seriesSlices;
  if (!slices || slices.length === 0) {
    throw new CtMuscleError('E_REPORT_INVALID', 'options.fullStack needs seriesSlices: the ordered slice headers of the series.');
  }
  if (!slices.some((s) => s.sopInstanceUid === input.source.sopInstanceUid)) throw new CtMuscleError('E_REPORT_INVALID', 'seriesSlices does not contain the measured slice.');
  const seen = new Set<string>();
  for (const slice of slices) {
    if (seen.has(slice.sopInstanceUid)) throw new CtMuscleError('E_REPORT_INVALID', `seriesSlices lists ${slice.sopInstanceUid} twice.`);
    seen.add(slice.sopInstanceUid);
    checkFrameGeometry(slice, input.source, geometry);
  }
  return slices;
}

/**
 * The masks by source slice: the measured one, and with a body measurement every body slice's
 * (checked like the measured mask, on the same geometry; the measured slice's must be the mask given).
 */
function masksBySlice(input: SegInput, geometry: SourceGeometry): Map<string, Uint8Array> {
  const masks = new Map([[input.source.sopInstanceUid, input.mask]]);
  if (!input.body) return masks;
  validateBody(input.body, input.source.sopInstanceUid);
  for (const { source, mask } of input.body.slices) {
    checkFrameGeometry(source, input.source, geometry);
    checkMask(mask, geometry.rows, geometry.columns);
    if (source.sopInstanceUid === input.source.sopInstanceUid && !mask.every((v, i) => v === input.mask[i])) {
      throw new CtMuscleError('E_REPORT_INVALID', 'body: the measured slice\'s mask differs from the mask given for it.');
    }
    masks.set(source.sopInstanceUid, mask);
  }
  return masks;
}

/** The frames' source slices: the whole series (fullStack), the body's slices, or the measured slice. */
function frameSlices(input: SegInput, geometry: SourceGeometry): InstanceHeader[] {
  if (input.options?.fullStack) return stackSlices(input, geometry);
  return input.body ? input.body.slices.map((s) => s.source) : [input.source];
}

/** Where each body slice's frame is, and the point the SR anchors its measurements at. */
function bodyFramesOf(input: SegInput, slices: InstanceHeader[], geometry: SourceGeometry): BodyFrame[] | undefined {
  return input.body?.slices.map(({ source, mask }) => ({
    sopInstanceUid: source.sopInstanceUid,
    frameNumber: slices.findIndex((s) => s.sopInstanceUid === source.sopInstanceUid) + 1,
    anchor: anchorPixel(mask, geometry.rows, geometry.columns),
  }));
}

function normalOf(iop: number[]): [number, number, number] {
  const [rx, ry, rz, cx, cy, cz] = iop;
  return [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
}

/**
 * SpacingBetweenSlices for the shared Pixel Measures: the median step along the normal of the
 * series when its slices are known, else the source's own attribute, else its thickness.
 */
export function spacingBetweenSlices(source: InstanceHeader, geometry: SourceGeometry, seriesSlices?: InstanceHeader[]): number | undefined {
  if (seriesSlices && seriesSlices.length > 1) {
    const normal = normalOf(geometry.imageOrientationPatient);
    const offsets = seriesSlices
      .filter((s) => s.imagePositionPatient)
      .map((s) => s.imagePositionPatient!.reduce((sum, v, i) => sum + v * normal[i], 0))
      .sort((a, b) => a - b);
    const steps = offsets.slice(1).map((v, i) => v - offsets[i]).filter((d) => d > 1e-6).sort((a, b) => a - b);
    if (steps.length > 0) return steps[Math.floor(steps.length / 2)];
  }
  const own = numberValue(source.dataset, 'SpacingBetweenSlices');
  if (own !== undefined && own > 0) return own;
  return geometry.sliceThickness !== undefined && geometry.sliceThickness > 0 ? geometry.sliceThickness : undefined;
}

function frameGroup(slice: InstanceHeader, positionIndex: number): NaturalDataset {
  return {
    DerivationImageSequence: [
      {
        SourceImageSequence: [
          {
            ReferencedSOPClassUID: slice.sopClassUid,
            ReferencedSOPInstanceUID: slice.sopInstanceUid,
            PurposeOfReferenceCodeSequence: [codeItem(CODES.sourceImageForProcessing)],
          },
        ],
        DerivationCodeSequence: [codeItem(CODES.segmentation)],
      },
    ],
    FrameContentSequence: [{ DimensionIndexValues: [SEGMENT_NUMBER, positionIndex] }],
    PlanePositionSequence: [{ ImagePositionPatient: slice.imagePositionPatient!.map(formatDs) }],
    SegmentIdentificationSequence: [{ ReferencedSegmentNumber: SEGMENT_NUMBER }],
  };
}

/** The one segment: skeletal muscle, found automatically by the named model. */
function segmentItem(segmenter: SegInput['segmenter'], levelText: string): NaturalDataset {
  return {
    SegmentNumber: SEGMENT_NUMBER,
    SegmentLabel: SEGMENT_LABEL,
    SegmentDescription: clampText(`Skeletal muscle at ${levelText}`, 64),
    SegmentAlgorithmType: 'AUTOMATIC',
    SegmentAlgorithmName: clampText(segmenter.id, 64),
    SegmentationAlgorithmIdentificationSequence: [
      {
        AlgorithmFamilyCodeSequence: [codeItem(CODES.artificialIntelligence)],
        AlgorithmName: clampText(segmenter.id, 64),
        AlgorithmVersion: clampText(segmenter.version, 64),
      },
    ],
    SegmentedPropertyCategoryCodeSequence: [codeItem(CODES.anatomicalStructure)],
    SegmentedPropertyTypeCodeSequence: [codeItem(CODES.skeletalMuscle)],
    RecommendedDisplayCIELabValue: DISPLAY_CIELAB,
  };
}

/** Image Pixel: 1-bit MONOCHROME2. */
function imagePixelModule(geometry: ReturnType<typeof requireGeometry>): NaturalDataset {
  return {
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: geometry.rows,
    Columns: geometry.columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
  };
}

/** Multi-frame Dimension: frames indexed by segment number, then by position. */
function dimensionModule(seed: ReturnType<typeof uidSeedOf>): NaturalDataset {
  return {
    DimensionOrganizationType: '3D',
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: deriveUid(seed, 'dimension-organization') }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: deriveUid(seed, 'dimension-organization'),
        DimensionIndexPointer: 0x0062000b,
        FunctionalGroupPointer: 0x0062000a,
        DimensionDescriptionLabel: 'ReferencedSegmentNumber',
      },
      {
        DimensionOrganizationUID: deriveUid(seed, 'dimension-organization'),
        DimensionIndexPointer: 0x00200032,
        FunctionalGroupPointer: 0x00209113,
        DimensionDescriptionLabel: 'ImagePositionPatient',
      },
    ],
  };
}

function pixelMeasuresOf(geometry: ReturnType<typeof requireGeometry>, spacing: number | undefined): NaturalDataset {
  const pixelMeasures: NaturalDataset = { PixelSpacing: geometry.pixelSpacing.map(formatDs) };
  if (geometry.sliceThickness !== undefined && geometry.sliceThickness > 0) pixelMeasures.SliceThickness = formatDs(geometry.sliceThickness);
  if (spacing !== undefined) pixelMeasures.SpacingBetweenSlices = formatDs(spacing);
  return pixelMeasures;
}

export function writeSeg(input: SegInput): SegOutput {
  validateCommon(input);
  const { source, segmenter } = input;
  const options = input.options ?? {};
  const geometry = requireGeometry(source);
  checkMask(input.mask, geometry.rows, geometry.columns);

  const masks = masksBySlice(input, geometry);
  const slices = frameSlices(input, geometry);
  const measuredIndex = slices.findIndex((s) => s.sopInstanceUid === source.sopInstanceUid);
  const pixels = geometry.rows * geometry.columns;
  const empty = new Uint8Array(pixels);
  const frames = slices.map((s) => masks.get(s.sopInstanceUid) ?? empty);

  const seed = uidSeedOf(input);
  const sopInstanceUid = deriveUid(seed, 'seg');
  const seriesInstanceUid = deriveUid(seed, 'series-seg');
  const seriesNumber = requireIntegerString(deriveSeriesNumber(segmenter.id, segmenter.version, options.seriesNumber), 'SEG SeriesNumber');
  const { created, modelText, levelText } = outputText(input);
  const spacing = spacingBetweenSlices(source, geometry, options.fullStack || input.body ? (input.seriesSlices ?? slices) : input.seriesSlices);


  const dataset: NaturalDataset = {
    // SOP Common: UTF-8 because dcmjs writes strings as UTF-8 whatever the source's character set.
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: SEG_SOP_CLASS_UID,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: created.date,
    InstanceCreationTime: created.time,
    TimezoneOffsetFromUTC: created.timezoneOffset,
    ...patientStudyAttributes(source),
    // General Series + Segmentation Series
    Modality: 'SEG',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: seriesNumber,
    SeriesDate: created.date,
    SeriesTime: created.time,
    SeriesDescription: clampText(`Muscle SEG ${levelText} (${modelText})`, 64),
    // Frame of Reference: the CT's, so the overlay registers with it.
    FrameOfReferenceUID: geometry.frameOfReferenceUid,
    PositionReferenceIndicator: typeof source.dataset.PositionReferenceIndicator === 'string' ? source.dataset.PositionReferenceIndicator : '',
    // General + Enhanced General Equipment
    ...equipmentModule(input),
    // General Image + Segmentation Image
    InstanceNumber: 1,
    ContentDate: created.date,
    ContentTime: created.time,
    ImageType: ['DERIVED', 'PRIMARY'],
    ContentQualification: options.contentQualification ?? 'RESEARCH',
    ContentLabel: 'MUSCLE',
    ContentDescription: clampText(`Skeletal muscle at ${levelText}`, 64),
    ContentCreatorName: 'ct-muscle-node^',
    SegmentationType: 'BINARY',
    SegmentsOverlap: 'NO',
    SegmentSequence: [
      segmentItem(segmenter, levelText),
    ],
    // Image Pixel: 1-bit MONOCHROME2.
    ...imagePixelModule(geometry),
    // Multi-frame Functional Groups + Dimensions
    NumberOfFrames: frames.length,
    SharedFunctionalGroupsSequence: [{ PixelMeasuresSequence: [pixelMeasuresOf(geometry, spacing)], PlaneOrientationSequence: [{ ImageOrientationPatient: geometry.imageOrientationPatient.map(formatDs) }] }],
    PerFrameFunctionalGroupsSequence: slices.map((slice, k) => frameGroup(slice, k + 1)),
    ...dimensionModule(seed),
    // Common Instance Reference: OHIF drops SEGs that do not name their source series.
    ReferencedSeriesSequence: [{ SeriesInstanceUID: source.seriesInstanceUid, ReferencedInstanceSequence: slices.map((s) => ({ ReferencedSOPClassUID: s.sopClassUid, ReferencedSOPInstanceUID: s.sopInstanceUid })) }],
    PixelData: packBits(frames, pixels).buffer,
    _vrMap: { PixelData: 'OB' },
  };

  const bytes = writePart10(dataset);
  return {
    bytes,
    sopClassUid: SEG_SOP_CLASS_UID,
    sopInstanceUid,
    seriesInstanceUid,
    studyInstanceUid: source.studyInstanceUid,
    seriesNumber,
    numberOfFrames: frames.length,
    ref: {
      sopClassUid: SEG_SOP_CLASS_UID,
      sopInstanceUid,
      seriesInstanceUid,
      segmentNumber: SEGMENT_NUMBER,
      frameNumber: measuredIndex + 1,
      anchor: anchorPixel(input.mask, geometry.rows, geometry.columns),
      ...(input.body ? { bodyFrames: bodyFramesOf(input, slices, geometry) } : {}),
    },
  };
}
