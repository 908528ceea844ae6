/**
 * DIMSE statuses the node answers and reads (PS3.4 Annex B.2.3, PS3.7 Annex C). The STOW-RS
 * receiver uses the same codes as FailureReason, so one refusal reads the same in both.
 */
import type { RefusalReason } from '../intake/store-instance.ts';

export const DIMSE_STATUS = {
  success: 0x0000,
  /** Refused: out of resources (disk full, free-space threshold, instance over the size limit). */
  outOfResources: 0xa700,
  /** Error: the data set does not match the SOP class (or instance) of the C-STORE command. */
  dataSetDoesNotMatchSopClass: 0xa900,
  /** Error: cannot understand (not parseable, required UIDs missing). */
  cannotUnderstand: 0xc000,
  /** Failure: processing failure (the node could not schedule the stored instance). */
  processingFailure: 0x0110,
  sopClassNotSupported: 0x0122,
} as const;

export function statusForRefusal(reason: RefusalReason): number {
  switch (reason) {
    case 'out-of-resources':
      return DIMSE_STATUS.outOfResources;
    case 'sop-mismatch':
      return DIMSE_STATUS.dataSetDoesNotMatchSopClass;
    default:
      return DIMSE_STATUS.cannotUnderstand;
  }
}

/** How a C-STORE SCU judges a response status (PS3.7 C.4: 0000 success, Bxxx warning, everything else failure). */
export type StatusClass = 'success' | 'warning' | 'failure';

export function classifyStatus(status: number): StatusClass {
  if (status === 0x0000) return 'success';
  // Warnings: coercion of data elements (B000), elements discarded (B007), not matching SOP class (B006).
  if ((status & 0xf000) === 0xb000 || status === 0x0107 || status === 0x0116) return 'warning';
  return 'failure';
}

/** Failures worth retrying unchanged: the peer is out of resources (A7xx) or says it is busy (0x0213 resource limitation). */
export function isTransientFailure(status: number): boolean {
  return (status & 0xff00) === 0xa700 || status === 0x0213;
}

export function hex(status: number): string {
  return `0x${status.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** The label under which an answered status is counted in /metrics. */
export function statusLabel(status: number): string {
  if (status === DIMSE_STATUS.success) return 'success';
  if (status === DIMSE_STATUS.outOfResources) return 'out-of-resources';
  if (status === DIMSE_STATUS.dataSetDoesNotMatchSopClass) return 'does-not-match';
  if (status === DIMSE_STATUS.cannotUnderstand) return 'cannot-understand';
  return hex(status);
}
