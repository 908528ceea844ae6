/**
 * STOW-RS receiver: POST /dicomweb/studies[/{StudyInstanceUID}] with
 * multipart/related; type="application/dicom". Parts are parsed as they stream in (one part in
 * memory at a time, never the whole body, and a few parts being stored), each is checked and spooled to disk before it is
 * acknowledged, and the answer is the PS3.18 JSON response with its status code.
 */
import type { Request, Response, Router } from 'express';
import express from 'express';
import { parse as parseContentType } from 'content-type';
import {
  MaxFileSizeExceededError,
  MaxPartsExceededError,
  MaxTotalSizeExceededError,
  MultipartParseError,
  parseMultipartStream,
} from '@remix-run/multipart-parser/node';
import { describeError } from '../../errors.ts';
import type { RefusalReason, RefusedInstance, StoredInstance, StoreInstance, StoreResult } from '../../intake/store-instance.ts';
import { logger } from '../../logging.ts';
import { isAuthorized, type Credentials } from './auth.ts';
import { FAILURE_REASON, storeResponseBody, storeResponseStatus, type FailedInstance, type StoreOutcome } from './stow-response.ts';

export interface StowReceiverOptions {
  /** Where each received instance goes (spool + assembly); the receiver only answers from the result. */
  storeInstance: StoreInstance;
  /** Largest single instance (bytes). */
  maxInstanceBytes: number;
  /** Largest request body (bytes). */
  maxRequestBytes: number;
  maxParts: number;
  credentials?: Credentials;
  /** Base URL the node is reached at, for RetrieveURL attributes; omitted when unknown. */
  publicBaseUrl?: string;
  /** Whether the spool has room now; when not, the whole request is answered 503 with Retry-After. */
  hasRoom?: () => Promise<boolean>;
  /** Seconds a sender is told to wait when the spool is full (Retry-After). */
  retryAfterSeconds?: number;
}

/**
 * A full spool is temporary: the whole request is answered 503 with Retry-After, which senders
 * retry, rather than 409/0xA700 per instance, which a PACS may take as final. The connection is
 * closed so the rest of a large body is not read.
 */
function spoolFull(res: Response, options: StowReceiverOptions, message: string): void {
  res.set('Retry-After', String(options.retryAfterSeconds ?? 60)).set('Connection', 'close');
  problem(res, 503, 'E_SPOOL_FULL', message);
}

const DICOM_JSON = 'application/dicom+json';

function reply(res: Response, status: number, body: unknown): void {
  res.status(status).type(DICOM_JSON).send(JSON.stringify(body));
}

function problem(res: Response, status: number, code: string, message: string, outcome?: StoreOutcome): void {
  // A failed request still lists what was stored before it failed: those instances are kept.
  const body = outcome && outcome.stored.length > 0 ? storeResponseBody(outcome) : {};
  res.status(status).type('application/json').send(JSON.stringify({ code, message, ...body }));
}

/** The multipart parser decodes part headers as strict UTF-8; a byte that is not is the sender's fault. */
function isUndecodableHeader(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ERR_ENCODING_INVALID_ENCODED_DATA';
}

/** 400 with the PS3.18 failure reason (0xC000, cannot understand) for the part whose header could not be read. */
function malformedPartHeader(res: Response, outcome: StoreOutcome): void {
  const message = 'A part header is not valid UTF-8.';
  const failed = { ...outcome, failed: [...outcome.failed, { failureReason: FAILURE_REASON.cannotUnderstand, message }] };
  res.status(400).type('application/json').send(JSON.stringify({ code: 'E_MALFORMED_REQUEST', message, ...storeResponseBody(failed) }));
}

