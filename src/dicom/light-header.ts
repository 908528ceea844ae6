/**
 * The attributes the node reads of every slice (identity, geometry, series description, pixel
 * format, rescale), decoded straight from the raw values the structural walk kept, without dcmjs.
 * Parsing and naturalizing a whole header with dcmjs costs more than reading the file's first
 * 64 KiB, and it is done for hundreds of slices of which one is reported (docs/decisions.md,
 * "Scan headers without dcmjs").
 *
 * Only values whose meaning cannot differ from dcmjs's are decoded here: plain ASCII text,
 * numbers in their strict DICOM form, single US values, each with the VR the standard gives it.
 * Anything else (non-ASCII text, a VR other than the dictionary's, an odd number string, big
 * endian data) gives null, and the caller parses the header with dcmjs as before.
 */
import type { DatasetStructure } from './well-formed.ts';
import type { NaturalDataset } from './types.ts';

type LightVr = 'UI' | 'CS' | 'LO' | 'SH' | 'DS' | 'IS' | 'US' | 'xs';

/** Tag → keyword and VR ('xs': US or SS by PixelRepresentation, read as explicitly stated). */
const LIGHT_ATTRIBUTES: Readonly<Record<string, { keyword: string; vr: LightVr }>> = {
  '00080008': { keyword: 'ImageType', vr: 'CS' },
  '00080016': { keyword: 'SOPClassUID', vr: 'UI' },
  '00080018': { keyword: 'SOPInstanceUID', vr: 'UI' },
  '00080060': { keyword: 'Modality', vr: 'CS' },
  '00080070': { keyword: 'Manufacturer', vr: 'LO' },
  '0008103E': { keyword: 'SeriesDescription', vr: 'LO' },
  '00180015': { keyword: 'BodyPartExamined', vr: 'CS' },
  '00180050': { keyword: 'SliceThickness', vr: 'DS' },
  '00181020': { keyword: 'SoftwareVersions', vr: 'LO' },
  '00181120': { keyword: 'GantryDetectorTilt', vr: 'DS' },
  '00181210': { keyword: 'ConvolutionKernel', vr: 'SH' },
  '0020000D': { keyword: 'StudyInstanceUID', vr: 'UI' },
  '0020000E': { keyword: 'SeriesInstanceUID', vr: 'UI' },
  '00200011': { keyword: 'SeriesNumber', vr: 'IS' },
  '00200013': { keyword: 'InstanceNumber', vr: 'IS' },
  '00200032': { keyword: 'ImagePositionPatient', vr: 'DS' },
  '00200037': { keyword: 'ImageOrientationPatient', vr: 'DS' },
  '00200052': { keyword: 'FrameOfReferenceUID', vr: 'UI' },
  '00280002': { keyword: 'SamplesPerPixel', vr: 'US' },
  '00280004': { keyword: 'PhotometricInterpretation', vr: 'CS' },
  '00280006': { keyword: 'PlanarConfiguration', vr: 'US' },
  '00280008': { keyword: 'NumberOfFrames', vr: 'IS' },
  '00280010': { keyword: 'Rows', vr: 'US' },
  '00280011': { keyword: 'Columns', vr: 'US' },
  '00280030': { keyword: 'PixelSpacing', vr: 'DS' },
  '00280100': { keyword: 'BitsAllocated', vr: 'US' },
  '00280101': { keyword: 'BitsStored', vr: 'US' },
  '00280102': { keyword: 'HighBit', vr: 'US' },
  '00280103': { keyword: 'PixelRepresentation', vr: 'US' },
  '00280120': { keyword: 'PixelPaddingValue', vr: 'xs' },
  '00280121': { keyword: 'PixelPaddingRangeLimit', vr: 'xs' },
  '00281052': { keyword: 'RescaleIntercept', vr: 'DS' },
  '00281053': { keyword: 'RescaleSlope', vr: 'DS' },
};

/** The top-level tags the walk must keep for `lightDataset`. */
export const LIGHT_TAGS: readonly string[] = Object.keys(LIGHT_ATTRIBUTES);

/** A number as DS and IS write it (PS3.5 6.2), nothing dcmjs would clean up first. */
const STRICT_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const UID_CHARACTERS = /^[0-9.]*$/;

/** Printable ASCII with trailing NUL/space padding stripped; null for anything else. */
function asciiText(value: Uint8Array): string | null {
  let end = value.length;
  while (end > 0 && (value[end - 1] === 0 || value[end - 1] === 0x20)) end--;
  for (let i = 0; i < end; i++) if (value[i] < 0x20 || value[i] > 0x7e) return null;
  return Buffer.from(value.buffer, value.byteOffset, end).toString('latin1');
}

/** dcmjs's shape: one value as a scalar, several as an array. */
function natural<T>(list: T[]): T | T[] {
  return list.length === 1 ? list[0] : list;
}

function decode(value: Uint8Array, vr: LightVr, statedVr: string | null): unknown | null {
  if (vr === 'US' || vr === 'xs') {
    // Implicit VR leaves US or SS to PixelRepresentation: dcmjs's reading of that is not repeated here.
    const stated = statedVr ?? (vr === 'US' ? 'US' : null);
    if ((stated !== 'US' && stated !== 'SS') || value.length !== 2) return null;
    const view = new DataView(value.buffer, value.byteOffset, 2);
    return stated === 'US' ? view.getUint16(0, true) : view.getInt16(0, true);
  }
  const text = asciiText(value);
  if (text === null) return null;
  if (vr === 'UI') return text.includes('\\') || !UID_CHARACTERS.test(text) ? null : text;
  if (text === '') return '';
  const parts = text.split('\\');
  if (vr === 'DS' || vr === 'IS') {
    const numbers = parts.map((part) => part.trim());
    if (!numbers.every((part) => STRICT_NUMBER.test(part))) return null;
    return natural(numbers.map(Number));
  }
  return natural(parts.map((part) => part.trimEnd()));
}

/**
 * The light attributes of a little-endian dataset the walk kept (`LIGHT_TAGS`), keyed and shaped
 * as dcmjs naturalizes them, as far as the header readers (`dataset-values.ts`) can tell; null
 * where one of them must be left to dcmjs.
 */
export function lightDataset(structure: DatasetStructure): NaturalDataset | null {
  const dataset: NaturalDataset = {};
  for (const [tag, value] of structure.rawValues) {
    const attribute = LIGHT_ATTRIBUTES[tag];
    if (attribute === undefined) continue;
    const statedVr = structure.rawVrs.get(tag) ?? null;
    if (statedVr !== null && statedVr !== attribute.vr && attribute.vr !== 'xs') return null;
    const decoded = decode(value, attribute.vr, statedVr);
    if (decoded === null) return null;
    dataset[attribute.keyword] = decoded;
  }
  if (structure.pixelData) dataset._hasPixelData = true;
  return dataset;
}
