/**
 * Reading DICOM: Part 10 files and raw datasets (no preamble) into a parsed header, with pixel
 * data left in the source until a frame is asked for.
 */
import dcmjs from 'dcmjs';
import type { DicomJsonDict, ReadOptions } from 'dcmjs';
import { CtMuscleError } from '../errors.ts';
import { numberTuple, numberValue, stringValue, stringValues } from './dataset-values.ts';
import { readRegularFile, type ReusableBuffer } from './read-file.ts';
import { declaredImage, IMAGE_SIZE_TAGS } from './declared-size.ts';
import { inflateDataset, inflateDatasetSync } from './inflate.ts';
import { LIGHT_TAGS, lightDataset } from './light-header.ts';
import { DEFAULT_DICOM_LIMITS, type DicomLimits } from './limits.ts';
import { TS } from './transfer-syntax.ts';
import { requireValidUid } from './uid.ts';
import { rawText, walkDataset, walkPart10Meta, type ByteOrderSyntax, type DatasetStructure } from './well-formed.ts';
import type { InstanceHeader, InstanceSource, NaturalDataset } from './types.ts';

// dcmjs reports recoverable oddities (unknown VRs, odd lengths) on its own loggers; the node
// reports what matters through typed errors instead.
dcmjs.log.setLevel('silent');
dcmjs.log.getLogger('validation.dcmjs').setLevel('silent');

const PIXEL_DATA_TAG = '7FE00010';

/** Top-level values kept raw by the structural walk: UIDs as stored (dcmjs strips characters) and the image size. */
export const RAW_UID_TAGS = { sopClassUid: '00080016', sopInstanceUid: '00080018', studyInstanceUid: '0020000D', seriesInstanceUid: '0020000E' } as const;
const KEPT_TAGS = [...new Set([...Object.values(RAW_UID_TAGS), ...IMAGE_SIZE_TAGS, ...LIGHT_TAGS])];

/** The header attributes that describe the pixels (all before PixelData, so the header-only scan has them). */
const PIXEL_ATTRIBUTES = [
  'Rows', 'Columns', 'BitsAllocated', 'BitsStored', 'HighBit', 'PixelRepresentation', 'SamplesPerPixel',
  'PhotometricInterpretation', 'PlanarConfiguration', 'NumberOfFrames', 'PixelPaddingValue', 'PixelPaddingRangeLimit',
] as const;

export interface ParsedDicom {
  transferSyntaxUid: string;
  meta: NaturalDataset;
  dataset: NaturalDataset;
  /** The PixelData value runs past the end of the input (native) or its items are cut (encapsulated). */
  pixelDataTruncated: boolean;
  /** What the bounded structural walk found (absent for datasets built from DICOM JSON). */
  structure?: DatasetStructure;
  /** Byte order of the walked dataset (Deflated: after inflation). */
  littleEndian?: boolean;
  /** Header-only parses: dcmjs stopped at the top-level PixelData tag (it read nothing after it). */
  stoppedAtPixelData?: boolean;
}

export interface ParseOptions {
  /** Stop before PixelData: the header is all that series grouping and selection need. */
  headerOnly?: boolean;
  limits?: DicomLimits;
  /**
   * Header-only: hand dcmjs the bytes up to the walk's top-level PixelData value only (it reads
   * the tag and stops). Only where a disagreement between dcmjs and the walk is caught
   * (`stoppedAtPixelData`), as `parseHeaderOfHead` does: it saves copying the rest for dcmjs.
   */
  dcmjsUpToPixelData?: boolean;
}

