/**
 * Patient and study attributes copied from the source CT, so the SEG and SR land in the same
 * patient and study in every PACS and viewer. Type 2 attributes the source lacks are written
 * empty (present, zero length) as the IODs require; optional ones are copied only when present.
 * Values are copied leniently (src/report/lenient-values.ts): an over-long or malformed source
 * value is cut to its VR's maximum or left out, so it can never fail the SEG/SR write.
 */
import type { InstanceHeader, NaturalDataset } from '../dicom/types.ts';
import { lenientValue, vrOfKeyword } from './lenient-values.ts';

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
  const valid = (key: string) => (present(ds[key]) ? lenientValue(copy(ds[key]), vrOfKeyword(key)) : undefined);
  for (const key of REQUIRED_EMPTY_IF_ABSENT) out[key] = valid(key) ?? '';
  for (const key of OPTIONAL) {
    const value = valid(key);
    if (present(value)) out[key] = value;
  }
  out.StudyInstanceUID = source.studyInstanceUid;
  return out;
}
