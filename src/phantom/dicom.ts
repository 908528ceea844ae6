/**
 * Phantom slices as DICOM Part 10 CT Image Storage instances, written with dcmjs. The header is
 * what a scanner writes (Patient, General Study/Series/Equipment/Image, Frame of Reference, Image
 * Plane, Image Pixel, CT Image, SOP Common) with fixed dates and hashed UIDs, so equal options give
 * byte-identical files. dcmjs writes the dataset; the byte order of big-endian pixels, deflation
 * and the compressed codestreams are done here, since dcmjs leaves those to the caller.
 */
import { deflateRawSync } from 'node:zlib';
import dcmjs from 'dcmjs';
import { encodeFrame } from './codecs.ts';
import type { PhantomSlice } from './generate.ts';
import { PHANTOM_TRANSFER_SYNTAXES as TS } from './options.ts';
import type { PhantomPlan } from './plan.ts';
import { uidFromText } from './random.ts';

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
// Not 'ct-muscle-node…': selection treats that name as the node's own outputs and would skip the phantom.
export const PHANTOM_MANUFACTURER = 'Synthetic CT phantom';
const IMPLEMENTATION_CLASS_UID = uidFromText('ct-muscle-node phantom implementation 1');
const IMPLEMENTATION_VERSION = 'CTMN_PHANTOM_1';
const DEFAULT_STUDY_DATE = '20250101';
const DEFAULT_STUDY_TIME = '090000';

/** A DS value: at most 16 characters, as short as the number allows. */
export function formatDs(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  for (let digits = 10; digits >= 1; digits--) {
    const text = String(Number(value.toFixed(digits)));
    if (text.length <= 16) return text;
  }
  return value.toExponential(6);
}

function patientAge(birthDate: string, studyDate: string): string {
  let years = Number(studyDate.slice(0, 4)) - Number(birthDate.slice(0, 4));
  if (studyDate.slice(4) < birthDate.slice(4)) years--;
  return `${String(Math.max(0, Math.min(999, years))).padStart(3, '0')}Y`;
}

/** The dataset of one slice (dcmjs naturalized form), without PixelData. */
export function phantomDataset(plan: PhantomPlan, slice: PhantomSlice): Record<string, unknown> {
  const { options } = plan;
  const { patient, study, series } = options;
  const studyDate = study.studyDate ?? DEFAULT_STUDY_DATE;
  const studyTime = study.studyTime ?? DEFAULT_STUDY_TIME;
  const signed = options.storage === 'signed';
  const kernel = series.convolutionKernel ?? 'STANDARD';
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 100',
    ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    SOPClassUID: CT_IMAGE_STORAGE,
    SOPInstanceUID: slice.sopInstanceUid,
    StudyDate: studyDate,
    SeriesDate: studyDate,
    AcquisitionDate: studyDate,
    ContentDate: studyDate,
    StudyTime: studyTime,
    SeriesTime: studyTime,
    AcquisitionTime: studyTime,
    ContentTime: studyTime,
    AccessionNumber: study.accessionNumber ?? '',
    Modality: 'CT',
    Manufacturer: PHANTOM_MANUFACTURER,
    ReferringPhysicianName: '',
    StudyDescription: study.description ?? 'Synthetic CT phantom',
    SeriesDescription: series.description ?? `Phantom ${formatDs(options.sliceThicknessMm)}mm ${kernel}`,
    ManufacturerModelName: 'analytic trunk phantom',
    PatientName: patient.name,
    PatientID: patient.id,
    PatientBirthDate: patient.birthDate,
    PatientSex: patient.sex,
    PatientAge: patientAge(patient.birthDate, studyDate),
    PatientSize: formatDs(patient.height),
    PatientWeight: formatDs(patient.weight),
    BodyPartExamined: 'ABDOMEN',
    SliceThickness: formatDs(options.sliceThicknessMm),
    KVP: '120',
    DataCollectionDiameter: '500',
    SoftwareVersions: 'phantom generator 1',
    ReconstructionDiameter: formatDs(options.fieldOfViewMm),
    GantryDetectorTilt: '0',
    TableHeight: '150',
    RotationDirection: 'CW',
    XRayTubeCurrent: '200',
    ConvolutionKernel: kernel,
    PatientPosition: options.orientation,
    StudyInstanceUID: plan.studyInstanceUid,
    SeriesInstanceUID: plan.seriesInstanceUid,
    StudyID: study.studyId ?? '1',
    SeriesNumber: String(series.seriesNumber ?? 2),
    AcquisitionNumber: '1',
    InstanceNumber: String(slice.instanceNumber),
    ImagePositionPatient: slice.imagePositionPatient.map(formatDs),
    ImageOrientationPatient: slice.imageOrientationPatient.map(formatDs),
    FrameOfReferenceUID: plan.frameOfReferenceUid,
    PositionReferenceIndicator: '',
    SliceLocation: formatDs(slice.zMm),
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: slice.rows,
    Columns: slice.columns,
    PixelSpacing: slice.pixelSpacingMm.map(formatDs),
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: signed ? 1 : 0,
    WindowCenter: '40',
    WindowWidth: '400',
    RescaleIntercept: signed ? '0' : '-1024',
    RescaleSlope: '1',
    RescaleType: 'HU',
    _vrMap: {} as Record<string, string>,
  };
  if (options.pixelPaddingValue !== null) {
    dataset.PixelPaddingValue = options.pixelPaddingValue;
    (dataset._vrMap as Record<string, string>).PixelPaddingValue = signed ? 'SS' : 'US';
  }
  return dataset;
}

