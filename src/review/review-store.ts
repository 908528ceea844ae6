/**
 * Review records: who did what to which study's result, and when (accept, reject, another slice,
 * an edited SEG). In the queue's database, whichever engine: a table in the SQLite job file (its
 * own connection, WAL, like the queue's), or ctmn.reviews in PostgreSQL beside pg-boss's jobs, so
 * every process of a node sees the same review status.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { OUR_SCHEMA } from '../queue/postgres-schema.ts';
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
  record(entry: NewReviewRecord): Promise<ReviewRecord>;
  /** Oldest first. */
  forStudy(studyInstanceUid: string): Promise<ReviewRecord[]>;
  /** The newest record of every study that has one. */
  latestByStudy(): Promise<Map<string, ReviewRecord>>;
  close(): Promise<void>;
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
  id: number | string;
  study_instance_uid: string;
  action: ReviewAction;
  who: string;
  authenticated_as: string;
  at: number;
  /** JSON text (SQLite) or the parsed jsonb (PostgreSQL). */
  detail: string | Record<string, unknown>;
}

const toRecord = (row: Row): ReviewRecord => ({
  id: Number(row.id),
  studyInstanceUid: row.study_instance_uid,
  action: row.action,
  who: row.who,
  authenticatedAs: row.authenticated_as,
  at: Number(row.at),
  detail: (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as Record<string, unknown>,
});

export class SqliteReviewStore implements ReviewStore {
  private readonly db: Database.Database;

  /** path: the job database (config.queue.path); the table sits beside the jobs. */
  constructor(path: string) {
    this.db = openSqlite(path, SCHEMA, 'the review table in');
  }

  async record(entry: NewReviewRecord): Promise<ReviewRecord> {
    const at = entry.at ?? Date.now();
    const id = this.db
      .prepare('INSERT INTO reviews (study_instance_uid, action, who, authenticated_as, at, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(entry.studyInstanceUid, entry.action, entry.who, entry.authenticatedAs, at, JSON.stringify(entry.detail)).lastInsertRowid;
    return { ...entry, id: Number(id), at };
  }

  async forStudy(studyInstanceUid: string): Promise<ReviewRecord[]> {
    return (this.db.prepare('SELECT * FROM reviews WHERE study_instance_uid = ? ORDER BY id').all(studyInstanceUid) as Row[]).map(toRecord);
  }

  async latestByStudy(): Promise<Map<string, ReviewRecord>> {
    const rows = this.db.prepare('SELECT r.* FROM reviews r WHERE r.id = (SELECT MAX(id) FROM reviews WHERE study_instance_uid = r.study_instance_uid)').all() as Row[];
    return new Map(rows.map((row) => [row.study_instance_uid, toRecord(row)]));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** The records in PostgreSQL (ctmn.reviews, made by the queue's migration), on the queue's pool. */
export class PostgresReviewStore implements ReviewStore {
  constructor(private readonly pool: pg.Pool) {}

  async record(entry: NewReviewRecord): Promise<ReviewRecord> {
    const at = entry.at ?? Date.now();
    const { rows } = await this.pool.query(
      `INSERT INTO ${OUR_SCHEMA}.reviews (study_instance_uid, action, who, authenticated_as, at, detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [entry.studyInstanceUid, entry.action, entry.who, entry.authenticatedAs, at, JSON.stringify(entry.detail)],
    );
    return { ...entry, id: Number(rows[0].id), at };
  }

  async forStudy(studyInstanceUid: string): Promise<ReviewRecord[]> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM ${OUR_SCHEMA}.reviews WHERE study_instance_uid = $1 ORDER BY id`, [studyInstanceUid]);
    return rows.map(toRecord);
  }

  async latestByStudy(): Promise<Map<string, ReviewRecord>> {
    const { rows } = await this.pool.query<Row>(`SELECT DISTINCT ON (study_instance_uid) * FROM ${OUR_SCHEMA}.reviews ORDER BY study_instance_uid, id DESC`);
    return new Map(rows.map((row) => [row.study_instance_uid, toRecord(row)]));
  }

  /** The pool is the queue's: it closes with the queue. */
  async close(): Promise<void> {}
}
