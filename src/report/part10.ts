/**
 * A naturalized dataset → DICOM Part 10 bytes, always Explicit VR Little Endian (viewers render
 * uncompressed BINARY SEG; inheriting the CT's JPEG 2000 syntax would not be), with a file meta
 * header that depends only on the dataset, so equal datasets give byte-identical files.
 */
import dcmjs from 'dcmjs';
import { TS } from '../dicom/transfer-syntax.ts';
import type { NaturalDataset } from '../dicom/types.ts';
import { CtMuscleError } from '../errors.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './uids.ts';

export function writePart10(dataset: NaturalDataset): Uint8Array {
  const sopClassUid = dataset.SOPClassUID;
  const sopInstanceUid = dataset.SOPInstanceUID;
  if (typeof sopClassUid !== 'string' || typeof sopInstanceUid !== 'string') {
    throw new CtMuscleError('E_REPORT_INVALID', 'The dataset to write lacks SOPClassUID or SOPInstanceUID.');
  }
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: TS.explicitVrLittleEndian,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
  const { DicomMetaDictionary, DicomDict } = dcmjs.data;
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write());
}