/** Why a request cannot be a STOW-RS request of DICOM instances, or null when it can. */
function mediaTypeProblem(req: Request): { status: 400 | 415; message: string; boundary?: undefined } | { status?: undefined; boundary: string } {
  let contentType;
  try {
    contentType = parseContentType(req.headers['content-type'] ?? '');
  } catch {
    return { status: 415, message: 'Content-Type is missing or malformed; expected multipart/related; type="application/dicom".' };
  }
  if (contentType.type !== 'multipart/related') {
    return { status: 415, message: `Content-Type ${contentType.type} is not supported; expected multipart/related; type="application/dicom".` };
  }
  const type = contentType.parameters.type?.toLowerCase();
  if (type !== undefined && type !== 'application/dicom') {
    return { status: 415, message: `multipart/related of type ${type} is not supported; only application/dicom instances are accepted.` };
  }
  const boundary = contentType.parameters.boundary;
  if (!boundary) return { status: 400, message: 'multipart/related without a boundary parameter.' };
  return { boundary };
}

const FAILURE_OF: Record<RefusalReason, number> = {
  'cannot-understand': FAILURE_REASON.cannotUnderstand,
  'study-mismatch': FAILURE_REASON.studyInstanceUidMismatch,
  // Only C-STORE states a SOP class beside the data set; STOW-RS never asks for this check.
  'sop-mismatch': FAILURE_REASON.datasetDoesNotMatchSopClass,
  'out-of-resources': FAILURE_REASON.outOfResources,
};

/** A refused instance as the PS3.18 answer lists it. */
function failedInstance(result: RefusedInstance): FailedInstance {
  const { sopClassUid, sopInstanceUid } = result;
  const ids = sopInstanceUid === undefined ? {} : { sopClassUid, sopInstanceUid };
  return { ...ids, failureReason: FAILURE_OF[result.reason], message: result.message };
}

/**
 * Instances of one request stored at once: each is fsynced (with its directory) before it counts
 * as stored, as one at a time, and the answer still waits for every one; overlapping the syncs
 * (and parsing one part while another is written) is most of what one request's intake gains.
 */
const STORE_CONCURRENCY = 8;
/** …and at most this many bytes of parts held for it (beyond one part): a request of huge parts is stored one at a time. */
const STORE_BYTES_IN_FLIGHT = 64 * 1024 * 1024;

type PartResult = StoreResult | { status: 'not-dicom'; partType: string };

/**
 * Every part of the request handed to `store`, up to STORE_CONCURRENCY at once, no more read
 * once one came back out of resources. The results are in part order and all settled, also when
 * reading the parts failed (`failure`: what the parts so far were stored before is answered too).
 */
async function storeParts(req: Request, boundary: string, options: StowReceiverOptions, store: (bytes: Uint8Array) => Promise<StoreResult>): Promise<{ results: PartResult[]; failure?: { error: unknown } }> {
  const results: Array<Promise<PartResult>> = [];
  const inFlight = new Set<Promise<void>>();
  let bytesInFlight = 0;
  let full = false;
  let failure: { error: unknown } | undefined;
  try {
    const parts = parseMultipartStream(req, { boundary, maxFileSize: options.maxInstanceBytes, maxTotalSize: options.maxRequestBytes, maxParts: options.maxParts, maxHeaderSize: 16 * 1024 });
    for await (const part of parts) {
      const partType = part.headers['content-type']?.split(';')[0].trim().toLowerCase();
      if (partType !== undefined && partType !== 'application/dicom') {
        results.push(Promise.resolve({ status: 'not-dicom', partType }));
        continue;
      }
      const size = part.bytes.length;
      const stored = store(part.bytes);
      results.push(stored);
      bytesInFlight += size;
      // Never rejects: `storeInstance` does not throw, but were it to, a store no one raced on would
      // be an unhandled rejection (the process would exit); its error reaches the answer through
      // `results` instead.
      const settled: Promise<void> = stored
        .then(
          (result) => {
            if (result.status === 'refused' && result.reason === 'out-of-resources') full = true;
          },
          () => undefined,
        )
        .finally(() => {
          inFlight.delete(settled);
          bytesInFlight -= size;
        });
      inFlight.add(settled);
      while (inFlight.size > 0 && (inFlight.size >= STORE_CONCURRENCY || bytesInFlight >= STORE_BYTES_IN_FLIGHT)) await Promise.race(inFlight);
      if (full) break;
    }
  } catch (error) {
    failure = { error };
  }
  return { results: await Promise.all(results), failure };
}

