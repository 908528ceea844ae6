/**
 * Deterministic, seeded CT phantom of the trunk (T1–S1) for tests, benchmarks and the demo:
 * analytic anatomy in patient coordinates, sampled per slice into HU, with level and muscle truth,
 * written as valid CT Image Storage instances in several transfer syntaxes.
 */
export { generatePhantomSlices, renderPhantomSlice, type PhantomSlice } from './generate.ts';
export { generatePhantomStudy, writePhantomStudy, phantomFileName, type PhantomFile, type StudyOutputOptions } from './study.ts';
export { encodePhantomSlice, phantomDataset, CT_IMAGE_STORAGE, PHANTOM_MANUFACTURER } from './dicom.ts';
export { planPhantom, isPhantomPlan, sliceMuscleTruth, type PhantomPlan, type PlannedSlice } from './plan.ts';
export {
  resolvePhantomOptions,
  PHANTOM_TRANSFER_SYNTAXES,
  type PhantomOptions,
  type ResolvedPhantomOptions,
  type PatientPosition,
  type PhantomPatient,
  type PhantomStudyInfo,
  type PhantomSeriesInfo,
} from './options.ts';
export {
  decodeMaskRle,
  encodeMaskRle,
  type PhantomTruth,
  type VertebraTruth,
  type DiscTruth,
  type SliceTruth,
  type T12Truth,
  type MaskRle,
} from './truth.ts';
export { VERTEBRA_NAMES, type VertebraName } from './levels.ts';
export { TISSUE, TISSUE_NAMES, TRUNK_MUSCLE_LABELS, tissueHuTable, type TissueName, type TissueLabel } from './tissues.ts';
export { tissueAt, renderLabels } from './render.ts';
export { sectionAt, type Section } from './section.ts';
export type { Anatomy } from './anatomy.ts';
