/**
 * A C-STORE data set → a DICOM Part 10 file, byte for byte: the received data set (in the
 * negotiated transfer syntax) behind a preamble and a file meta group built from the command.
 * Written by hand rather than with dcmjs, because dcmjs writes the data set too (re-encoding it);
 * the meta group is a handful of Explicit VR Little Endian elements (PS3.10 7.1).
 */
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../report/uids.ts';

export interface FileMetaSource {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The calling AE title of the association the data set came in on (0002,0016). */
  sourceAeTitle?: string;
}

/** UI values pad with NUL, text values with a space, to an even length. */
function padded(raw: string, pad: string): Buffer {
  const text = raw.replace(/[\0 ]+$/, '');
  return Buffer.from(text.length % 2 === 0 ? text : text + pad, 'latin1');
}

function shortElement(element: number, vr: string, value: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0x0002, 0);
  head.writeUInt16LE(element, 2);
  head.write(vr, 4, 'latin1');
  head.writeUInt16LE(value.length, 6);
  return Buffer.concat([head, value]);
}

function versionElement(): Buffer {
  // OB has a 4-byte length after two reserved bytes.
  const head = Buffer.alloc(12);
  head.writeUInt16LE(0x0002, 0);
  head.writeUInt16LE(0x0001, 2);
  head.write('OB', 4, 'latin1');
  head.writeUInt32LE(2, 8);
  return Buffer.concat([head, Buffer.from([0x00, 0x01])]);
}

export function fileMetaGroup(source: FileMetaSource): Buffer {
  const elements = [
    versionElement(),
    shortElement(0x0002, 'UI', padded(source.sopClassUid, '\0')),
    shortElement(0x0003, 'UI', padded(source.sopInstanceUid, '\0')),
    shortElement(0x0010, 'UI', padded(source.transferSyntaxUid, '\0')),
    shortElement(0x0012, 'UI', padded(IMPLEMENTATION_CLASS_UID, '\0')),
    shortElement(0x0013, 'SH', padded(IMPLEMENTATION_VERSION_NAME, ' ')),
  ];
  if (source.sourceAeTitle) elements.push(shortElement(0x0016, 'AE', padded(source.sourceAeTitle, ' ')));
  const body = Buffer.concat(elements);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length, 0);
  return Buffer.concat([shortElement(0x0000, 'UL', length), body]);
}

/** Preamble (128 zero bytes), "DICM", the meta group, then the data set exactly as received. */
export function part10FromDataSet(dataSet: Uint8Array, source: FileMetaSource): Uint8Array {
  const meta = fileMetaGroup(source);
  const out = new Uint8Array(132 + meta.length + dataSet.length);
  out.set(Buffer.from('DICM', 'latin1'), 128);
  out.set(meta, 132);
  out.set(dataSet, 132 + meta.length);
  return out;
}
