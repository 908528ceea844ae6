/**
 * Reading DICOM: Part 10 files and raw datasets (no preamble) into a parsed header, with pixel
 * data left in the source until a frame is asked for.
 */
import { readFile } from 'node:fs/promises';
import dcmjs from 'dcmjs';
import type { DicomJsonDict, ReadOptions } from 'dcmjs';
import { CtMuscleError } from '../errors.ts';
import { numberTuple, numberValue, stringValue, stringValues } from './dataset-values.ts';
import { TS } from './transfer-syntax.ts';
import type { InstanceHeader, InstanceSource, NaturalDataset } from './types.ts';

// dcmjs reports recoverable oddities (unknown VRs, odd lengths) on its own loggers; the node
// reports what matters through typed errors instead.
dcmjs.log.setLevel('silent');
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

const PIXEL_DATA_TAG = '7FE00010';

export interface ParsedDicom {
  transferSyntaxUid: string;
  meta: NaturalDataset;
  dataset: NaturalDataset;
  /** dcmjs zero-fills a native PixelData value that runs past the end of the input; this says it did. */
  pixelDataTruncated: boolean;
}

export interface ParseOptions {
  /** Stop before PixelData: the header is all that series grouping and selection need. */
  headerOnly?: boolean;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function hasPreamble(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/** A raw dataset carries no transfer syntax: tell explicit from implicit VR and the byte order by the first element. */
function guessRawSyntax(bytes: Uint8Array): string {
  if (bytes.length < 8) throw new CtMuscleError('E_NOT_DICOM', 'The input is too short to be a DICOM dataset.');
  const isUpper = (b: number) => b >= 0x41 && b <= 0x5a;
  const explicit = isUpper(bytes[4]) && isUpper(bytes[5]);
  const littleGroup = bytes[0] | (bytes[1] << 8);
  const bigGroup = (bytes[0] << 8) | bytes[1];
  // Datasets start with a low group number (0x0008 typically); whichever byte order gives one wins.
  const plausible = (group: number) => group <= 0x0010 && group % 2 === 0;
  if (!plausible(littleGroup) && !plausible(bigGroup)) {
    throw new CtMuscleError('E_NOT_DICOM', 'Neither a DICOM Part 10 file (no DICM preamble) nor a raw dataset (no leading group 0008 element).');
  }
  const bigEndian = plausible(bigGroup) && bigGroup > 0 && !plausible(littleGroup);
  if (bigEndian) return TS.explicitVrBigEndian;
  return explicit ? TS.explicitVrLittleEndian : TS.implicitVrLittleEndian;
}

export function parseDicom(bytes: Uint8Array, options: ParseOptions = {}): ParsedDicom {
  const readOptions = options.headerOnly
    ? { untilTag: PIXEL_DATA_TAG, includeUntilTagValue: false, ignoreErrors: false }
    : { ignoreErrors: false };
  let meta: DicomJsonDict;
  let dict: DicomJsonDict;
  let transferSyntaxUid: string;
  try {
    if (hasPreamble(bytes)) {
      const message = readPart10(toArrayBuffer(bytes), readOptions);
      meta = message.meta;
      dict = message.dict;
      const syntax = meta['00020010']?.Value?.[0];
      if (typeof syntax !== 'string' || syntax.trim() === '') {
        throw new CtMuscleError('E_MISSING_ATTRIBUTE', 'The file meta information lacks TransferSyntaxUID (0002,0010).');
      }
      transferSyntaxUid = syntax.replace(/\0/g, '').trim();
    } else {
      transferSyntaxUid = guessRawSyntax(bytes);
      const stream = new dcmjs.data.ReadBufferStream(toArrayBuffer(bytes), transferSyntaxUid !== TS.explicitVrBigEndian);
      stream.reset();
      dict = dcmjs.data.DicomMessage._read(stream, transferSyntaxUid, readOptions);
      meta = {};
    }
  } catch (error) {
    if (error instanceof CtMuscleError) throw error;
    throw new CtMuscleError('E_NOT_DICOM', `Not a readable DICOM file or dataset: ${(error as Error).message}`);
  }
  if (Object.keys(dict).length === 0) throw new CtMuscleError('E_NOT_DICOM', 'The input holds no DICOM elements.');
  const hadPixelData = PIXEL_DATA_TAG in dict;
  const pixelDataTruncated = !options.headerOnly && hadPixelData && nativePixelDataOverrunsInput(bytes, transferSyntaxUid, dict);
  if (options.headerOnly) delete dict[PIXEL_DATA_TAG];
  const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict);
  // Header-only parses drop the pixel element; keep the fact that it was there.
  if (options.headerOnly && hadPixelData) dataset._hasPixelData = true;
  return { transferSyntaxUid, meta: dcmjs.data.DicomMetaDictionary.naturalizeDataset(meta), dataset, pixelDataTruncated };
}

/**
 * Whether a native PixelData element declares more bytes than the input holds. The element is
 * found by its tag followed by the length the pixel attributes imply, so bytes inside pixel
 * values cannot be mistaken for it.
 */
function nativePixelDataOverrunsInput(bytes: Uint8Array, syntax: string, dict: DicomJsonDict): boolean {
  if (syntax !== TS.explicitVrLittleEndian && syntax !== TS.implicitVrLittleEndian && syntax !== TS.explicitVrBigEndian) return false;
  const value = (tag: string) => Number(dict[tag]?.Value?.[0] ?? 0);
  const bits = value('00280100');
  const expected = Math.ceil((value('00280010') * value('00280011') * (value('00280002') || 1) * (value('00280008') || 1) * bits) / 8);
  if (!expected) return false;
  const declared = expected + (expected % 2);
  const big = syntax === TS.explicitVrBigEndian;
  const tagBytes = big ? [0x7f, 0xe0, 0x00, 0x10] : [0xe0, 0x7f, 0x10, 0x00];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i + 12 <= bytes.length; i++) {
    if (bytes[i] !== tagBytes[0] || bytes[i + 1] !== tagBytes[1] || bytes[i + 2] !== tagBytes[2] || bytes[i + 3] !== tagBytes[3]) continue;
    const explicit = syntax !== TS.implicitVrLittleEndian;
    const headerLength = explicit ? 12 : 8;
    const length = explicit ? view.getUint32(i + 8, !big) : view.getUint32(i + 4, true);
    if (length === declared || length === expected) return i + headerLength + length > bytes.length;
  }
  return false;
}

