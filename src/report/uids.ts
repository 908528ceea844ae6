/**
 * Deterministic identifiers. A re-run of the same input must give the same UIDs (a retried or
 * repeated STOW is then harmless), and a new model version must give new UIDs and new series
 * (OHIF shows only the last SEG/SR instance of a series, and PACS may refuse the same UID with
 * different content). UIDs are `2.25.` + the decimal of 128 bits of a SHA-256 (PS3.5 §B.2: UUID-
 * derived UIDs need no registered root), always ≤ 64 characters.
 */
import { createHash } from 'node:crypto';

/** What a UID identifies; part of the hash so two outputs of one run never collide. */
export type UidKind =
  | 'seg'
  | 'sr'
  | 'series-seg'
  | 'series-sr'
  | 'overlay'
  | 'series-overlay'
  | 'dimension-organization'
  | 'tracking'
  | 'tracking-body'
  | 'device-observer'
  | 'implementation-class';

export interface UidSeed {
  /** SOP Instance UID of the measured source slice. */
  sourceSopInstanceUid: string;
  modelId: string;
  modelVersion: string;
  /** Optional extra discriminator (ReportOptions.revision). */
  revision?: string;
  /** 'body' for measurement.slices "body": its SEG and SR hold more than a "mid" run's. */
  slices?: 'body';
}

function sha256(parts: string[]): Buffer {
  // JSON keeps part boundaries unambiguous ("a","bc" ≠ "ab","c").
  return createHash('sha256').update(JSON.stringify(parts)).digest();
}

/** `2.25.` + decimal of the first 128 bits of SHA-256 over the parts. */
export function uidFromParts(parts: string[]): string {
  const digest = sha256(parts);
  const value = BigInt('0x' + digest.subarray(0, 16).toString('hex'));
  return `2.25.${value.toString(10)}`;
}

export function deriveUid(seed: UidSeed, kind: UidKind): string {
  const parts = ['ct-muscle-node', kind, seed.sourceSopInstanceUid, seed.modelId, seed.modelVersion];
  if (seed.revision !== undefined && seed.revision !== '') parts.push(`revision:${seed.revision}`);
  if (seed.slices === 'body') parts.push('slices:body');
  return uidFromParts(parts);
}

/** The device observer (this node running this model) does not depend on the slice. */
export function deviceObserverUid(manufacturer: string, modelId: string, modelVersion: string): string {
  return uidFromParts(['ct-muscle-node', 'device-observer', manufacturer, modelId, modelVersion]);
}

/** File meta ImplementationClassUID: constant for this software. */
export const IMPLEMENTATION_CLASS_UID = uidFromParts(['ct-muscle-node', 'implementation-class']);
export const IMPLEMENTATION_VERSION_NAME = 'CT_MUSCLE_NODE';

/**
 * SEG series number (the SR takes the next one): configured, or 9000 + 10 × (hash of the model
 * mod 90), so each model version lands on its own number in 9000..9890 — far inside the signed
 * 32-bit IS range some viewers choke beyond.
 */
export function deriveSeriesNumber(modelId: string, modelVersion: string, configured?: number): number {
  if (configured !== undefined) return configured;
  const digest = sha256(['ct-muscle-node', 'series-number', modelId, modelVersion]);
  return 9000 + 10 * (digest.readUInt32BE(0) % 90);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * DICOM DA/TM in UTC plus TimezoneOffsetFromUTC "+0000": the same `created` instant always gives
 * the same bytes whatever the machine's time zone.
 */
export function dicomDateTime(created: Date): { date: string; time: string; timezoneOffset: string } {
  if (Number.isNaN(created.getTime())) throw new RangeError('created is not a valid date');
  const date = `${created.getUTCFullYear()}${pad(created.getUTCMonth() + 1)}${pad(created.getUTCDate())}`;
  const time = `${pad(created.getUTCHours())}${pad(created.getUTCMinutes())}${pad(created.getUTCSeconds())}.${pad(created.getUTCMilliseconds(), 3)}`;
  return { date, time, timezoneOffset: '+0000' };
}
