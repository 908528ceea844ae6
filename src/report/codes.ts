/**
 * Coded concepts used by the SEG and the SR. SNOMED CT (SCT), never the retired SNOMED-RT (SRT)
 * codes older tools still write. Where each was checked:
 * - DCM, LN and UCUM codes, CID 7150, 7469, 7471, 7464, 100: DICOM PS3.16 as shipped in
 *   pydicom's `sr/_concepts_dict.py` and `_cid_dict.py`, and the highdicom / dcmqi reference SRs.
 * - Vertebrae: CID 7603 "Vertebra" (e.g. T12 vertebra = SCT 23215003).
 * - Skeletal muscle: SCT 127954009 (PS3.16 CID 7710 lists it as "Skeletal muscle"; TotalSegmentator
 *   writes the same type code). Its segmentation category is CID 7150 "Anatomical Structure"
 *   (SCT 91723000); TotalSegmentator's 123037004 "Body structure" is not in CID 7150.
 * Concepts PS3.16 lacks (IMAT area, low-attenuation fraction, SMI, how the slice was chosen)
 * use the private scheme 99CTMN, declared in the SR's CodingSchemeIdentificationSequence.
 */

export interface Code {
  value: string;
  scheme: string;
  meaning: string;
}

const code = (value: string, scheme: string, meaning: string): Code => ({ value, scheme, meaning });

/** Private coding scheme (PS3.16 §8.2: private designators start with "99"). */
export const PRIVATE_SCHEME = {
  designator: '99CTMN',
  name: 'ct-muscle-node local codes',
  responsibleOrganization: 'ct-muscle-node',
} as const;

