/**
 * A bounded structural walk over DICOM bytes, run before dcmjs sees them. dcmjs 0.51.1 trusts
 * declared lengths and allocates from them (a 132 KB file with one VR UN length of 0x7FFFFFFF
 * takes the process down with a heap overflow), so every length here is checked against the
 * bytes actually present, and against the enclosing item or sequence, before anything reads it.
 * Nothing is allocated per element: the walk only moves an offset and records where a few
 * top-level values and the pixel data lie.
 *
 * Covers Explicit VR Little/Big Endian and Implicit VR Little Endian (a Deflated dataset is
 * walked after it has been inflated), defined and undefined length sequences and items, UN of
 * undefined length (implicit VR inside, PS3.5 6.2.2) and encapsulated pixel data (PS3.5 A.4).
 * A PixelData value that runs past the end of the input is not an error here: it is recorded as
 * incomplete, so headers can still be read and completeness judged by the caller.
 */
import dcmjs from 'dcmjs';
import { CtMuscleError } from '../errors.ts';

export interface ByteOrderSyntax {
  explicitVr: boolean;
  littleEndian: boolean;
}

export interface PixelDataExtent {
  /** Offset of the value (after the element header) in the walked bytes. */
  valueOffset: number;
  encapsulated: boolean;
  /** Declared value length; null for undefined length (encapsulated). */
  declaredLength: number | null;
  /** Native: bytes of the value present in the input. Encapsulated: bytes up to where the walk stopped. */
  presentLength: number;
  /** Native: the whole declared value is present. Encapsulated: items intact and the sequence delimiter found. */
  complete: boolean;
  /** Encapsulated: fragment items after the Basic Offset Table (whole ones only). */
  fragments: number;
}

export interface DatasetStructure {
  /** Raw values of the top-level elements asked for (by 8-hex-digit tag), exactly as stored. */
  rawValues: Map<string, Uint8Array>;
  /** The VR each kept value was stated with (null in Implicit VR). */
  rawVrs: Map<string, string | null>;
  pixelData: PixelDataExtent | null;
  elementCount: number;
}

export interface WalkOptions {
  /** Top-level tags whose raw values to keep ('0020000D', …). */
  keep?: readonly string[];
  /** Deepest sequence nesting accepted (dcmjs recurses per level). */
  maxDepth?: number;
  /** Stop at PixelData (header-only reads): nothing after it is walked. */
  stopAtPixelData?: boolean;
}

