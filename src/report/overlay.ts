/**
 * Optional Secondary Capture overlay for PACS viewers that cannot show DICOM-SEG: the measured CT
 * slice, windowed (default W400/L40), with the muscle mask blended in the SEG's colour and
 * outlined, and a one-line caption (level, area, mean HU) burned in at the top left.
 *
 * Secondary Capture Image Storage (1.2.840.10008.5.1.4.1.1.7), 8-bit RGB, Explicit VR Little
 * Endian, in the CT's study with its own deterministic series and instance UIDs. The image keeps
 * the CT's stored pixel grid (no flip or rotation, like the SEG); PatientOrientation gives the
 * row and column directions so viewers can label the sides. The same numbers are written as text
 * in ImageComments and DerivationDescription, so they survive where the caption is cropped.
 */
import type { NaturalDataset } from '../dicom/types.ts';
import { CtMuscleError } from '../errors.ts';
import { CODES, codeItem } from './codes.ts';
import { captionLayout, renderCaption } from './caption.ts';
import { clampText, formatDs, requireIntegerString, roundTo } from './format.ts';
import { writePart10 } from './part10.ts';
import { patientStudyAttributes } from './patient-study.ts';
import { checkMask, outputText, uidSeedOf } from './seg.ts';
import { REPORTED_DECIMALS } from './sr-group.ts';
import type { MuscleMeasurements } from '../model/index.ts';
import type { ReportCommon, WrittenInstance } from './types.ts';
import { deriveSeriesNumber, deriveUid } from './uids.ts';
import { validateCommon, validateMeasurements } from './validate.ts';

/** Where the caption goes and how large: also what tests use to find it. */
export { captionLayout } from './caption.ts';

export const SECONDARY_CAPTURE_SOP_CLASS_UID = '1.2.840.10008.5.1.4.1.1.7';

/** Display window of the CT under the overlay (soft tissue). */
export interface DisplayWindow {
  center: number;
  width: number;
}

export const DEFAULT_OVERLAY_WINDOW: Readonly<DisplayWindow> = Object.freeze({ center: 40, width: 400 });

/** The SEG's display colour (sRGB 230/60/60), blended over the mask and drawn on its outline. */
export const OVERLAY_COLOUR: readonly [number, number, number] = [230, 60, 60];
const FILL_OPACITY = 0.4;

export interface OverlayInput extends ReportCommon {
  /** rows × columns values 0/1 on the source's stored grid (the SEG's mask). */
  mask: Uint8Array;
  /** HU of the measured slice, rows × columns on the same grid (e.g. that slice of CtVolume.hu). */
  hu: ArrayLike<number>;
  measurements: MuscleMeasurements;
  /** Default W400/L40. */
  window?: DisplayWindow;
}

export interface OverlayOutput extends WrittenInstance {
  rows: number;
  columns: number;
  /** The caption burned into the pixels, or null when the image is too narrow for it. */
  caption: string | null;
  /** The same facts as text (ImageComments). */
  comments: string;
}

/** One letter per patient axis a direction cosine vector points along (PS3.3 C.7.6.1.1.1), largest first. */
export function orientationLetters(cosines: readonly number[]): string {
  const axes: Array<[number, string, string]> = [
    [cosines[0], 'L', 'R'],
    [cosines[1], 'P', 'A'],
    [cosines[2], 'H', 'F'],
  ];
  const letters = axes
    .filter(([v]) => Math.abs(v) > 1e-3)
    .sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]))
    .map(([v, positive, negative]) => (v > 0 ? positive : negative));
  return letters.join('');
}

function levelWord(input: Pick<ReportCommon, 'level'>): string {
  return input.level.name === 'as-provided' ? 'SLICE' : input.level.name;
}

/** "T12  AREA 17.18 CM2  MEAN 20.9 HU" with the SR's rounding; parts with a non-finite value are left out. */
export function overlayCaption(input: Pick<ReportCommon, 'level'>, m: MuscleMeasurements): string {
  const parts = [levelWord(input)];
  if (Number.isFinite(m.areaCm2)) parts.push(`AREA ${roundTo(m.areaCm2, REPORTED_DECIMALS.areaCm2).toFixed(REPORTED_DECIMALS.areaCm2)} CM2`);
  if (Number.isFinite(m.meanHu)) parts.push(`MEAN ${roundTo(m.meanHu, REPORTED_DECIMALS.hu).toFixed(REPORTED_DECIMALS.hu)} HU`);
  return parts.join('  ');
}