export const CODES = {
  // Segment
  anatomicalStructure: code('91723000', 'SCT', 'Anatomical Structure'),
  skeletalMuscle: code('127954009', 'SCT', 'Skeletal muscle'),
  artificialIntelligence: code('123110', 'DCM', 'Artificial Intelligence'),
  segmentation: code('113076', 'DCM', 'Segmentation'),
  sourceImageForProcessing: code('121322', 'DCM', 'Source image for image processing operation'),

  // TID 1500 document
  imagingMeasurementReport: code('126000', 'DCM', 'Imaging Measurement Report'),
  language: code('121049', 'DCM', 'Language of Content Item and Descendants'),
  english: code('eng', 'RFC5646', 'English'),
  countryOfLanguage: code('121046', 'DCM', 'Country of Language'),
  unitedStates: code('US', 'ISO3166_1', 'United States'),
  observerType: code('121005', 'DCM', 'Observer Type'),
  device: code('121007', 'DCM', 'Device'),
  deviceObserverUid: code('121012', 'DCM', 'Device Observer UID'),
  deviceObserverName: code('121013', 'DCM', 'Device Observer Name'),
  deviceObserverManufacturer: code('121014', 'DCM', 'Device Observer Manufacturer'),
  deviceObserverModelName: code('121015', 'DCM', 'Device Observer Model Name'),
  procedureReported: code('121058', 'DCM', 'Procedure reported'),
  ctUnspecifiedBodyRegion: code('25045-6', 'LN', 'CT unspecified body region'),
  imageLibrary: code('111028', 'DCM', 'Image Library'),
  imageLibraryGroup: code('126200', 'DCM', 'Image Library Group'),
  modality: code('121139', 'DCM', 'Modality'),
  computedTomography: code('CT', 'DCM', 'Computed Tomography'),
  frameOfReferenceUid: code('112227', 'DCM', 'Frame of Reference UID'),
  imagingMeasurements: code('126010', 'DCM', 'Imaging Measurements'),
  measurementGroup: code('125007', 'DCM', 'Measurement Group'),
  trackingIdentifier: code('112039', 'DCM', 'Tracking Identifier'),
  trackingUniqueIdentifier: code('112040', 'DCM', 'Tracking Unique Identifier'),
  finding: code('121071', 'DCM', 'Finding'),
  findingSite: code('363698007', 'SCT', 'Finding Site'),
  algorithmName: code('111001', 'DCM', 'Algorithm Name'),
  algorithmVersion: code('111003', 'DCM', 'Algorithm Version'),
  algorithmParameters: code('111002', 'DCM', 'Algorithm Parameters'),
  referencedSegment: code('121191', 'DCM', 'Referenced Segment'),
  sourceSeriesForSegmentation: code('121232', 'DCM', 'Source series for segmentation'),
  sourceImageForSegmentation: code('121233', 'DCM', 'Source image for segmentation'),

  // Measurements (CID 7469 / 7471) and their modifiers (CID 7464)
  areaOfDefinedRegion: code('131184002', 'SCT', 'Area of defined region'),
  attenuationCoefficient: code('112031', 'DCM', 'Attenuation Coefficient'),
  derivation: code('121401', 'DCM', 'Derivation'),
  mean: code('373098007', 'SCT', 'Mean'),
  standardDeviation: code('386136009', 'SCT', 'Standard Deviation'),
  minimum: code('255605001', 'SCT', 'Minimum'),
  maximum: code('56851009', 'SCT', 'Maximum'),
  imagePositionZ: code('110903', 'DCM', 'Image Position (Patient) Z'),

  // Private (99CTMN): no PS3.16 concept exists for these.
  imatArea: code('IMAT-AREA', PRIVATE_SCHEME.designator, 'Intermuscular adipose tissue area'),
  lowAttenuationFraction: code('LAM-FRACTION', PRIVATE_SCHEME.designator, 'Low-attenuation muscle fraction'),
  skeletalMuscleIndex: code('SMI', PRIVATE_SCHEME.designator, 'Skeletal muscle index'),
  sliceSelectionMethod: code('SLICE-METHOD', PRIVATE_SCHEME.designator, 'Slice selection method'),
  sliceSelectionRule: code('SLICE-RULE', PRIVATE_SCHEME.designator, 'Slice selection rule'),
  sliceSelectionConfidence: code('SLICE-CONFIDENCE', PRIVATE_SCHEME.designator, 'Slice selection confidence'),
  sliceSelectionWarning: code('SLICE-WARNING', PRIVATE_SCHEME.designator, 'Slice selection warning'),
  processingFlag: code('FLAG', PRIVATE_SCHEME.designator, 'Processing flag'),
  notMeasurable: code('NOT-MEASURABLE', PRIVATE_SCHEME.designator, 'Not measurable'),
  bodySliceRule: code('BODY-SLICE-RULE', PRIVATE_SCHEME.designator, 'Vertebral body slice selection rule'),
  bodySliceCount: code('BODY-SLICE-COUNT', PRIVATE_SCHEME.designator, 'Number of vertebral body slices measured'),
} as const;

/** UCUM units (CID 7181 and friends). */
export const UNITS = {
  squareCentimeter: code('cm2', 'UCUM', 'square centimeter'),
  hounsfieldUnit: code("[hnsf'U]", 'UCUM', 'Hounsfield unit'),
  percent: code('%', 'UCUM', 'percent'),
  squareCentimeterPerSquareMeter: code('cm2/m2', 'UCUM', 'square centimeter per square meter'),
  millimeter: code('mm', 'UCUM', 'millimeter'),
  noUnits: code('1', 'UCUM', 'no units'),
} as const;

/** CID 7603 "Vertebra" (SCT). */
export const VERTEBRA_CODES: Readonly<Record<string, Code>> = {
  T10: code('7610001', 'SCT', 'T10 vertebra'),
  T11: code('12989004', 'SCT', 'T11 vertebra'),
  T12: code('23215003', 'SCT', 'T12 vertebra'),
  L1: code('66794005', 'SCT', 'L1 vertebra'),
  L2: code('14293000', 'SCT', 'L2 vertebra'),
  L3: code('36470004', 'SCT', 'L3 vertebra'),
  L4: code('11994002', 'SCT', 'L4 vertebra'),
  L5: code('49668003', 'SCT', 'L5 vertebra'),
};

/** A Code Sequence Macro item (naturalized). */
export function codeItem(c: Code): Record<string, string> {
  return { CodeValue: c.value, CodingSchemeDesignator: c.scheme, CodeMeaning: c.meaning };
}
