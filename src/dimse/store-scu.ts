/**
 * C-STORE SCU for writing results back to a DICOM AE. Like the STOW-RS client, success is judged
 * per instance: every instance needs a response, and only 0000 (or a Bxxx warning: stored with
 * coercion) counts as stored. What may be retried unchanged: no association (network down,
 * transient rejection), lost responses, out-of-resources statuses. What may not: a permanent
 * rejection (AE titles not configured at the peer), a SOP class the peer does not accept, any
 * other failure status.
 */
import { readFileSync } from 'node:fs';
import { CtMuscleError } from '../errors.ts';
import { Client, constants, Dataset, requests, type CStoreResponse, type DimseAssociation } from './library.ts';
import { classifyStatus, hex, isTransientFailure } from './statuses.ts';

export interface DicomAeTarget {
  host: string;
  port: number;
  calledAeTitle: string;
  callingAeTitle: string;
  /** Whole transfer (association, all instances, release); default 120 s. */
  timeoutMs?: number;
}

export interface CStoreFile {
  path: string;
  sopInstanceUid: string;
}

export interface CStoreOutcome {
  stored: string[];
  /** Stored with a warning status (coercion, elements discarded). */
  warnings: Array<{ sopInstanceUid: string; status: number }>;
  failed: Array<{ sopInstanceUid: string; status: number; comment?: string }>;
  /** No response: the association ended first, or no presentation context was accepted for its SOP class. */
  missing: string[];
  notAccepted: string[];
}

interface Transfer {
  responses: Map<string, CStoreResponse>;
  rejected?: { result: number; reason: number };
  networkError?: string;
  accepted?: DimseAssociation;
  timedOut: boolean;
}

function describe(target: DicomAeTarget): string {
  return `${target.calledAeTitle}@${target.host}:${target.port}`;
}

/** The data set of a Part 10 file: what follows the file meta group (whose length is its first element). */
function dataSetOf(bytes: Buffer): Buffer {
  return bytes.subarray(144 + bytes.readUInt32LE(140));
}

/**
 * A C-STORE request whose data set goes out as the file holds it. dcmjs-dimse re-encodes a data
 * set with its own dcmjs; when the peer accepts the file's transfer syntax (proposed beside
 * Implicit VR Little Endian) the file's bytes are sent instead. When the peer picks another
 * syntax, dcmjs-dimse transcodes to a new data set and this override does not apply.
 */
function storeRequest(file: CStoreFile): InstanceType<typeof requests.CStoreRequest> {
  let raw: Buffer;
  let dataset: InstanceType<typeof Dataset> | undefined;
  try {
    raw = dataSetOf(readFileSync(file.path));
    dataset = Dataset.fromFile(file.path);
  } catch (error) {
    throw new CtMuscleError('E_IO', `Cannot read ${file.path} for C-STORE: ${(error as Error).message}`);
  }
  if (!dataset) throw new CtMuscleError('E_IO', `Cannot read ${file.path} for C-STORE.`);
  dataset.getDenaturalizedDataset = () => raw;
  const request = new requests.CStoreRequest(dataset);
  request.setAdditionalTransferSyntaxes([dataset.getTransferSyntaxUid()]);
  return request;
}

function runTransfer(target: DicomAeTarget, files: CStoreFile[], requestsByUid: Map<string, InstanceType<typeof requests.CStoreRequest>>): Promise<Transfer> {
  const client = new Client();
  const transfer: Transfer = { responses: new Map(), timedOut: false };
  for (const file of files) {
    const request = storeRequest(file);
    request.on('response', (response: CStoreResponse) => transfer.responses.set(file.sopInstanceUid, response));
    requestsByUid.set(file.sopInstanceUid, request);
    client.addRequest(request);
  }
  const timeoutMs = target.timeoutMs ?? 120_000;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      transfer.timedOut = true;
      try {
        client.abort();
      } catch {
        resolve(transfer);
      }
    }, timeoutMs);
    client.on('associationAccepted', (association: DimseAssociation) => (transfer.accepted = association));
    client.on('associationRejected', (rejection: { result: number; reason: number }) => (transfer.rejected = rejection));
    client.on('networkError', (error: Error) => (transfer.networkError = error.message));
    client.on('closed', () => {
      clearTimeout(timer);
      resolve(transfer);
    });
    client.send(target.host, target.port, target.callingAeTitle, target.calledAeTitle, {
      connectTimeout: Math.min(timeoutMs, 30_000),
      associationTimeout: Math.min(timeoutMs, 30_000),
      pduTimeout: Math.min(timeoutMs, 60_000),
      associationLingerTimeout: 0,
    });
  });
}