const UNDEFINED = 0xffffffff;
const PIXEL_DATA = 0x7fe00010;
const ITEM = 0xfffee000;
const ITEM_DELIMITER = 0xfffee00d;
const SEQUENCE_DELIMITER = 0xfffee0dd;
/** Deep enough for SR content trees, far from what would exhaust dcmjs's recursion. */
const DEFAULT_MAX_DEPTH = 32;
/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const SHORT_VRS = new Set(['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'PN', 'SH', 'SL', 'SS', 'ST', 'TM', 'UI', 'UL', 'US']);

export function tagHex(tag: number): string {
  return tag.toString(16).toUpperCase().padStart(8, '0');
}

function tagLabel(tag: number): string {
  const hex = tagHex(tag);
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

function malformed(message: string, details?: Record<string, unknown>): CtMuscleError {
  return new CtMuscleError('E_MALFORMED_DICOM', message, details);
}

/** Implicit VR carries no VR: whether a tag is a sequence comes from the data dictionary. */
const dictionary = (dcmjs.data.DicomMetaDictionary as unknown as { dictionary: Record<string, { vr?: string }> }).dictionary;
function isSequenceInDictionary(tag: number): boolean {
  const hex = tagHex(tag);
  return dictionary[`(${hex.slice(0, 4)},${hex.slice(4)})`]?.vr === 'SQ';
}

interface Header {
  tag: number;
  vr: string | null;
  length: number;
  valueOffset: number;
}

class Walker {
  readonly view: DataView;
  readonly structure: DatasetStructure = { rawValues: new Map(), rawVrs: new Map(), pixelData: null, elementCount: 0 };
  /** Kept tags as numbers: the walk compares every element's tag with them. */
  private readonly keep: Set<number>;
  private readonly maxDepth: number;

  constructor(
    readonly bytes: Uint8Array,
    private readonly options: WalkOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.keep = new Set((options.keep ?? []).map((tag) => parseInt(tag, 16)));
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  private need(offset: number, count: number, end: number, what: string): void {
    if (offset + count > end) throw malformed(`${what} at byte ${offset} needs ${count} bytes; only ${Math.max(0, end - offset)} remain.`, { offset });
  }

  private tagAt(offset: number, little: boolean): number {
    return ((this.view.getUint16(offset, little) << 16) | this.view.getUint16(offset + 2, little)) >>> 0;
  }

  /** One element header; item and delimiter tags always use the implicit layout. */
  private header(offset: number, end: number, syntax: ByteOrderSyntax): Header {
    const little = syntax.littleEndian;
    this.need(offset, 8, end, 'An element header');
    const tag = this.tagAt(offset, little);
    if (tag >>> 16 === 0xfffe || !syntax.explicitVr) {
      return { tag, vr: null, length: this.view.getUint32(offset + 4, little), valueOffset: offset + 8 };
    }
    const vr = String.fromCharCode(this.bytes[offset + 4], this.bytes[offset + 5]);
    if (LONG_VRS.has(vr)) {
      this.need(offset, 12, end, `The header of ${tagLabel(tag)}`);
      return { tag, vr, length: this.view.getUint32(offset + 8, little), valueOffset: offset + 12 };
    }
    if (!SHORT_VRS.has(vr)) throw malformed(`Element ${tagLabel(tag)} at byte ${offset} has an invalid VR ${JSON.stringify(vr)}.`, { offset });
    return { tag, vr, length: this.view.getUint16(offset + 6, little), valueOffset: offset + 8 };
  }

  /**
   * Walk a dataset from `offset` to `end` (or, inside an undefined-length item, to its
   * delimiter). Returns the offset after the last byte consumed.
   */
  walkDataset(offset: number, end: number, syntax: ByteOrderSyntax, depth: number, untilItemDelimiter: boolean): number {
    while (offset < end) {
      const h = this.header(offset, end, syntax);
      if (h.tag === ITEM_DELIMITER) {
        if (!untilItemDelimiter) throw malformed(`An item delimiter at byte ${offset} lies outside any item.`, { offset });
        return h.valueOffset;
      }
      if (h.tag >>> 16 === 0xfffe) throw malformed(`Item tag ${tagLabel(h.tag)} at byte ${offset} appears where an element was expected.`, { offset });
      this.structure.elementCount++;
      const top = depth === 0;
      if (top && h.tag === PIXEL_DATA) {
        offset = this.pixelData(h, end, syntax);
        if (this.options.stopAtPixelData) return offset;
        continue;
      }
      offset = this.element(h, end, syntax, depth);
      if (top && this.keep.has(h.tag)) {
        const tag = tagHex(h.tag);
        this.structure.rawValues.set(tag, this.bytes.subarray(h.valueOffset, offset));
        this.structure.rawVrs.set(tag, h.vr);
      }
    }
    if (untilItemDelimiter) throw malformed(`An item of undefined length has no item delimiter before byte ${end}.`, { offset: end });
    return offset;
  }

  private element(h: Header, end: number, syntax: ByteOrderSyntax, depth: number): number {
    const isSequence = h.vr === 'SQ' || (h.vr === null && (h.length === UNDEFINED || isSequenceInDictionary(h.tag)));
    if (h.length === UNDEFINED) {
      // UN of undefined length holds a sequence encoded in Implicit VR Little Endian (PS3.5 6.2.2).
      if (h.vr === 'UN') return this.sequence(h.valueOffset, end, null, { explicitVr: false, littleEndian: true }, depth + 1, h.tag);
      if (!isSequence) throw malformed(`Element ${tagLabel(h.tag)} (VR ${h.vr}) has an undefined length, which only sequences and pixel data may have.`, { tag: tagHex(h.tag) });
      return this.sequence(h.valueOffset, end, null, syntax, depth + 1, h.tag);
    }
    if (h.valueOffset + h.length > end) {
      throw malformed(
        `Element ${tagLabel(h.tag)}${h.vr ? ` (VR ${h.vr})` : ''} declares ${h.length} bytes but only ${Math.max(0, end - h.valueOffset)} remain in the ${end === this.bytes.length ? 'input' : 'enclosing item'}.`,
        { tag: tagHex(h.tag), declared: h.length },
      );
    }
    if (isSequence) return this.sequence(h.valueOffset, end, h.length, syntax, depth + 1, h.tag);
    // dcmjs re-reads a UN whose tag the dictionary knows as SQ as an implicit VR sequence: walk it so.
    if (h.vr === 'UN' && isSequenceInDictionary(h.tag)) return this.sequence(h.valueOffset, end, h.length, { explicitVr: false, littleEndian: true }, depth + 1, h.tag);
    return h.valueOffset + h.length;
  }

  private sequence(offset: number, end: number, length: number | null, syntax: ByteOrderSyntax, depth: number, tag: number): number {
    if (depth > this.maxDepth) throw malformed(`Sequences are nested deeper than ${this.maxDepth} levels at ${tagLabel(tag)}.`, { tag: tagHex(tag) });
    const limit = length === null ? end : offset + length;
    while (offset < limit || length === null) {
      const h = this.header(offset, limit, { explicitVr: false, littleEndian: syntax.littleEndian });
      if (h.tag === SEQUENCE_DELIMITER) {
        if (length !== null) throw malformed(`A sequence delimiter ends the defined-length sequence ${tagLabel(tag)}.`, { tag: tagHex(tag) });
        return h.valueOffset;
      }
      if (h.tag !== ITEM) throw malformed(`Sequence ${tagLabel(tag)} holds ${tagLabel(h.tag)} where an item was expected.`, { tag: tagHex(tag) });
      if (h.length === UNDEFINED) {
        offset = this.walkDataset(h.valueOffset, limit, syntax, depth, true);
      } else {
        if (h.valueOffset + h.length > limit) {
          throw malformed(`An item of ${tagLabel(tag)} declares ${h.length} bytes but only ${Math.max(0, limit - h.valueOffset)} remain.`, { tag: tagHex(tag), declared: h.length });
        }
        this.walkDataset(h.valueOffset, h.valueOffset + h.length, syntax, depth, false);
        offset = h.valueOffset + h.length;
      }
    }
    return offset;
  }

  /** Native pixel data may be cut short (recorded, not thrown); encapsulated items are walked. */
  private pixelData(h: Header, end: number, syntax: ByteOrderSyntax): number {
    if (h.length !== UNDEFINED) {
      const presentLength = Math.max(0, Math.min(h.length, end - h.valueOffset));
      const complete = presentLength === h.length;
      this.structure.pixelData = { valueOffset: h.valueOffset, encapsulated: false, declaredLength: h.length, presentLength, complete, fragments: 0 };
      return complete ? h.valueOffset + h.length : end;
    }
    if (h.vr !== null && h.vr !== 'OB' && h.vr !== 'OW') throw malformed(`PixelData of undefined length has VR ${h.vr}; encapsulated pixel data is OB.`);
    let offset = h.valueOffset;
    let items = 0;
    const extent: PixelDataExtent = { valueOffset: h.valueOffset, encapsulated: true, declaredLength: null, presentLength: 0, complete: false, fragments: 0 };
    this.structure.pixelData = extent;
    while (offset + 8 <= end) {
      const tag = this.tagAt(offset, syntax.littleEndian);
      const length = this.view.getUint32(offset + 4, syntax.littleEndian);
      if (tag === SEQUENCE_DELIMITER) {
        extent.complete = items > 0;
        offset += 8;
        break;
      }
      if (tag !== ITEM) throw malformed(`Encapsulated PixelData holds ${tagLabel(tag)} at byte ${offset} where a fragment item was expected.`, { offset });
      if (length === UNDEFINED || offset + 8 + length > end) break; // cut inside a fragment: incomplete
      offset += 8 + length;
      items++;
    }
    extent.fragments = Math.max(0, items - 1); // the first item is the Basic Offset Table
    extent.presentLength = offset - h.valueOffset;
    return extent.complete ? offset : end;
  }
}

/**
 * Walk a dataset (no preamble, no file meta) and check every length it declares. Throws
 * E_MALFORMED_DICOM naming the first element whose length, VR or nesting cannot be right.
 */
export function walkDataset(bytes: Uint8Array, syntax: ByteOrderSyntax, options: WalkOptions = {}): DatasetStructure {
  const walker = new Walker(bytes, options);
  walker.walkDataset(0, bytes.length, syntax, 0, false);
  return walker.structure;
}

export interface Part10Meta {
  transferSyntaxUid: string;
  /** Where the dataset begins (after the preamble, DICM and the group 0002 elements). */
  datasetOffset: number;
  rawValues: Map<string, Uint8Array>;
}

const TRANSFER_SYNTAX_TAG = '00020010';
const META_TAGS_KEPT = new Set([TRANSFER_SYNTAX_TAG, '00020002', '00020003']);

/** ASCII text of a raw string value, with trailing NUL/space padding removed (leading spaces too). */
export function rawText(value: Uint8Array | undefined): string | undefined {
  if (value === undefined) return undefined;
  let end = value.length;
  while (end > 0 && (value[end - 1] === 0 || value[end - 1] === 0x20)) end--;
  let start = 0;
  while (start < end && value[start] === 0x20) start++;
  return Buffer.from(value.buffer, value.byteOffset + start, end - start).toString('latin1');
}

/**
 * The file meta information of a Part 10 file (always Explicit VR Little Endian), checked
 * element by element and ended where group 0002 ends: a wrong group length cannot move the
 * start of the dataset.
 */
export function walkPart10Meta(bytes: Uint8Array): Part10Meta {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rawValues = new Map<string, Uint8Array>();
  let offset = 132;
  while (offset + 8 <= bytes.length && view.getUint16(offset, true) === 0x0002) {
    const vr = String.fromCharCode(bytes[offset + 4], bytes[offset + 5]);
    const long = LONG_VRS.has(vr);
    if (!long && !SHORT_VRS.has(vr)) throw malformed(`File meta element at byte ${offset} has an invalid VR ${JSON.stringify(vr)}.`, { offset });
    const valueOffset = offset + (long ? 12 : 8);
    if (valueOffset > bytes.length) throw malformed(`The file meta information is cut inside an element header at byte ${offset}.`, { offset });
    const length = long ? view.getUint32(offset + 8, true) : view.getUint16(offset + 6, true);
    if (length === UNDEFINED || valueOffset + length > bytes.length) {
      throw malformed(`File meta element at byte ${offset} declares ${length === UNDEFINED ? 'an undefined length' : `${length} bytes`}; only ${bytes.length - valueOffset} remain.`, { offset });
    }
    const tag = tagHex(((view.getUint16(offset, true) << 16) | view.getUint16(offset + 2, true)) >>> 0);
    if (META_TAGS_KEPT.has(tag)) rawValues.set(tag, bytes.subarray(valueOffset, valueOffset + length));
    offset = valueOffset + length;
  }
  const transferSyntaxUid = rawText(rawValues.get(TRANSFER_SYNTAX_TAG));
  if (!transferSyntaxUid) throw new CtMuscleError('E_MISSING_ATTRIBUTE', 'The file meta information lacks TransferSyntaxUID (0002,0010).');
  return { transferSyntaxUid, datasetOffset: offset, rawValues };
}
