/**
 * Review records: who did what to which study's result, and when (accept, reject, another slice,
 * an edited SEG). Behind a small interface so a PostgreSQL job store can hold them later; today
 * a table in the node's SQLite job database (its own connection, WAL, like the queue's).
 */
import type Database from 'better-sqlite3';
import { openSqlite } from '../queue/sqlite.ts';

export const REVIEW_ACTIONS = ['accept', 'reject', 'choose-slice', 'correct'] as const;
export type ReviewAction = (typeof REVIEW_ACTIONS)[number];

export interface ReviewRecord {
  id: number;
  studyInstanceUid: string;
  action: ReviewAction;
  /** The person, as the SR names them (the signed-in user, or the name given on an open node). */
  who: string;
  /** How the request was authenticated ('basic:jane', 'bearer', 'session:basic:jane', 'open'). */
  authenticatedAs: string;
  at: number;
  /** What the action made: amended SR, edited SEG, new measurements, chosen slice, reason. */
  detail: Record<string, unknown>;
}

export type NewReviewRecord = Omit<ReviewRecord, 'id' | 'at'> & { at?: number };

export interface ReviewStore {
  record(entry: NewReviewRecord): ReviewRecord;
  /** Oldest first. */
  forStudy(studyInstanceUid: string): ReviewRecord[];
  /** The newest record of every study that has one. */
  latestByStudy(): Map<string, ReviewRecord>;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reviews (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  study_instance_uid TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('accept', 'reject', 'choose-slice', 'correct')),
  who TEXT NOT NULL,
  authenticated_as TEXT NOT NULL,
  at INTEGER NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_study ON reviews (study_instance_uid, id);
`;

interface Row {
  id: number;
  study_instance_uid: string;
  action: ReviewAction;
  who: string;
  authenticated_as: string;
  at: number;
  detail: string;
}

const toRecord = (row: Row): ReviewRecord => ({
  id: row.id,
  studyInstanceUid: row.study_instance_uid,
  action: row.action,
  who: row.who,
  authenticatedAs: row.authenticated_as,
  at: row.at,
  detail: JSON.parse(row.detail) as Record<string, unknown>,
});

export class SqliteReviewStore implements ReviewStore {
  private readonly db: Database.Database;

  /** path: the job database (config.queue.path); the table sits beside the jobs. */
  constructor(path: string) {
    this.db = openSqlite(path, SCHEMA, 'the review table in');
  }

  record(entry: NewReviewRecord): ReviewRecord {
    const at = entry.at ?? Date.now();
    const id = this.db
      .prepare('INSERT INTO reviews (study_instance_uid, action, who, authenticated_as, at, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(entry.studyInstanceUid, entry.action, entry.who, entry.authenticatedAs, at, JSON.stringify(entry.detail)).lastInsertRowid;
    return { ...entry, id: Number(id), at };
  }

  forStudy(studyInstanceUid: string): ReviewRecord[] {
    return (this.db.prepare('SELECT * FROM reviews WHERE study_instance_uid = ? ORDER BY id').all(studyInstanceUid) as Row[]).map(toRecord);
  }

  latestByStudy(): Map<string, ReviewRecord> {
    const rows = this.db.prepare('SELECT r.* FROM reviews r WHERE r.id = (SELECT MAX(id) FROM reviews WHERE study_instance_uid = r.study_instance_uid)').all() as Row[];
    return new Map(rows.map((row) => [row.study_instance_uid, toRecord(row)]));
  }

  close(): void {
    this.db.close();
  }
}