/** Where the dataset lies in the input and in which transfer syntax (Deflated: still deflated). */
interface LocatedDataset {
  transferSyntaxUid: string;
  /** Preamble and file meta information; null for a raw dataset. */
  metaBytes: Uint8Array | null;
  datasetBytes: Uint8Array;
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

function locateDataset(bytes: Uint8Array, limits: DicomLimits): LocatedDataset {
  if (bytes.length > limits.maxInstanceBytes) {
    throw new CtMuscleError('E_INSTANCE_TOO_LARGE', `The instance is ${bytes.length} bytes; the configured maximum is ${limits.maxInstanceBytes} (limits.maxInstanceMb).`);
  }
  if (!hasPreamble(bytes)) return { transferSyntaxUid: guessRawSyntax(bytes), metaBytes: null, datasetBytes: bytes };
  const meta = walkPart10Meta(bytes);
  return { transferSyntaxUid: meta.transferSyntaxUid, metaBytes: bytes.subarray(0, meta.datasetOffset), datasetBytes: bytes.subarray(meta.datasetOffset) };
}

/** How the (inflated) dataset is encoded: every syntax but these two is Explicit VR Little Endian. */
export function byteOrderOf(transferSyntaxUid: string): ByteOrderSyntax {
  if (transferSyntaxUid === TS.implicitVrLittleEndian) return { explicitVr: false, littleEndian: true };
  if (transferSyntaxUid === TS.explicitVrBigEndian) return { explicitVr: true, littleEndian: false };
  return { explicitVr: true, littleEndian: true };
}

function readMeta(metaBytes: Uint8Array | null): DicomJsonDict {
  if (metaBytes === null) return {};
  // Group 0002 alone, after the walk has checked every length in it (always Explicit VR LE).
  const stream = new dcmjs.data.ReadBufferStream(toArrayBuffer(metaBytes.subarray(132)), true);
  stream.reset();
  return dcmjs.data.DicomMessage._read(stream, TS.explicitVrLittleEndian, { ignoreErrors: false });
}

function readDataset(datasetBytes: Uint8Array, transferSyntaxUid: string, options: ReadOptions): DicomJsonDict {
  // As dcmjs's readFile does: every syntax but these is read as Explicit VR Little Endian.
  const plain: string[] = [TS.implicitVrLittleEndian, TS.explicitVrLittleEndian, TS.explicitVrBigEndian];
  const syntax = plain.includes(transferSyntaxUid) ? transferSyntaxUid : TS.explicitVrLittleEndian;
  const read = (readOptions: ReadOptions) => {
    const stream = new dcmjs.data.ReadBufferStream(toArrayBuffer(datasetBytes), syntax !== TS.explicitVrBigEndian);
    stream.reset();
    return dcmjs.data.DicomMessage._read(stream, syntax, readOptions);
  };
  try {
    return read(options);
  } catch (error) {
    // dcmjs refuses ISO 2022 code extensions (Japanese, Korean sites); the image data does not
    // depend on them, so such files are read leniently rather than rejected. Names may be garbled.
    if (!/character set/i.test((error as Error).message)) throw error;
    return read({ ...options, ignoreErrors: true });
  }
}

/** The bounded structural walk `parseLocated` starts with. */
function walkLocated(located: LocatedDataset, datasetBytes: Uint8Array, options: ParseOptions): DatasetStructure {
  return walkDataset(datasetBytes, byteOrderOf(located.transferSyntaxUid), { keep: KEPT_TAGS, stopAtPixelData: options.headerOnly });
}

/** Walk (unless the caller walked already: `walked`), then parse with dcmjs: the dataset is given already inflated. */
function parseLocated(located: LocatedDataset, datasetBytes: Uint8Array, options: ParseOptions, walked?: DatasetStructure): ParsedDicom {
  const order = byteOrderOf(located.transferSyntaxUid);
  const structure = walked ?? walkLocated(located, datasetBytes, options);
  const truncated = structure.pixelData !== null && !structure.pixelData.complete;
  // dcmjs never reads a cut pixel value (it would zero-fill or misread it): the parse stops before it.
  const stopBeforePixels = options.headerOnly || truncated;
  const readOptions = stopBeforePixels ? { untilTag: PIXEL_DATA_TAG, includeUntilTagValue: false, ignoreErrors: false } : { ignoreErrors: false };
  let meta: NaturalDataset;
  let dataset: NaturalDataset;
  let stoppedAtPixelData: boolean;
  try {
    meta = dcmjs.data.DicomMetaDictionary.naturalizeDataset(readMeta(located.metaBytes));
    const upTo = options.headerOnly && options.dcmjsUpToPixelData && structure.pixelData ? structure.pixelData.valueOffset : datasetBytes.length;
    const dict = readDataset(datasetBytes.subarray(0, upTo), located.transferSyntaxUid, readOptions);
    if (Object.keys(dict).length === 0) throw new CtMuscleError('E_NOT_DICOM', 'The input holds no DICOM elements.');
    stoppedAtPixelData = stopBeforePixels && PIXEL_DATA_TAG in dict;
    if (stopBeforePixels) delete dict[PIXEL_DATA_TAG];
    // Naturalizing can fail too (a PatientName re-declared as DS: "Cannot add accessors to non-string primitives").
    dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict);
  } catch (error) {
    if (error instanceof CtMuscleError) throw error;
    throw new CtMuscleError('E_NOT_DICOM', `Not a readable DICOM file or dataset: ${(error as Error).message}`);
  }
  // Header-only parses drop the pixel element; keep the fact that it was there.
  if (stopBeforePixels && structure.pixelData) dataset._hasPixelData = true;
  return {
    transferSyntaxUid: located.transferSyntaxUid,
    meta,
    dataset,
    pixelDataTruncated: !options.headerOnly && truncated,
    structure,
    littleEndian: order.littleEndian,
    stoppedAtPixelData,
  };
}

