/**
 * One record per association, logged once when its connection closes: who called whom from
 * where, how it ended, what was stored with which statuses, and how long it took. UIDs and
 * patient attributes never appear here; a study is followed through the job log instead.
 */
import { hex } from './statuses.ts';

export type AssociationEnd = 'released' | 'aborted' | 'rejected' | 'closed' | 'timed-out' | 'pdu-too-large';

export interface AssociationRecord {
  callingAeTitle: string;
  calledAeTitle: string;
  peer: string;
  openedAt: number;
  /** Why the association was refused at A-ASSOCIATE, when it was. */
  rejected?: string;
  end?: AssociationEnd;
  echoes: number;
  /** C-STORE responses by status (0x0000 …). */
  statuses: Map<number, number>;
  bytesReceived: number;
  /** Time spent storing (parse, spool, fsync, scheduling), summed over instances. */
  storeMs: number;
}

export function openRecord(peer: string): AssociationRecord {
  return { callingAeTitle: '', calledAeTitle: '', peer, openedAt: Date.now(), echoes: 0, statuses: new Map(), bytesReceived: 0, storeMs: 0 };
}

export function countStatus(record: AssociationRecord, status: number): void {
  record.statuses.set(status, (record.statuses.get(status) ?? 0) + 1);
}

/** The fields of the association's log line. */
export function associationLogFields(record: AssociationRecord, now = Date.now()): Record<string, unknown> {
  const stored = record.statuses.get(0) ?? 0;
  const failed = [...record.statuses.entries()].filter(([status]) => status !== 0);
  return {
    callingAeTitle: record.callingAeTitle,
    calledAeTitle: record.calledAeTitle,
    peer: record.peer,
    end: record.rejected ? 'rejected' : (record.end ?? 'closed'),
    ...(record.rejected ? { rejected: record.rejected } : {}),
    echoes: record.echoes,
    stored,
    failed: failed.reduce((sum, [, count]) => sum + count, 0),
    ...(failed.length > 0 ? { failures: Object.fromEntries(failed.map(([status, count]) => [hex(status), count])) } : {}),
    bytesReceived: record.bytesReceived,
    durationMs: now - record.openedAt,
    storeMs: Math.round(record.storeMs),
  };
}