function commentsText(input: OverlayInput, window: DisplayWindow): string {
  const m = input.measurements;
  const level = input.level.name === 'as-provided' ? 'the given slice' : input.level.name;
  const numbers: string[] = [];
  if (Number.isFinite(m.areaCm2)) numbers.push(`area ${roundTo(m.areaCm2, REPORTED_DECIMALS.areaCm2).toFixed(REPORTED_DECIMALS.areaCm2)} cm2`);
  if (Number.isFinite(m.meanHu)) numbers.push(`mean ${roundTo(m.meanHu, REPORTED_DECIMALS.hu).toFixed(REPORTED_DECIMALS.hu)} HU`);
  if (Number.isFinite(m.sdHu)) numbers.push(`SD ${roundTo(m.sdHu, REPORTED_DECIMALS.hu).toFixed(REPORTED_DECIMALS.hu)} HU`);
  if (m.smiCm2PerM2 !== null && Number.isFinite(m.smiCm2PerM2)) numbers.push(`SMI ${roundTo(m.smiCm2PerM2, REPORTED_DECIMALS.smi).toFixed(REPORTED_DECIMALS.smi)} cm2/m2`);
  return (
    `Skeletal muscle at ${level}: ${numbers.join(', ')} (${input.segmenter.id} ${input.segmenter.version}). ` +
    `CT shown W${formatDs(window.width)}/L${formatDs(window.center)}. ` +
    'A picture of the DICOM-SEG for viewers without SEG support; the SR holds the measurements.'
  );
}

/** Windowed grey, mask blended and outlined, caption on a black box: 8-bit RGB, pixel-interleaved. */
function renderRgb(hu: ArrayLike<number>, mask: Uint8Array, rows: number, columns: number, window: DisplayWindow, caption: string | null): Uint8Array {
  const rgb = new Uint8Array(rows * columns * 3);
  const low = window.center - window.width / 2;
  const [cr, cg, cb] = OVERLAY_COLOUR;
  const inMask = (r: number, c: number) => r >= 0 && c >= 0 && r < rows && c < columns && mask[r * columns + c] === 1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const i = r * columns + c;
      const grey = Math.round(Math.min(255, Math.max(0, ((hu[i] - low) / window.width) * 255)));
      let red = grey;
      let green = grey;
      let blue = grey;
      if (mask[i] === 1) {
        const edge = !inMask(r - 1, c) || !inMask(r + 1, c) || !inMask(r, c - 1) || !inMask(r, c + 1);
        const a = edge ? 1 : FILL_OPACITY;
        red = Math.round(grey + a * (cr - grey));
        green = Math.round(grey + a * (cg - grey));
        blue = Math.round(grey + a * (cb - grey));
      }
      rgb[i * 3] = red;
      rgb[i * 3 + 1] = green;
      rgb[i * 3 + 2] = blue;
    }
  }
  if (caption) {
    const layout = captionLayout(caption, columns, rows)!;
    const box = renderCaption(caption, layout);
    for (let y = 0; y < layout.boxHeight; y++) {
      for (let x = 0; x < layout.boxWidth; x++) {
        const i = ((layout.margin + y) * columns + layout.margin + x) * 3;
        rgb.fill(box[y * layout.boxWidth + x], i, i + 3);
      }
    }
  }
  return rgb;
}

/** Checks what the overlay needs before anything is derived; returns the grid and the window. */
function validateOverlayInput(input: OverlayInput): { rows: number; columns: number; window: DisplayWindow } {
  validateCommon(input);
  const { source } = input;
  if (!input.measurements) throw new CtMuscleError('E_REPORT_INVALID', 'The overlay needs the measurements it captions.');
  validateMeasurements(input.measurements);
  const rows = source.rows;
  const columns = source.columns;
  if (!rows || !columns) throw new CtMuscleError('E_MISSING_ATTRIBUTE', `${source.sopInstanceUid}: Rows/Columns missing; the overlay cannot be drawn.`, { missing: ['Rows', 'Columns'] });
  if (source.numberOfFrames > 1) throw new CtMuscleError('E_UNSUPPORTED_PIXEL_FORMAT', `${source.sopInstanceUid} is multi-frame; the overlay supports single-frame CT slices.`);
  checkMask(input.mask, rows, columns);
  if (!input.hu || input.hu.length !== rows * columns) {
    throw new CtMuscleError('E_REPORT_INVALID', `The overlay needs rows × columns = ${rows * columns} HU values; got ${input.hu?.length}.`);
  }
  const window = input.window ?? DEFAULT_OVERLAY_WINDOW;
  if (!Number.isFinite(window.center) || !(window.width > 0) || !Number.isFinite(window.width)) {
    throw new CtMuscleError('E_REPORT_INVALID', `The overlay window needs a finite center and a positive width; got ${JSON.stringify(window)}.`);
  }
  return { rows, columns, window };
}