/**
 * dcmjs refuses ISO 2022 code extensions (Japanese, Korean sites); the image data does not
 * depend on them, so such files are read leniently rather than rejected. Names may be garbled.
 */
function readPart10(buffer: ArrayBuffer, options: ReadOptions) {
  try {
    return dcmjs.data.DicomMessage.readFile(buffer, options);
  } catch (error) {
    if (!/character set/i.test((error as Error).message)) throw error;
    return dcmjs.data.DicomMessage.readFile(buffer, { ...options, ignoreErrors: true });
  }
}

function describeSource(source: InstanceSource): string {
  return source.kind === 'file' ? source.path : source.label;
}

export async function loadSourceBytes(source: InstanceSource): Promise<Uint8Array> {
  if (source.kind === 'memory') return source.bytes;
  try {
    return await readFile(source.path);
  } catch (error) {
    throw new CtMuscleError('E_IO', `Cannot read ${source.path}: ${(error as Error).message}`);
  }
}

/** The parsed header of one instance; throws E_MISSING_UID when a UID the node relies on is empty. */
export function headerFromParsed(parsed: ParsedDicom, source: InstanceSource): InstanceHeader {
  const { dataset, meta } = parsed;
  const sopInstanceUid = stringValue(dataset, 'SOPInstanceUID');
  const studyInstanceUid = stringValue(dataset, 'StudyInstanceUID');
  const seriesInstanceUid = stringValue(dataset, 'SeriesInstanceUID');
  const missing = [
    sopInstanceUid ? null : 'SOPInstanceUID (0008,0018)',
    studyInstanceUid ? null : 'StudyInstanceUID (0020,000D)',
    seriesInstanceUid ? null : 'SeriesInstanceUID (0020,000E)',
  ].filter((v): v is string => v !== null);
  if (missing.length > 0) {
    const metaSop = stringValue(meta, 'MediaStorageSOPInstanceUID');
    const hint = metaSop && !sopInstanceUid ? ' (the file meta header has a MediaStorageSOPInstanceUID, but the dataset must carry its own)' : '';
    throw new CtMuscleError('E_MISSING_UID', `${describeSource(source)}: empty or missing ${missing.join(', ')}${hint}.`, { missing });
  }
  const sopClassUid = stringValue(dataset, 'SOPClassUID') ?? stringValue(meta, 'MediaStorageSOPClassUID') ?? '';
  const ipp = numberTuple(dataset, 'ImagePositionPatient', 3);
  const iop = numberTuple(dataset, 'ImageOrientationPatient', 6);
  const spacing = numberTuple(dataset, 'PixelSpacing', 2);
  const { _hasPixelData, ...header } = dataset;
  return {
    source,
    transferSyntaxUid: parsed.transferSyntaxUid,
    sopClassUid,
    sopInstanceUid: sopInstanceUid!,
    studyInstanceUid: studyInstanceUid!,
    seriesInstanceUid: seriesInstanceUid!,
    frameOfReferenceUid: stringValue(dataset, 'FrameOfReferenceUID'),
    modality: stringValue(dataset, 'Modality')?.toUpperCase(),
    imageType: stringValues(dataset, 'ImageType').map((v) => v.toUpperCase()),
    seriesDescription: stringValue(dataset, 'SeriesDescription'),
    seriesNumber: numberValue(dataset, 'SeriesNumber'),
    instanceNumber: numberValue(dataset, 'InstanceNumber'),
    convolutionKernel: stringValues(dataset, 'ConvolutionKernel'),
    manufacturer: stringValue(dataset, 'Manufacturer'),
    softwareVersions: stringValues(dataset, 'SoftwareVersions'),
    bodyPartExamined: stringValue(dataset, 'BodyPartExamined'),
    rows: numberValue(dataset, 'Rows'),
    columns: numberValue(dataset, 'Columns'),
    imagePositionPatient: ipp as InstanceHeader['imagePositionPatient'],
    imageOrientationPatient: iop as InstanceHeader['imageOrientationPatient'],
    pixelSpacing: spacing as InstanceHeader['pixelSpacing'],
    sliceThickness: numberValue(dataset, 'SliceThickness'),
    gantryDetectorTilt: numberValue(dataset, 'GantryDetectorTilt'),
    numberOfFrames: numberValue(dataset, 'NumberOfFrames') ?? 1,
    hasPixelData: _hasPixelData === true || dataset.PixelData !== undefined,
    dataset: header,
  };
}

export async function readInstanceHeader(source: InstanceSource): Promise<InstanceHeader> {
  const bytes = await loadSourceBytes(source);
  return headerFromParsed(parseDicom(bytes, { headerOnly: true }), source);
}
