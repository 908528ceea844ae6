/**
 * The durable job queue: one SQLite file (better-sqlite3, WAL, synchronous FULL) holding every
 * job and its state, so a crash loses nothing: jobs left running by a dead process go back to
 * pending at start-up, and outputs are idempotent (deterministic UIDs) so running twice is safe.
 *
 * States: pending → running → done | pending (retry after backoff) | dead (with the reason).
 */
import type Database from 'better-sqlite3';
import { CtMuscleError } from '../errors.ts';
import { openSqlite } from './sqlite.ts';

export const JOB_STATES = ['pending', 'running', 'done', 'dead'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface Job<P = unknown> {
  id: number;
  kind: string;
  /** What the job is about (a StudyInstanceUID): one waiting job per kind and key, never two running. */
  key: string;
  payload: P;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  nextRunAt: number;
  leaseUntil: number | null;
  lastErrorCode: string | null;
  lastError: string | null;
  result: unknown;
  createdAt: number;
  updatedAt: number;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 5_000, maxDelayMs: 15 * 60_000 };

/** Exponential backoff with full jitter: spreads retries of many jobs after a PACS outage. */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

interface Row {
  id: number;
  kind: string;
  key: string;
  payload: string;
  state: JobState;
  attempts: number;
  max_attempts: number;
  next_run_at: number;
  lease_until: number | null;
  last_error_code: string | null;
  last_error: string | null;
  result: string | null;
  created_at: number;
  updated_at: number;
}

function toJob<P>(row: Row): Job<P> {
  return {
    id: row.id,
    kind: row.kind,
    key: row.key,
    payload: JSON.parse(row.payload) as P,
    state: row.state,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    nextRunAt: row.next_run_at,
    leaseUntil: row.lease_until,
    lastErrorCode: row.last_error_code,
    lastError: row.last_error,
    result: row.result === null ? null : JSON.parse(row.result),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  next_run_at INTEGER NOT NULL,
  lease_until INTEGER,
  last_error_code TEXT,
  last_error TEXT,
  result TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
-- One waiting job per kind and key; a running one may have a waiting follow-up.
CREATE UNIQUE INDEX IF NOT EXISTS jobs_pending_key ON jobs (kind, key) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_run_at);
-- Small durable facts beside the jobs (the poller's watermark, studies already seen).
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

export class JobQueue {
  private readonly db: Database.Database;
  private readonly retry: RetryPolicy;
  private readonly random: () => number;

  constructor(path: string, options: { retry?: Partial<RetryPolicy>; random?: () => number } = {}) {
    this.db = openSqlite(path, SCHEMA, 'the job database');
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.random = options.random ?? Math.random;
  }

  close(): void {
    this.db.close();
  }

  /**
   * Add a job, or refresh the pending one with the same kind and key (new payload, new run time):
   * a study that keeps receiving instances is processed once, after it goes quiet.
   */
  enqueue<P>(kind: string, key: string, payload: P, options: { runAt?: number; maxAttempts?: number } = {}): Job<P> {
    const now = Date.now();
    const runAt = options.runAt ?? now;
    const maxAttempts = options.maxAttempts ?? this.retry.maxAttempts;
    const run = this.db.transaction(() => {
      const pending = this.db.prepare("SELECT id FROM jobs WHERE kind = ? AND key = ? AND state = 'pending'").get(kind, key) as { id: number } | undefined;
      if (pending) {
        this.db.prepare('UPDATE jobs SET payload = ?, next_run_at = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(payload), runAt, now, pending.id);
        return pending.id;
      }
      // A running job for the same key may have missed what just arrived: this one follows it.
      return Number(
        this.db
          .prepare('INSERT INTO jobs (kind, key, payload, state, max_attempts, next_run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(kind, key, JSON.stringify(payload), 'pending', maxAttempts, runAt, now, now).lastInsertRowid,
      );
    });
    return this.get<P>(run.immediate())!;
  }

  get<P = unknown>(id: number): Job<P> | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    return row ? toJob<P>(row) : undefined;
  }

  /** Take the next due pending job (oldest first), mark it running with a lease. */
  claim<P = unknown>(kinds: string[], now = Date.now(), leaseMs = 30 * 60_000): Job<P> | undefined {
    const placeholders = kinds.map(() => '?').join(', ');
    const take = this.db.transaction(() => {
      const row = this.db
        .prepare(
          `SELECT * FROM jobs j WHERE state = 'pending' AND next_run_at <= ? AND kind IN (${placeholders})
             AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.kind = j.kind AND r.key = j.key AND r.state = 'running')
           ORDER BY next_run_at, id LIMIT 1`,
        )
        .get(now, ...kinds) as Row | undefined;
      if (!row) return undefined;
      this.db
        .prepare("UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, updated_at = ? WHERE id = ?")
        .run(now + leaseMs, now, row.id);
      return row.id;
    });
    const id = take.immediate();
    return id === undefined ? undefined : this.get<P>(id);
  }

  complete(id: number, result: unknown = null): void {
    this.db
      .prepare("UPDATE jobs SET state = 'done', result = ?, lease_until = NULL, last_error_code = NULL, last_error = NULL, updated_at = ? WHERE id = ? AND state = 'running'")
      .run(JSON.stringify(result), Date.now(), id);
  }

  /**
   * Record a failure. Retryable failures go back to pending after a backoff until maxAttempts
   * (or the deadline) is spent; anything else, or the last attempt, is dead-lettered with its reason.
   */
  fail(id: number, error: { code: string; message: string }, options: { retryable: boolean; deadline?: number; now?: number }): Job {
    const now = options.now ?? Date.now();
    const job = this.get(id);
    if (!job) throw new CtMuscleError('E_IO', `No job ${id}.`);
    const delay = backoffDelayMs(job.attempts, this.retry, this.random);
    const pastDeadline = options.deadline !== undefined && now + delay > options.deadline;
    const retry = options.retryable && job.attempts < job.maxAttempts && !pastDeadline;
    this.db
      .prepare('UPDATE jobs SET state = ?, next_run_at = ?, lease_until = NULL, last_error_code = ?, last_error = ?, updated_at = ? WHERE id = ?')
      .run(retry ? 'pending' : 'dead', retry ? now + delay : job.nextRunAt, error.code, error.message, now, id);
    return this.get(id)!;
  }

  /** Jobs left running by a process that died (or whose lease ran out) go back to pending. */
  recover(now = Date.now(), options: { all?: boolean } = {}): number {
    const sql = options.all
      ? "UPDATE jobs SET state = 'pending', lease_until = NULL, updated_at = ? WHERE state = 'running'"
      : "UPDATE jobs SET state = 'pending', lease_until = NULL, updated_at = ? WHERE state = 'running' AND lease_until < ?";
    const info = options.all ? this.db.prepare(sql).run(now) : this.db.prepare(sql).run(now, now);
    return info.changes;
  }

  getState(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM state WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setState(key: string, value: string): void {
    this.db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  /** The pending or running job of a kind and key (the running one first), if any. */
  active<P = unknown>(kind: string, key: string): Job<P> | undefined {
    const row = this.db
      .prepare("SELECT * FROM jobs WHERE kind = ? AND key = ? AND state IN ('running', 'pending') ORDER BY state = 'running' DESC, id DESC LIMIT 1")
      .get(kind, key) as Row | undefined;
    return row ? toJob<P>(row) : undefined;
  }

  /** The most recently finished job of a kind and key, to tell whether new data changes anything. */
  lastDone<P = unknown>(kind: string, key: string): Job<P> | undefined {
    const row = this.db.prepare("SELECT * FROM jobs WHERE kind = ? AND key = ? AND state = 'done' ORDER BY updated_at DESC, id DESC LIMIT 1").get(kind, key) as Row | undefined;
    return row ? toJob<P>(row) : undefined;
  }

  list(state?: JobState): Job[] {
    const rows = (state
      ? this.db.prepare('SELECT * FROM jobs WHERE state = ? ORDER BY id').all(state)
      : this.db.prepare('SELECT * FROM jobs ORDER BY id').all()) as Row[];
    return rows.map((row) => toJob(row));
  }

  counts(): Record<JobState, number> {
    const out: Record<JobState, number> = { pending: 0, running: 0, done: 0, dead: 0 };
    for (const row of this.db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all() as Array<{ state: JobState; n: number }>) {
      out[row.state] = row.n;
    }
    return out;
  }
}
