/**
 * What the Storage SCP accepts at association: Verification (C-ECHO) and every Storage SOP
 * class (PS3.4 Annex B: 1.2.840.10008.5.1.4.1.1.*), in every transfer syntax the node's decoder
 * reads. CT images are processed; other objects are stored and acknowledged but not processed,
 * as the STOW-RS receiver does. Each presentation context takes the first transfer syntax the
 * peer proposed that the node reads: the peer's preference, and what it has on disk, so it does
 * not have to transcode.
 */
import { TS } from '../dicom/transfer-syntax.ts';
import { constants, type DimseAssociation } from './library.ts';

export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1';
const STORAGE_SOP_CLASS_ROOT = '1.2.840.10008.5.1.4.1.1.';

/** Every syntax in src/dicom/transfer-syntax.ts: the decoder reads them all. */
export const ACCEPTED_TRANSFER_SYNTAXES: readonly string[] = Object.values(TS);

export function isStorageSopClass(uid: string): boolean {
  return uid.startsWith(STORAGE_SOP_CLASS_ROOT);
}

export interface NegotiationSummary {
  accepted: number;
  rejected: number;
}

function firstAccepted(proposed: string[]): string | undefined {
  return proposed.find((uid) => ACCEPTED_TRANSFER_SYNTAXES.includes(uid));
}

/** Set each proposed presentation context's result on the association (before the A-ASSOCIATE-AC is sent). */
export function negotiatePresentationContexts(association: DimseAssociation): NegotiationSummary {
  const { PresentationContextResult: Result } = constants;
  const summary: NegotiationSummary = { accepted: 0, rejected: 0 };
  for (const { context } of association.getPresentationContexts()) {
    const abstract = context.getAbstractSyntaxUid();
    const proposed = context.getTransferSyntaxUids();
    if (abstract !== VERIFICATION_SOP_CLASS && !isStorageSopClass(abstract)) {
      context.setResult(Result.RejectAbstractSyntaxNotSupported);
      summary.rejected++;
      continue;
    }
    // C-ECHO has no data set: any syntax will do, Implicit VR Little Endian is the one all peers propose.
    const syntax = firstAccepted(proposed);
    if (syntax) {
      context.setResult(Result.Accept, syntax);
      summary.accepted++;
    } else {
      context.setResult(Result.RejectTransferSyntaxesNotSupported);
      summary.rejected++;
    }
  }
  return summary;
}
