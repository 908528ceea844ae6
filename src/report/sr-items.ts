/**
 * SR content items as naturalized dcmjs items (dcmjs's own SR templates are buggy, so the tree
 * is built by hand). Each function returns one item of the Content Sequence; the value types
 * and attributes follow PS3.3 C.17.3 (Document Content Module).
 */
import type { NaturalDataset } from '../dicom/types.ts';
import { codeItem, type Code } from './codes.ts';
import { clampText, formatDs } from './format.ts';

export type Relationship = 'CONTAINS' | 'HAS OBS CONTEXT' | 'HAS CONCEPT MOD' | 'HAS PROPERTIES' | 'HAS ACQ CONTEXT' | 'INFERRED FROM' | 'SELECTED FROM';

export type ContentItem = NaturalDataset;

function base(relationship: Relationship, valueType: string, name: Code, children?: ContentItem[]): ContentItem {
  const item: ContentItem = { RelationshipType: relationship, ValueType: valueType, ConceptNameCodeSequence: [codeItem(name)] };
  if (children && children.length > 0) item.ContentSequence = children;
  return item;
}

export function container(relationship: Relationship, name: Code, children: ContentItem[]): ContentItem {
  return { ...base(relationship, 'CONTAINER', name, children), ContinuityOfContent: 'SEPARATE' };
}

export function codeContent(relationship: Relationship, name: Code, value: Code, children?: ContentItem[]): ContentItem {
  return { ...base(relationship, 'CODE', name, children), ConceptCodeSequence: [codeItem(value)] };
}

/** TEXT is UT (no practical length limit) but must not carry control characters other than CR/LF. */
export function text(relationship: Relationship, name: Code, value: string, children?: ContentItem[]): ContentItem {
  // eslint-disable-next-line no-control-regex
  return { ...base(relationship, 'TEXT', name, children), TextValue: value.replace(/[\u0000-\u0009\u000b\u000c\u000e-\u001f]/g, ' ') };
}

export function uidref(relationship: Relationship, name: Code, uid: string): ContentItem {
  return { ...base(relationship, 'UIDREF', name), UID: uid };
}

/** NUM: the caller has already left out non-finite values; NumericValue is a DS (≤ 16 characters). */
export function num(relationship: Relationship, name: Code, value: number, unit: Code, children?: ContentItem[]): ContentItem {
  return {
    ...base(relationship, 'NUM', name, children),
    MeasuredValueSequence: [{ NumericValue: formatDs(value), MeasurementUnitsCodeSequence: [codeItem(unit)] }],
  };
}

export interface ImageReference {
  sopClassUid: string;
  sopInstanceUid: string;
  frameNumber?: number;
  segmentNumber?: number;
}

/** IMAGE: an Image SOP Instance Reference; ConceptName is optional for library entries. */
export function image(relationship: Relationship, name: Code | null, ref: ImageReference): ContentItem {
  const sop: NaturalDataset = { ReferencedSOPClassUID: ref.sopClassUid, ReferencedSOPInstanceUID: ref.sopInstanceUid };
  if (ref.frameNumber !== undefined) sop.ReferencedFrameNumber = ref.frameNumber;
  if (ref.segmentNumber !== undefined) sop.ReferencedSegmentNumber = ref.segmentNumber;
  const item: ContentItem = { RelationshipType: relationship, ValueType: 'IMAGE', ReferencedSOPSequence: [sop] };
  if (name) item.ConceptNameCodeSequence = [codeItem(name)];
  return item;
}

/**
 * SCOORD POINT on an image, in image pixel coordinates (column, row; (0,0) is the top-left corner
 * of the top-left pixel), SELECTED FROM that image. No concept name: it is the spatial
 * reference of the measurement it sits under (TID 320 via TID 300 INFERRED FROM).
 */
export function scoordPoint(relationship: Relationship, x: number, y: number, on: ImageReference): ContentItem {
  return {
    RelationshipType: relationship,
    ValueType: 'SCOORD',
    GraphicType: 'POINT',
    GraphicData: [x, y],
    ContentSequence: [image('SELECTED FROM', null, on)],
  };
}

/** Short free text for LO-limited places (e.g. Device Observer Name is TEXT, but keep it readable). */
export function shortText(value: string): string {
  return clampText(value, 64);
}