/** What the overlay dataset is built from, derived once in writeOverlay. */
interface OverlayParts {
  sopInstanceUid: string;
  seriesInstanceUid: string;
  seriesNumber: number;
  text: ReturnType<typeof outputText>;
  rows: number;
  columns: number;
  window: DisplayWindow;
  caption: string | null;
  comments: string;
  pixels: Uint8Array;
}

/** The Secondary Capture dataset: patient/study, series, equipment, image, SC image and pixel modules. */
function overlayDataset(input: OverlayInput, parts: OverlayParts): NaturalDataset {
  const { source } = input;
  const options = input.options ?? {};
  const { sopInstanceUid, seriesInstanceUid, seriesNumber, rows, columns, window, caption, comments, pixels } = parts;
  const { created, manufacturer, modelText, levelText } = parts.text;
  return {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: SECONDARY_CAPTURE_SOP_CLASS_UID,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: created.date,
    InstanceCreationTime: created.time,
    TimezoneOffsetFromUTC: created.timezoneOffset,
    ...patientStudyAttributes(source),
    // General Series
    Modality: 'OT',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: seriesNumber,
    SeriesDate: created.date,
    SeriesTime: created.time,
    SeriesDescription: clampText(`Muscle overlay ${levelText} (${modelText})`, 64),
    // General Equipment + SC Equipment
    Manufacturer: manufacturer,
    ManufacturerModelName: clampText(modelText, 64),
    DeviceSerialNumber: clampText(options.deviceSerialNumber ?? '0', 64),
    SoftwareVersions: clampText(options.softwareVersion ?? '0', 64),
    ConversionType: 'WSD',
    // General Image + General Reference
    InstanceNumber: 1,
    PatientOrientation: source.imageOrientationPatient
      ? [orientationLetters(source.imageOrientationPatient.slice(0, 3)), orientationLetters(source.imageOrientationPatient.slice(3, 6))]
      : '',
    ContentDate: created.date,
    ContentTime: created.time,
    ImageType: ['DERIVED', 'SECONDARY'],
    // U (unpaired): a trunk slice. Without it, Laterality (Type 2C) would be required in the series.
    ImageLaterality: 'U',
    DerivationDescription: clampText(
      `CT slice W${formatDs(window.width)}/L${formatDs(window.center)} with the skeletal muscle mask of ${modelText} in red${caption ? '; caption burned in' : ''}`,
      1024,
    ),
    SourceImageSequence: [
      {
        ReferencedSOPClassUID: source.sopClassUid,
        ReferencedSOPInstanceUID: source.sopInstanceUid,
        PurposeOfReferenceCodeSequence: [codeItem(CODES.sourceImageForProcessing)],
      },
    ],
    ImageComments: clampText(comments, 10240),
    BurnedInAnnotation: caption ? 'YES' : 'NO',
    LossyImageCompression: '00',
    // SC Image
    DateOfSecondaryCapture: created.date,
    TimeOfSecondaryCapture: created.time,
    ...(source.pixelSpacing ? { PixelSpacing: source.pixelSpacing.map(formatDs) } : {}),
    // Image Pixel: 8-bit RGB, pixel-interleaved.
    SamplesPerPixel: 3,
    PhotometricInterpretation: 'RGB',
    PlanarConfiguration: 0,
    Rows: rows,
    Columns: columns,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PixelData: pixels.buffer,
    _vrMap: { PixelData: 'OB' },
  };
}

export function writeOverlay(input: OverlayInput): OverlayOutput {
  const { rows, columns, window } = validateOverlayInput(input);
  const { source, segmenter } = input;
  const options = input.options ?? {};

  const seed = uidSeedOf(input);
  const sopInstanceUid = deriveUid(seed, 'overlay');
  const seriesInstanceUid = deriveUid(seed, 'series-overlay');
  // SEG n, SR n + 1, overlay n + 2.
  const seriesNumber = requireIntegerString(deriveSeriesNumber(segmenter.id, segmenter.version, options.seriesNumber) + 2, 'overlay SeriesNumber');
  const text = outputText(input);
  const fullCaption = overlayCaption(input, input.measurements);
  const caption = captionLayout(fullCaption, columns, rows) ? fullCaption : null;
  const comments = commentsText(input, window);
  const pixels = renderRgb(input.hu, input.mask, rows, columns, window, caption);

  const dataset = overlayDataset(input, { sopInstanceUid, seriesInstanceUid, seriesNumber, text, rows, columns, window, caption, comments, pixels });

  return {
    bytes: writePart10(dataset),
    sopClassUid: SECONDARY_CAPTURE_SOP_CLASS_UID,
    sopInstanceUid,
    seriesInstanceUid,
    studyInstanceUid: source.studyInstanceUid,
    seriesNumber,
    rows,
    columns,
    caption,
    comments,
  };
}

