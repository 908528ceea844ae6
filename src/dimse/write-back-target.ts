/**
 * Where a study's results go: back to the AE that sent it over DIMSE (writeBack.toSendingAe, the
 * AE known with a returnTo address), else writeBack.destination (a DICOMweb URL or a DICOM AE),
 * else the PACS the node polls, else nowhere (the local output folder only).
 */
import type { KnownAe } from './peers.ts';
import type { DicomAeTarget } from './store-scu.ts';

export interface DicomWebDestination {
  url: string;
  bearerToken?: string;
  basic?: { user: string; password: string };
}

export interface DicomAeDestination {
  host: string;
  port: number;
  calledAeTitle: string;
  callingAeTitle?: string;
}

export type WriteBackTarget = { kind: 'dicomweb'; target: DicomWebDestination } | { kind: 'dimse'; target: DicomAeTarget } | null;

export interface WriteBackRouting {
  destination: DicomWebDestination | DicomAeDestination | null;
  pollSource: DicomWebDestination | null;
  toSendingAe: boolean;
  /** The node's own AE title: the calling AE title of its C-STOREs unless a destination says otherwise. */
  ownAeTitle: string;
  knownAes: KnownAe[];
}

/** The queue-state key under which the calling AE of a study's instances is kept. */
export function senderStateKey(studyInstanceUid: string): string {
  return `dimse-sender:${studyInstanceUid}`;
}

export function resolveWriteBackTarget(routing: WriteBackRouting, senderAeTitle: string | undefined): WriteBackTarget {
  if (routing.toSendingAe && senderAeTitle) {
    const known = routing.knownAes.find((ae) => ae.aeTitle === senderAeTitle && ae.returnTo);
    if (known?.returnTo) {
      return { kind: 'dimse', target: { host: known.returnTo.host, port: known.returnTo.port, calledAeTitle: known.aeTitle, callingAeTitle: routing.ownAeTitle } };
    }
  }
  const destination = routing.destination ?? routing.pollSource;
  if (!destination) return null;
  if ('url' in destination) return { kind: 'dicomweb', target: destination };
  return { kind: 'dimse', target: { ...destination, callingAeTitle: destination.callingAeTitle ?? routing.ownAeTitle } };
}

export function describeTarget(target: WriteBackTarget): string {
  if (!target) return 'local folder';
  return target.kind === 'dicomweb' ? target.target.url : `${target.target.calledAeTitle}@${target.target.host}:${target.target.port}`;
}