/**
 * Parse an instance (Part 10 file or raw dataset). Every length is checked by the structural
 * walk before dcmjs reads anything; a Deflated dataset is inflated within bounds on this thread
 * (use parseDicomAsync where the event loop matters).
 */
export function parseDicom(bytes: Uint8Array, options: ParseOptions = {}): ParsedDicom {
  const limits = options.limits ?? DEFAULT_DICOM_LIMITS;
  const located = locateDataset(bytes, limits);
  const dataset = located.transferSyntaxUid === TS.deflatedExplicitVrLittleEndian ? inflateDatasetSync(located.datasetBytes, limits) : located.datasetBytes;
  return parseLocated(located, dataset, options);
}

/** parseDicom with a Deflated dataset inflated off the event loop. */
export async function parseDicomAsync(bytes: Uint8Array, options: ParseOptions = {}): Promise<ParsedDicom> {
  const limits = options.limits ?? DEFAULT_DICOM_LIMITS;
  const located = locateDataset(bytes, limits);
  const dataset = located.transferSyntaxUid === TS.deflatedExplicitVrLittleEndian ? await inflateDataset(located.datasetBytes, limits) : located.datasetBytes;
  return parseLocated(located, dataset, options);
}

/** What the scan already knows of an instance: its UID and the attributes that describe its pixels. */
export interface ScannedPixels {
  sopInstanceUid: string;
  /** Rows, Columns, BitsAllocated/Stored, HighBit, PixelRepresentation, … from the parsed header. */
  pixelAttributes: NaturalDataset;
}