function judge(transfer: Transfer, files: CStoreFile[], requestsByUid: Map<string, InstanceType<typeof requests.CStoreRequest>>): CStoreOutcome {
  const outcome: CStoreOutcome = { stored: [], warnings: [], failed: [], missing: [], notAccepted: [] };
  for (const { sopInstanceUid } of files) {
    const response = transfer.responses.get(sopInstanceUid);
    if (!response) {
      const request = requestsByUid.get(sopInstanceUid);
      const accepted = transfer.accepted && request ? transfer.accepted.getAcceptedPresentationContextFromRequest(request) : undefined;
      (transfer.accepted && !accepted ? outcome.notAccepted : outcome.missing).push(sopInstanceUid);
      continue;
    }
    const status = response.getStatus();
    const kind = classifyStatus(status);
    if (kind === 'success') outcome.stored.push(sopInstanceUid);
    else if (kind === 'warning') {
      outcome.stored.push(sopInstanceUid);
      outcome.warnings.push({ sopInstanceUid, status });
    } else outcome.failed.push({ sopInstanceUid, status, comment: response.getErrorComment() || undefined });
  }
  return outcome;
}

function failureDetail(outcome: CStoreOutcome): string {
  return [
    outcome.failed.length ? `${outcome.failed.length} failed (${outcome.failed.map((f) => `${f.sopInstanceUid}: ${hex(f.status)}${f.comment ? ` ${f.comment}` : ''}`).join(', ')})` : '',
    outcome.notAccepted.length ? `${outcome.notAccepted.length} of a SOP class the peer did not accept` : '',
    outcome.missing.length ? `${outcome.missing.length} without a response` : '',
  ]
    .filter(Boolean)
    .join('; ');
}

/** Send the files over one association; resolves only when every instance is stored. */
export async function cStoreInstances(target: DicomAeTarget, files: CStoreFile[]): Promise<CStoreOutcome> {
  const requestsByUid = new Map<string, InstanceType<typeof requests.CStoreRequest>>();
  const transfer = await runTransfer(target, files, requestsByUid);
  const where = describe(target);
  if (transfer.rejected) {
    const permanent = transfer.rejected.result === constants.RejectResult.Permanent;
    const text = `C-STORE to ${where}: association rejected (${permanent ? 'permanent' : 'transient'}, reason ${transfer.rejected.reason}); check the AE titles configured at both ends.`;
    throw permanent ? new CtMuscleError('E_PACS_REJECTED', text, { retryable: false }) : new CtMuscleError('E_PACS_UNAVAILABLE', text, { retryable: true });
  }
  if (!transfer.accepted) {
    throw new CtMuscleError('E_PACS_UNAVAILABLE', `C-STORE to ${where} failed: ${transfer.timedOut ? 'timed out' : (transfer.networkError ?? 'no association')}.`, { retryable: true });
  }
  const outcome = judge(transfer, files, requestsByUid);
  if (outcome.failed.length === 0 && outcome.missing.length === 0 && outcome.notAccepted.length === 0) return outcome;
  // Sending the same objects again helps only when nothing was refused for good.
  const retryable = outcome.notAccepted.length === 0 && outcome.failed.every((f) => isTransientFailure(f.status));
  const code = retryable ? 'E_PACS_UNAVAILABLE' : 'E_PACS_REJECTED';
  throw new CtMuscleError(code, `C-STORE to ${where}: ${failureDetail(outcome)}.`, { retryable, outcome });
}
