/**
 * The PS3.18 Store Instances response (application/dicom+json): 00081199 for stored instances,
 * 00081198 with a 00081197 FailureReason for failed ones, and the HTTP status that goes with them
 * (200 all stored, 202 some stored or warnings, 409 none stored).
 */

/** Failure reasons (PS3.18 Table 10.5.3-2 and PS3.4 Annex B/GG). */
export const FAILURE_REASON = {
  processingFailure: 0x0110,
  sopClassNotSupported: 0x0122,
  outOfResources: 0xa700,
  datasetDoesNotMatchSopClass: 0xa900,
  cannotUnderstand: 0xc000,
  /** The instance's StudyInstanceUID differs from the one in the request URL (dcm4chee's code). */
  studyInstanceUidMismatch: 0xc409,
} as const;

export interface StoredInstance {
  sopClassUid: string;
  sopInstanceUid: string;
  retrieveUrl?: string;
}

export interface FailedInstance {
  sopClassUid?: string;
  sopInstanceUid?: string;
  failureReason: number;
  /** For the log and the caller; PS3.18 has no field for text. */
  message: string;
}

export interface StoreOutcome {
  /** Everything accepted, CT or not: non-CT objects are acknowledged even though they are not processed. */
  stored: StoredInstance[];
  failed: FailedInstance[];
}

const ui = (value: string) => ({ vr: 'UI', Value: [value] });

export function storeResponseStatus(outcome: StoreOutcome): 200 | 202 | 409 {
  if (outcome.stored.length === 0) return 409;
  return outcome.failed.length > 0 ? 202 : 200;
}

export function storeResponseBody(outcome: StoreOutcome, studyRetrieveUrl?: string): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (studyRetrieveUrl) body['00081190'] = { vr: 'UR', Value: [studyRetrieveUrl] };
  if (outcome.stored.length > 0) {
    body['00081199'] = {
      vr: 'SQ',
      Value: outcome.stored.map((s) => ({
        '00081150': ui(s.sopClassUid),
        '00081155': ui(s.sopInstanceUid),
        ...(s.retrieveUrl ? { '00081190': { vr: 'UR', Value: [s.retrieveUrl] } } : {}),
      })),
    };
  }
  if (outcome.failed.length > 0) {
    body['00081198'] = {
      vr: 'SQ',
      Value: outcome.failed.map((f) => ({
        ...(f.sopClassUid ? { '00081150': ui(f.sopClassUid) } : {}),
        ...(f.sopInstanceUid ? { '00081155': ui(f.sopInstanceUid) } : {}),
        '00081197': { vr: 'US', Value: [f.failureReason] },
      })),
    };
  }
  return body;
}