/** Stored 16-bit values (HU − intercept), little-endian bytes. */
export function storedBytes(plan: PhantomPlan, hu: Int16Array): Uint8Array {
  const out = new Uint8Array(hu.length * 2);
  const view = new DataView(out.buffer);
  const offset = plan.options.storage === 'unsigned' ? 1024 : 0;
  for (let i = 0; i < hu.length; i++) view.setUint16(2 * i, (hu[i] + offset) & 0xffff, true);
  return out;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function swap16(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    out[i] = bytes[i + 1];
    out[i + 1] = bytes[i];
  }
  return out;
}

/** dcmjs writes a deflated dataset uncompressed: deflate everything after the File Meta group. */
function deflateDataset(file: Uint8Array): Uint8Array {
  // (0002,0000) UL is the first meta element: 132 + tag 4 + VR 2 + length 2 → value at 140.
  const groupLength = new DataView(file.buffer, file.byteOffset).getUint32(140, true);
  const datasetStart = 144 + groupLength;
  const deflated = deflateRawSync(file.subarray(datasetStart), { level: 6 });
  const out = new Uint8Array(datasetStart + deflated.length);
  out.set(file.subarray(0, datasetStart), 0);
  out.set(deflated, datasetStart);
  return out;
}

/** One slice as a Part 10 file in the plan's transfer syntax. */
export async function encodePhantomSlice(plan: PhantomPlan, slice: PhantomSlice): Promise<Uint8Array> {
  const syntax = plan.options.transferSyntaxUid;
  const dataset = phantomDataset(plan, slice);
  const vrMap = dataset._vrMap as Record<string, string>;
  const little = storedBytes(plan, slice.hu);
  const signed = plan.options.storage === 'signed';
  if (syntax === TS.jpeg2000Lossless || syntax === TS.jpegLsLossless) {
    const frame = await encodeFrame(syntax === TS.jpeg2000Lossless ? 'jpeg2000' : 'jpegls', little, slice.rows, slice.columns, signed);
    dataset.LossyImageCompression = '00';
    dataset.PixelData = [toArrayBuffer(frame)];
    vrMap.PixelData = 'OB';
  } else {
    dataset.PixelData = [toArrayBuffer(syntax === TS.explicitVrBigEndian ? swap16(little) : little)];
    vrMap.PixelData = 'OW';
  }
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: CT_IMAGE_STORAGE,
    MediaStorageSOPInstanceUID: slice.sopInstanceUid,
    TransferSyntaxUID: syntax,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION,
    _vrMap: { FileMetaInformationVersion: 'OB' },
  });
  const dict = new DicomDict(meta);
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  const file = new Uint8Array(dict.write({ fragmentMultiframe: false }));
  return syntax === TS.deflatedExplicitVrLittleEndian ? deflateDataset(file) : file;
}
