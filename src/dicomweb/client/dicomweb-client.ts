/**
 * QIDO-RS and WADO-RS over Node's fetch. Retrieval streams the multipart answer part by part
 * (one instance in memory at a time), which dicomweb-client's XMLHttpRequest transport cannot.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { parse as parseContentType } from 'content-type';
import { parseMultipartStream } from '@remix-run/multipart-parser/node';
import { CtMuscleError } from '../../errors.ts';
import { authorizationHeader, type StowTarget } from './stow-client.ts';

export type DicomJson = Record<string, { vr?: string; Value?: unknown[]; BulkDataURI?: string } | undefined>;

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

function root(target: StowTarget): string {
  return target.url.replace(/\/+$/, '');
}

async function request(target: StowTarget, path: string, accept: string): Promise<Response> {
  const url = `${root(target)}/${path}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { Accept: accept, ...authorizationHeader(target.credentials) }, signal: AbortSignal.timeout(target.timeoutMs ?? 300_000) });
  } catch (error) {
    throw new CtMuscleError('E_PACS_UNAVAILABLE', `GET ${url} failed: ${(error as Error).message}`, { retryable: true });
  }
  if (response.status >= 500 || response.status === 429) {
    throw new CtMuscleError('E_PACS_UNAVAILABLE', `GET ${url}: HTTP ${response.status}.`, { retryable: true });
  }
  if (response.status >= 400) throw new CtMuscleError('E_PACS_REJECTED', `GET ${url}: HTTP ${response.status}.`, { retryable: false });
  return response;
}

export async function getJson(target: StowTarget, path: string): Promise<DicomJson[]> {
  const response = await request(target, path, 'application/dicom+json');
  if (response.status === 204) return [];
  const text = await response.text();
  if (!text.trim()) return [];
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new CtMuscleError('E_PACS_REJECTED', `GET ${path}: expected a JSON array.`, { retryable: false });
  return parsed as DicomJson[];
}

export function firstString(item: DicomJson, tag: string): string | undefined {
  const value = item[tag]?.Value?.[0];
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

export interface PagingOptions {
  pageSize: number;
  /** Safety stop for servers that never run out. */
  maxPages: number;
}

/**
 * Page through a QIDO-RS search with limit/offset. Stops on an empty or short page, or when a
 * page brings nothing new (a server that ignores offset); `capped` says whether the last page
 * was full, i.e. whether results may be missing and the caller should narrow the query.
 */
export async function searchAll(target: StowTarget, path: string, params: Record<string, string>, keyTag: string, paging: PagingOptions): Promise<{ items: DicomJson[]; capped: boolean }> {
  const seen = new Map<string, DicomJson>();
  for (let page = 0; page < paging.maxPages; page++) {
    const query = new URLSearchParams({ ...params, limit: String(paging.pageSize), offset: String(page * paging.pageSize) });
    const items = await getJson(target, `${path}?${query}`);
    let fresh = 0;
    for (const item of items) {
      const key = firstString(item, keyTag);
      if (key && !seen.has(key)) {
        seen.set(key, item);
        fresh++;
      }
    }
    if (items.length < paging.pageSize) return { items: [...seen.values()], capped: false };
    if (fresh === 0) return { items: [...seen.values()], capped: true };
  }
  return { items: [...seen.values()], capped: true };
}

/** Retrieve a series as Part 10 instances, handing each to `onInstance` as it arrives. */
export async function retrieveSeries(
  target: StowTarget,
  studyInstanceUid: string,
  seriesInstanceUid: string,
  onInstance: (bytes: Uint8Array) => Promise<void>,
  options: { maxInstanceBytes: number },
): Promise<number> {
  // Ask for Explicit VR Little Endian; accept whatever syntax the server sends (the decoder reads them all).
  const accept = `multipart/related; type="application/dicom"; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN}, multipart/related; type="application/dicom"; transfer-syntax=*`;
  const response = await request(target, `studies/${studyInstanceUid}/series/${seriesInstanceUid}`, accept);
  const contentType = parseContentType(response.headers.get('content-type') ?? '');
  const boundary = contentType.parameters.boundary;
  if (contentType.type !== 'multipart/related' || !boundary || !response.body) {
    throw new CtMuscleError('E_PACS_REJECTED', `WADO-RS answered ${contentType.type} without a multipart boundary.`, { retryable: false });
  }
  let count = 0;
  const stream = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
  for await (const part of parseMultipartStream(stream, { boundary, maxFileSize: options.maxInstanceBytes, maxTotalSize: Number.MAX_SAFE_INTEGER, maxParts: 100_000 })) {
    await onInstance(part.bytes);
    count++;
  }
  return count;
}