async function handleStore(req: Request, res: Response, options: StowReceiverOptions): Promise<void> {
  if (!isAuthorized(req.headers, options.credentials)) {
    res.set('WWW-Authenticate', 'Bearer, Basic realm="ct-muscle-node"');
    problem(res, 401, 'E_UNAUTHORIZED', 'Credentials are required to store to this node.');
    return;
  }
  const media = mediaTypeProblem(req);
  if (media.status !== undefined) {
    problem(res, media.status, media.status === 415 ? 'E_UNSUPPORTED_MEDIA_TYPE' : 'E_MALFORMED_REQUEST', media.message);
    return;
  }
  const declaredLength = Number(req.headers['content-length'] ?? 0);
  if (declaredLength > options.maxRequestBytes) {
    problem(res, 413, 'E_TOO_LARGE', `The request is ${declaredLength} bytes; this node accepts at most ${options.maxRequestBytes}.`);
    req.resume();
    return;
  }
  if (options.hasRoom && !(await options.hasRoom())) {
    spoolFull(res, options, 'The node\'s spool is full; retry later.');
    return;
  }
  const expectedStudy = typeof req.params.study === 'string' ? req.params.study : undefined;
  const outcome: StoreOutcome = { stored: [], failed: [] };
  const accepted: StoredInstance[] = [];
  const { results, failure } = await storeParts(req, media.boundary, options, (bytes) =>
    options.storeInstance(bytes, { via: 'stow-rs', expectedStudyInstanceUid: expectedStudy, label: 'STOW part', from: req.ip }),
  );
  for (const result of results) {
    if (result.status === 'not-dicom') {
      outcome.failed.push({ failureReason: FAILURE_REASON.cannotUnderstand, message: `A part of type ${result.partType} is not a DICOM instance.` });
    } else if (result.status === 'refused' && result.reason === 'out-of-resources') {
      // What was stored stays stored; a retried request stores it again (same file).
      spoolFull(res, options, `The node cannot store instances now (${result.code}); retry later.`);
      return;
    } else if (result.status === 'refused') {
      outcome.failed.push(failedInstance(result));
    } else {
      accepted.push(result);
      outcome.stored.push({
        sopClassUid: result.sopClassUid,
        sopInstanceUid: result.sopInstanceUid,
        retrieveUrl: options.publicBaseUrl
          ? `${options.publicBaseUrl}/dicomweb/studies/${result.studyInstanceUid}/series/${result.seriesInstanceUid}/instances/${result.sopInstanceUid}`
          : undefined,
      });
    }
  }
  if (failure !== undefined) {
    const error = failure.error;
    const tooLarge = error instanceof MaxFileSizeExceededError || error instanceof MaxTotalSizeExceededError || error instanceof MaxPartsExceededError;
    if (tooLarge) problem(res, 413, 'E_TOO_LARGE', `The request exceeds a limit: ${(error as Error).message}`, outcome);
    else if (error instanceof MultipartParseError) problem(res, 400, 'E_MALFORMED_REQUEST', `Malformed multipart body: ${error.message}`, outcome);
    else if (isUndecodableHeader(error)) malformedPartHeader(res, outcome);
    else throw error;
    return;
  }
  for (const failure of outcome.failed) logger.warn('STOW part refused', { reason: failure.failureReason, message: failure.message, sopInstanceUid: failure.sopInstanceUid });
  const studies = new Set(accepted.map((a) => a.header.studyInstanceUid));
  const studyUrl = options.publicBaseUrl && studies.size === 1 ? `${options.publicBaseUrl}/dicomweb/studies/${[...studies][0]}` : undefined;
  logger.info('STOW request', { stored: outcome.stored.length, failed: outcome.failed.length });
  reply(res, storeResponseStatus(outcome), storeResponseBody(outcome, studyUrl));
}

export function stowRouter(options: StowReceiverOptions): Router {
  const router = express.Router();
  const handler = (req: Request, res: Response) => {
    handleStore(req, res, options).catch((error: unknown) => {
      logger.error('STOW request failed', describeError(error));
      if (!res.headersSent) problem(res, 500, 'E_INTERNAL', 'The node could not process the request.');
    });
  };
  router.post('/dicomweb/studies', handler);
  router.post('/dicomweb/studies/:study', handler);
  return router;
}
