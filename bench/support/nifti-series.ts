/**
 * A NIfTI CT as a DICOM CT series, in memory, for benchmarks that need a real scan to travel
 * through a PACS (the shared data holds only one short real DICOM series). Written at run time
 * and never stored: the pixels are the shared file's, the UIDs derive from its name, and the
 * patient fields are placeholders.
 */
import { basename } from 'node:path';
import type { CtVolume } from '../../src/dicom/types.ts';
import { writePart10 } from '../../src/report/part10.ts';
import { uidFromParts } from '../../src/report/uids.ts';

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

export interface SeriesInMemory {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  instances: Array<{ sopInstanceUid: string; bytes: Uint8Array }>;
}

const ds = (v: number) => Number(v.toFixed(6)).toString();

export function volumeAsDicomSeries(volume: CtVolume, label: string): SeriesInMemory {
  const name = basename(label);
  const studyInstanceUid = uidFromParts(['bench-nifti-study', name]);
  const seriesInstanceUid = uidFromParts(['bench-nifti-series', name]);
  const frameOfReferenceUid = uidFromParts(['bench-nifti-frame', name]);
  const { rows, columns, rowCosine, columnCosine, pixelSpacingMm, sliceThicknessMm, sliceSpacingMm } = volume.geometry;
  const plane = rows * columns;
  const instances = volume.slices.map((slice, k) => {
    const sopInstanceUid = uidFromParts(['bench-nifti-instance', name, String(k)]);
    const pixels = volume.hu.slice(k * plane, (k + 1) * plane);
    const dataset = {
      SOPClassUID: CT_IMAGE_STORAGE,
      SOPInstanceUID: sopInstanceUid,
      StudyInstanceUID: studyInstanceUid,
      SeriesInstanceUID: seriesInstanceUid,
      FrameOfReferenceUID: frameOfReferenceUid,
      Modality: 'CT',
      ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
      PatientName: 'BENCH^NIFTI',
      PatientID: 'BENCH-NIFTI',
      PatientBirthDate: '',
      PatientSex: '',
      StudyDate: '20250101',
      StudyTime: '120000',
      AccessionNumber: '',
      ReferringPhysicianName: '',
      StudyID: '1',
      SeriesNumber: 1,
      Laterality: '',
      PatientPosition: 'HFS',
      PositionReferenceIndicator: '',
      AcquisitionNumber: 1,
      InstanceNumber: k + 1,
      SeriesDescription: `${name} (NIfTI as DICOM, benchmark)`,
      Manufacturer: 'unknown (from NIfTI)',
      ImagePositionPatient: slice.imagePositionPatient.map(ds),
      ImageOrientationPatient: [...rowCosine, ...columnCosine].map(ds),
      PixelSpacing: pixelSpacingMm.map(ds),
      SliceThickness: ds(sliceThicknessMm ?? sliceSpacingMm ?? 1),
      KVP: '120',
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: rows,
      Columns: columns,
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: 1,
      RescaleIntercept: '0',
      RescaleSlope: '1',
      RescaleType: 'HU',
      PixelData: [pixels.buffer],
      _vrMap: { PixelData: 'OW' },
    };
    return { sopInstanceUid, bytes: writePart10(dataset) };
  });
  return { studyInstanceUid, seriesInstanceUid, instances };
}
