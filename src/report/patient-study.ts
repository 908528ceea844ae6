/**
 * Patient and study attributes copied from the source CT, so the SEG and SR land in the same
 * patient and study in every PACS and viewer. Type 2 attributes the source lacks are written
 * empty (present, zero length) as the IODs require; optional ones are copied only when present.
 */
import type { InstanceHeader, NaturalDataset } from '../dicom/types.ts';

/** Patient, General Study and Patient Study modules: Type 2 (always present). */
const REQUIRED_EMPTY_IF_ABSENT = [
  'PatientName',
  'PatientID',
  'PatientBirthDate',
  'PatientSex',
  'StudyDate',
  'StudyTime',
  'ReferringPhysicianName',
  'StudyID',
  'AccessionNumber',
] as const;

/** Copied only when the source has a value. */
const OPTIONAL = [
  'IssuerOfPatientID',
  'IssuerOfPatientIDQualifiersSequence',
  'OtherPatientIDsSequence',
  'PatientBirthTime',
  'PatientComments',
  'PatientIdentityRemoved',
  'DeidentificationMethod',
  'DeidentificationMethodCodeSequence',
  'IssuerOfAccessionNumberSequence',
  'StudyDescription',
  'PatientAge',
  'PatientSize',
  'PatientWeight',
  'ClinicalTrialSponsorName',
  'ClinicalTrialProtocolID',
  'ClinicalTrialProtocolName',
  'ClinicalTrialSiteID',
  'ClinicalTrialSiteName',
  'ClinicalTrialSubjectID',
  'ClinicalTrialSubjectReadingID',
  'ClinicalTrialTimePointID',
  'ClinicalTrialTimePointDescription',
] as const;

function present(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/** Deep copy through JSON: the header holds only strings, numbers and nested items here. */
function copy(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, v) => (key === '_vrMap' ? undefined : v)));
}

export function patientStudyAttributes(source: InstanceHeader): NaturalDataset {
  const ds = source.dataset;
  const out: NaturalDataset = {};
  for (const key of REQUIRED_EMPTY_IF_ABSENT) out[key] = present(ds[key]) ? copy(ds[key]) : '';
  for (const key of OPTIONAL) if (present(ds[key])) out[key] = copy(ds[key]);
  out.StudyInstanceUID = source.studyInstanceUid;
  return out;
}