/** The values of the encapsulated fragments after the Basic Offset Table, joined (one frame). */
function encapsulatedValue(bytes: Uint8Array, valueOffset: number, end: number): ArrayBuffer {
  const parts: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The walk checked every item header and length up to `end`; the first item is the offset table.
  for (let offset = valueOffset, item = 0; offset + 8 <= end; item++) {
    if (view.getUint16(offset, true) === 0xfffe && view.getUint16(offset + 2, true) === 0xe0dd) break;
    const length = view.getUint32(offset + 4, true);
    if (item > 0) parts.push(bytes.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out.buffer;
}

/**
 * The pixel data of an instance whose header the scan already parsed: the bytes are walked again
 * (every length checked) but not handed to dcmjs a second time; the pixel attributes are the
 * header's; native pixel data is a view into `bytes`. Null where only a full parse will do:
 * Deflated or big-endian data, several frames, or bytes that are not the instance scanned
 * (another SOP Instance UID or image size).
 */
export function pixelsOfScanned(bytes: Uint8Array, scanned: ScannedPixels, limits: DicomLimits = DEFAULT_DICOM_LIMITS): ParsedDicom | null {
  const located = locateDataset(bytes, limits);
  const order = byteOrderOf(located.transferSyntaxUid);
  if (located.transferSyntaxUid === TS.deflatedExplicitVrLittleEndian || !order.littleEndian) return null;
  const structure = walkDataset(located.datasetBytes, order, { keep: KEPT_TAGS });
  const image = declaredImage(structure, true);
  const attributes = scanned.pixelAttributes;
  const same =
    rawText(structure.rawValues.get(RAW_UID_TAGS.sopInstanceUid)) === scanned.sopInstanceUid &&
    image !== null &&
    image.numberOfFrames === 1 &&
    image.rows === numberValue(attributes, 'Rows') &&
    image.columns === numberValue(attributes, 'Columns') &&
    image.bitsAllocated === numberValue(attributes, 'BitsAllocated') &&
    image.samplesPerPixel === (numberValue(attributes, 'SamplesPerPixel') ?? 1);
  if (!same) return null;
  const extent = structure.pixelData;
  const truncated = extent !== null && !extent.complete;
  const dataset: NaturalDataset = { ...attributes };
  if (extent && !truncated) {
    const data = located.datasetBytes;
    const start = extent.valueOffset;
    // Native data is a view into `bytes`, not a copy (decodeFrame copies it into stored values):
    // the result lives no longer than the bytes it was made from.
    dataset.PixelData = extent.encapsulated ? [encapsulatedValue(data, start, start + extent.presentLength)] : data.subarray(start, start + extent.presentLength);
  }
  return { transferSyntaxUid: located.transferSyntaxUid, meta: {}, dataset, pixelDataTruncated: truncated, structure, littleEndian: true };
}

function describeSource(source: InstanceSource): string {
  return source.kind === 'file' ? source.path : source.label;
}

/** An instance's bytes; a file is read into `into` when given (the bytes are then valid until its next use). */
export async function loadSourceBytes(source: InstanceSource, limits: DicomLimits = DEFAULT_DICOM_LIMITS, into?: ReusableBuffer): Promise<Uint8Array> {
  if (source.kind === 'memory') return source.bytes;
  return readRegularFile(source.path, limits.maxInstanceBytes, { into });
}

/**
 * A UID as stored: the raw bytes the walk kept (dcmjs strips characters other than digits and
 * dots when it formats UI values, which would make `1.2.3\n4` into `1.2.34`), else dcmjs's value
 * (datasets built from DICOM JSON). Trailing NUL/space padding is not part of the UID.
 */
function storedUid(parsed: ParsedDicom, keyword: keyof typeof RAW_UID_TAGS, dcmjsKeyword: string): string | undefined {
  const raw = parsed.structure?.rawValues.get(RAW_UID_TAGS[keyword]);
  if (raw !== undefined) return rawText(raw) || undefined;
  return stringValue(parsed.dataset, dcmjsKeyword);
}

/**
 * The parsed header of one instance; throws E_MISSING_UID when a UID the node relies on is
 * empty and E_INVALID_UID when one is not a valid UID (PS3.5 9.1): refused, never repaired.
 */
export function headerFromParsed(parsed: ParsedDicom, source: InstanceSource): InstanceHeader {
  const { dataset, meta } = parsed;
  const sopInstanceUid = storedUid(parsed, 'sopInstanceUid', 'SOPInstanceUID');
  const studyInstanceUid = storedUid(parsed, 'studyInstanceUid', 'StudyInstanceUID');
  const seriesInstanceUid = storedUid(parsed, 'seriesInstanceUid', 'SeriesInstanceUID');
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
  requireValidUid(studyInstanceUid!, `${describeSource(source)}: StudyInstanceUID (0020,000D)`);
  requireValidUid(seriesInstanceUid!, `${describeSource(source)}: SeriesInstanceUID (0020,000E)`);
  requireValidUid(sopInstanceUid!, `${describeSource(source)}: SOPInstanceUID (0008,0018)`);
  const sopClassUid = storedUid(parsed, 'sopClassUid', 'SOPClassUID') ?? stringValue(meta, 'MediaStorageSOPClassUID') ?? '';
  const ipp = numberTuple(dataset, 'ImagePositionPatient', 3);
  const iop = numberTuple(dataset, 'ImageOrientationPatient', 6);
  const spacing = numberTuple(dataset, 'PixelSpacing', 2);
  const { _hasPixelData, ...header } = dataset;
  const pixelAttributes: NaturalDataset = {};
  for (const name of PIXEL_ATTRIBUTES) if (dataset[name] !== undefined) pixelAttributes[name] = dataset[name];
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
    rescaleSlope: numberValue(dataset, 'RescaleSlope') ?? 1,
    rescaleIntercept: numberValue(dataset, 'RescaleIntercept') ?? 0,
    pixelAttributes,
    hasPixelData: _hasPixelData === true || dataset.PixelData !== undefined,
    dataset: header,
  };
}

/**
 * How much of a file the scan reads first: the header of a CT slice is a few KiB (private
 * vendor groups can make it tens), its pixel data 0.5 MiB. Files whose header runs past this
 * are read whole.
 */
export const HEADER_READ_BYTES = 64 * 1024;

/**
 * The header-only parse of the first bytes of a file, or null where only the whole file can give
 * the parse (and the error) reading it whole gives. Accepted only when everything up to the
 * top-level PixelData lies in `head`: the structural walk reached native PixelData without an
 * error (it checks nothing after it when it stops there) and dcmjs stopped at that same tag. A
 * Deflated dataset, encapsulated pixel data (its items are walked to the end of the input) and
 * any error are left to the whole file.
 */
export function parseHeaderOfHead(head: Uint8Array, limits: DicomLimits = DEFAULT_DICOM_LIMITS): ParsedDicom | null {
  try {
    const located = locateDataset(head, limits);
    if (located.transferSyntaxUid === TS.deflatedExplicitVrLittleEndian) return null;
    const options: ParseOptions = { headerOnly: true, limits, dcmjsUpToPixelData: true };
    // The walk first: a head without native PixelData is read whole anyway, so dcmjs is not run on it.
    const structure = walkLocated(located, located.datasetBytes, options);
    if (!structure.pixelData || structure.pixelData.encapsulated) return null;
    const parsed = parseLocated(located, located.datasetBytes, options, structure);
    return parsed.stoppedAtPixelData ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * The header-only parse of a whole instance. dcmjs is handed the bytes up to the top-level
 * PixelData value only, not a copy of the whole dataset (compressed pixel data is most of a
 * JPEG 2000 file); that parse is kept when dcmjs stopped at the PixelData the walk found, as in
 * `parseHeaderOfHead`. Anything else (Deflated data, a disagreement, any error) is parsed as a
 * whole, so its result and errors are those of `parseDicomAsync`.
 */
export async function parseHeaderOnly(bytes: Uint8Array, limits: DicomLimits = DEFAULT_DICOM_LIMITS): Promise<ParsedDicom> {
  try {
    const located = locateDataset(bytes, limits);
    if (located.transferSyntaxUid !== TS.deflatedExplicitVrLittleEndian) {
      const parsed = parseLocated(located, located.datasetBytes, { headerOnly: true, limits, dcmjsUpToPixelData: true });
      if (parsed.structure?.pixelData && parsed.stoppedAtPixelData) return parsed;
    }
  } catch {
    // Parsed as a whole below: the error it meets is the one to report.
  }
  return parseDicomAsync(bytes, { headerOnly: true, limits });
}

/**
 * The header of an instance from the walk alone (`light-header.ts`), its full dataset parsed by
 * dcmjs only when first asked for; null where dcmjs must read it now: a Deflated or big-endian
 * dataset, no PixelData reached, a value the light reader leaves to dcmjs, or any error (the
 * full parse then meets the same error). `head`: the bytes may end inside the pixel data, so
 * only native pixel data, where the walk stops at its tag, is accepted.
 */
function lightHeaderOf(bytes: Uint8Array, source: InstanceSource, limits: DicomLimits, head: boolean): InstanceHeader | null {
  try {
    const located = locateDataset(bytes, limits);
    const order = byteOrderOf(located.transferSyntaxUid);
    if (located.transferSyntaxUid === TS.deflatedExplicitVrLittleEndian || !order.littleEndian) return null;
    const structure = walkLocated(located, located.datasetBytes, { headerOnly: true });
    if (!structure.pixelData || (head && structure.pixelData.encapsulated)) return null;
    const light = lightDataset(structure);
    if (light === null) return null;
    const header = headerFromParsed({ transferSyntaxUid: located.transferSyntaxUid, meta: {}, dataset: light, pixelDataTruncated: false, structure, littleEndian: true }, source);
    // Everything before the PixelData value, copied (Buffer's own slice would be a view): the
    // source (a head buffer the next file is read into, a whole file) is neither kept nor trusted.
    const headerBytes = Uint8Array.prototype.slice.call(located.datasetBytes, 0, structure.pixelData.valueOffset);
    return withLazyDataset(header, { transferSyntaxUid: located.transferSyntaxUid, metaBytes: null, datasetBytes: headerBytes });
  } catch {
    return null;
  }
}

/**
 * `header` with its `dataset` parsed from `located` (the dataset up to the PixelData value) by
 * dcmjs on first access, as a header-only parse of the whole file would: dcmjs stops at that
 * tag. A header dcmjs cannot read, or reads differently from the walk, throws E_NOT_DICOM naming
 * the source.
 */
function withLazyDataset(header: InstanceHeader, located: LocatedDataset): InstanceHeader {
  const parse = (): NaturalDataset => {
    let parsed: ParsedDicom;
    try {
      // Walked again: the bytes end inside PixelData's element, so the walk stops where the first one did.
      parsed = parseLocated(located, located.datasetBytes, { headerOnly: true, dcmjsUpToPixelData: true });
    } catch (error) {
      throw new CtMuscleError('E_NOT_DICOM', `${describeSource(header.source)}: ${(error as Error).message}`);
    }
    if (!parsed.stoppedAtPixelData) throw new CtMuscleError('E_NOT_DICOM', `${describeSource(header.source)}: dcmjs does not read the header as the structural walk does (it did not stop at PixelData).`);
    const { _hasPixelData, ...dataset } = parsed.dataset;
    return dataset;
  };
  let dataset: NaturalDataset | undefined;
  return Object.defineProperty(header, 'dataset', {
    enumerable: true,
    configurable: true,
    get: () => (dataset ??= parse()),
    set: (value: NaturalDataset) => {
      dataset = value;
    },
  });
}

async function readFileHeader(path: string, limits: DicomLimits, headBuffer?: ReusableBuffer): Promise<InstanceHeader> {
  const source: InstanceSource = { kind: 'file', path };
  let fromHead: InstanceHeader | null = null;
  const bytes = await readRegularFile(path, limits.maxInstanceBytes, {
    head: {
      bytes: HEADER_READ_BYTES,
      // Neither header keeps the head's bytes: the light one copies what it keeps, dcmjs copies its input.
      into: headBuffer,
      wantsAll: (head) => {
        fromHead = lightHeaderOf(head, source, limits, true) ?? fromParsedHead(head, source, limits);
        return fromHead === null;
      },
    },
  });
  return fromHead ?? lightHeaderOf(bytes, source, limits, false) ?? headerFromParsed(await parseHeaderOnly(bytes, limits), source);
}

/** `parseHeaderOfHead` made a header; null where the whole file must be read (its errors are those to report). */
function fromParsedHead(head: Uint8Array, source: InstanceSource, limits: DicomLimits): InstanceHeader | null {
  const parsed = parseHeaderOfHead(head, limits);
  return parsed === null ? null : headerFromParsed(parsed, source);
}

/**
 * The header of an instance; a file is read only as far as its header goes where that can be told
 * safely, into `headBuffer` when given (a scan reads hundreds of heads of the same size).
 */
export async function readInstanceHeader(source: InstanceSource, limits: DicomLimits = DEFAULT_DICOM_LIMITS, headBuffer?: ReusableBuffer): Promise<InstanceHeader> {
  if (source.kind === 'file') return readFileHeader(source.path, limits, headBuffer);
  return headerFromParsed(await parseDicomAsync(source.bytes, { headerOnly: true, limits }), source);
}
