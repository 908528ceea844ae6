/**
 * STOW-RS client for writing results back. Success is judged per instance, never by the status
 * code alone: Orthanc answers 200 and silently skips parts it did not like, so a UID we sent
 * that is missing from 00081199 is a failure. 400/409 are the server's final word (not retried
 * unchanged); network errors and 5xx mean "try again later".
 */
import { CtMuscleError } from '../../errors.ts';
import { multipartRelated } from './multipart.ts';

export interface StowTarget {
  /** DICOMweb root, e.g. http://pacs:8042/dicom-web */
  url: string;
  credentials?: { bearerToken?: string; basic?: { user: string; password: string } };
  timeoutMs?: number;
}

export interface StowInstance {
  sopInstanceUid: string;
  bytes: Uint8Array;
}

export interface StowOutcome {
  status: number;
  stored: string[];
  failed: Array<{ sopInstanceUid: string; reason?: number }>;
  /** Sent but neither stored nor reported failed: silently dropped by the server. */
  missing: string[];
}

type DicomJson = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

function sequenceItems(body: DicomJson | null, tag: string): DicomJson[] {
  return ((body?.[tag]?.Value ?? []) as DicomJson[]).filter((item) => typeof item === 'object' && item !== null);
}

function firstString(item: DicomJson, tag: string): string | undefined {
  const value = item[tag]?.Value?.[0];
  return typeof value === 'string' ? value : undefined;
}

export function authorizationHeader(credentials: StowTarget['credentials']): Record<string, string> {
  if (credentials?.bearerToken) return { Authorization: `Bearer ${credentials.bearerToken}` };
  if (credentials?.basic) return { Authorization: `Basic ${Buffer.from(`${credentials.basic.user}:${credentials.basic.password}`).toString('base64')}` };
  return {};
}

/** Read a STOW-RS answer per instance. */
export function readStowAnswer(status: number, body: DicomJson | null, sent: string[]): StowOutcome {
  const stored = sequenceItems(body, '00081199').map((item) => firstString(item, '00081155')).filter((v): v is string => !!v);
  const failed = sequenceItems(body, '00081198').map((item) => ({
    sopInstanceUid: firstString(item, '00081155') ?? '',
    reason: item['00081197']?.Value?.[0] as number | undefined,
  }));
  const known = new Set([...stored, ...failed.map((f) => f.sopInstanceUid)]);
  return { status, stored, failed, missing: sent.filter((uid) => !known.has(uid)) };
}

export async function stowInstances(target: StowTarget, instances: StowInstance[], studyInstanceUid?: string): Promise<StowOutcome> {
  const { body, contentType } = multipartRelated(instances.map((i) => ({ bytes: i.bytes })));
  const url = `${target.url.replace(/\/+$/, '')}/studies${studyInstanceUid ? `/${studyInstanceUid}` : ''}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': contentType, Accept: 'application/dicom+json', ...authorizationHeader(target.credentials) },
      body,
      signal: AbortSignal.timeout(target.timeoutMs ?? 120_000),
    });
  } catch (error) {
    throw new CtMuscleError('E_PACS_UNAVAILABLE', `STOW-RS to ${url} failed: ${(error as Error).message}`, { retryable: true });
  }
  const text = await response.text();
  let json: DicomJson | null;
  try {
    json = text ? (JSON.parse(text) as DicomJson) : null;
  } catch {
    json = null;
  }
  const sent = instances.map((i) => i.sopInstanceUid);
  const outcome = readStowAnswer(response.status, json, sent);
  if (response.status >= 500 || response.status === 429 || response.status === 408) {
    throw new CtMuscleError('E_PACS_UNAVAILABLE', `STOW-RS to ${url}: HTTP ${response.status}.`, { retryable: true, outcome });
  }
  if (response.status === 401 || response.status === 403) {
    throw new CtMuscleError('E_PACS_REJECTED', `STOW-RS to ${url}: HTTP ${response.status} (credentials refused).`, { retryable: false, outcome });
  }
  if (outcome.failed.length > 0 || outcome.missing.length > 0 || response.status >= 400) {
    const detail = [
      outcome.failed.length ? `${outcome.failed.length} failed (${outcome.failed.map((f) => `${f.sopInstanceUid || '?'}: 0x${(f.reason ?? 0).toString(16)}`).join(', ')})` : '',
      outcome.missing.length ? `${outcome.missing.length} not acknowledged (${outcome.missing.join(', ')})` : '',
    ].filter(Boolean).join('; ');
    // 400/409: the server refused these objects; sending the same bytes again cannot help.
    const retryable = response.status < 400 && outcome.failed.length === 0;
    throw new CtMuscleError('E_PACS_REJECTED', `STOW-RS to ${url}: HTTP ${response.status}; ${detail || 'no instance stored'}.`, { retryable, outcome });
  }
  return outcome;
}
