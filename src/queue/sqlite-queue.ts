/**
 * The queue in one SQLite file (better-sqlite3, WAL, synchronous FULL): the default engine, for a
 * node that is one process. Every job and its state survive a crash. The calls are synchronous
 * underneath; they answer Promises to fit the JobQueue interface shared with PostgreSQL.
 *
 * A claimed job records its owner (host:pid) and a lease; recover() gives back the jobs whose lease
 * ran out and, at once, those of a process on this machine that no longer exists.
 */
import type Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { CtMuscleError } from '../errors.ts';
import { processGone } from '../io/process.ts';
import { DEFAULT_LEASE_MS, DEFAULT_RETRY, retryDecision, type EnqueueOptions, type FailOptions, type Job, type JobId, type JobQueue, type JobState, type QueueOptions, type RetryPolicy } from './job-queue.ts';
import { openSqlite } from './sqlite.ts';

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
-- One fresh waiting job per kind and key; a running one may have a waiting follow-up. A job that
-- failed (or was taken back from a dead worker) waits for its retry beside a follow-up that
-- arrived while it ran: the two are told apart by attempts (PostgreSQL: pg-boss's created/retry).
DROP INDEX IF EXISTS jobs_pending_key;
CREATE UNIQUE INDEX IF NOT EXISTS jobs_waiting_key ON jobs (kind, key) WHERE state = 'pending' AND attempts = 0;
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, next_run_at);
-- Small durable facts beside the jobs (the poller's watermark, studies already seen).
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/** Columns added after the first release: added in place, so an existing job database keeps its jobs. */
function migrate(db: Database.Database): void {
  const columns = (db.prepare('PRAGMA table_info(jobs)').all() as Array<{ name: string }>).map((c) => c.name);
  if (!columns.includes('owner')) db.exec('ALTER TABLE jobs ADD COLUMN owner TEXT');
}

export class SqliteJobQueue implements JobQueue {
  readonly backend = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly retry: RetryPolicy;
  private readonly random: () => number;
  private readonly leaseMs: number;
  /** This process, as recorded on the jobs it claims. */
  private readonly owner: string;

  /** options.owner: who claims (host:pid), this process unless a test plays another one. */
  constructor(path: string, options: QueueOptions & { owner?: string } = {}) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}`;
    this.db = openSqlite(path, SCHEMA, 'the job database');
    migrate(this.db);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.random = options.random ?? Math.random;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  async enqueue<P>(kind: string, key: string, payload: P, options: EnqueueOptions = {}): Promise<Job<P>> {
    const now = Date.now();
    const runAt = options.runAt ?? now;
    const maxAttempts = options.maxAttempts ?? this.retry.maxAttempts;
    const run = this.db.transaction(() => {
      const waiting = this.db
        .prepare("SELECT id FROM jobs WHERE kind = ? AND key = ? AND state = 'pending' ORDER BY attempts = 0 DESC, id DESC LIMIT 1")
        .get(kind, key) as { id: number } | undefined;
      if (waiting) {
        this.db.prepare('UPDATE jobs SET payload = ?, next_run_at = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(payload), runAt, now, waiting.id);
        return waiting.id;
      }
      // A running job for the same key may have missed what just arrived: this one follows it.
      return Number(
        this.db
          .prepare('INSERT INTO jobs (kind, key, payload, state, max_attempts, next_run_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(kind, key, JSON.stringify(payload), 'pending', maxAttempts, runAt, now, now).lastInsertRowid,
      );
    });
    return this.getNow<P>(run.immediate())!;
  }

  private getNow<P>(id: JobId): Job<P> | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    return row ? toJob<P>(row) : undefined;
  }

  async get<P = unknown>(id: JobId): Promise<Job<P> | undefined> {
    return this.getNow<P>(id);
  }

  async claim<P = unknown>(kinds: string[], now = Date.now(), leaseMs = this.leaseMs): Promise<Job<P> | undefined> {
    const placeholders = kinds.map(() => '?').join(', ');
    const take = this.db.transaction(() => {
      const row = this.db
        .prepare(
          `SELECT id FROM jobs j WHERE state = 'pending' AND next_run_at <= ? AND kind IN (${placeholders})
             AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.kind = j.kind AND r.key = j.key AND r.state = 'running')
           ORDER BY next_run_at, id LIMIT 1`,
        )
        .get(now, ...kinds) as { id: number } | undefined;
      if (!row) return undefined;
      this.db
        .prepare("UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?, owner = ?, updated_at = ? WHERE id = ?")
        .run(now + leaseMs, this.owner, now, row.id);
      return row.id;
    });
    const id = take.immediate();
    return id === undefined ? undefined : this.getNow<P>(id);
  }

  async renew(ids: JobId[], leaseMs = this.leaseMs): Promise<void> {
    const update = this.db.prepare("UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running'");
    const until = Date.now() + leaseMs;
    this.db.transaction(() => ids.forEach((id) => update.run(until, id)))();
  }

  async complete(id: JobId, result: unknown = null): Promise<void> {
    this.db
      .prepare("UPDATE jobs SET state = 'done', result = ?, lease_until = NULL, last_error_code = NULL, last_error = NULL, updated_at = ? WHERE id = ? AND state = 'running'")
      .run(JSON.stringify(result), Date.now(), id);
  }

  async fail(id: JobId, error: { code: string; message: string }, options: FailOptions): Promise<Job> {
    const now = options.now ?? Date.now();
    const job = this.getNow(id);
    if (!job) throw new CtMuscleError('E_IO', `No job ${id}.`);
    const decision = retryDecision(job, this.retry, { ...options, now, random: this.random });
    this.db
      .prepare('UPDATE jobs SET state = ?, next_run_at = ?, lease_until = NULL, last_error_code = ?, last_error = ?, updated_at = ? WHERE id = ?')
      .run(decision.retry ? 'pending' : 'dead', decision.retry ? decision.runAt : job.nextRunAt, error.code, error.message, now, id);
    return this.getNow(id)!;
  }

  async recover(now = Date.now()): Promise<number> {
    const owners = this.db.prepare("SELECT DISTINCT owner FROM jobs WHERE state = 'running' AND owner IS NOT NULL").all() as Array<{ owner: string }>;
    const here = `${hostname()}:`;
    const gone = owners.map((o) => o.owner).filter((o) => o.startsWith(here) && o !== this.owner && processGone(Number(o.slice(here.length))));
    const set = "UPDATE jobs SET state = 'pending', lease_until = NULL, owner = NULL, updated_at = ? WHERE state = 'running'";
    // No owner: claimed by a version that did not record one, which ran as the only process.
    const expired = this.db.prepare(`${set} AND (lease_until < ? OR owner IS NULL)`);
    const ownedBy = this.db.prepare(`${set} AND owner = ?`);
    let changes = 0;
    this.db.transaction(() => {
      changes += expired.run(now, now).changes;
      for (const owner of gone) changes += ownedBy.run(now, owner).changes;
    })();
    return changes;
  }

  async getState(key: string): Promise<string | undefined> {
    return (this.db.prepare('SELECT value FROM state WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  async setState(key: string, value: string): Promise<void> {
    this.db.prepare('INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  async active<P = unknown>(kind: string, key: string): Promise<Job<P> | undefined> {
    const row = this.db
      .prepare("SELECT * FROM jobs WHERE kind = ? AND key = ? AND state IN ('running', 'pending') ORDER BY state = 'running' DESC, id DESC LIMIT 1")
      .get(kind, key) as Row | undefined;
    return row ? toJob<P>(row) : undefined;
  }

  async lastDone<P = unknown>(kind: string, key: string): Promise<Job<P> | undefined> {
    const row = this.db.prepare("SELECT * FROM jobs WHERE kind = ? AND key = ? AND state = 'done' ORDER BY updated_at DESC, id DESC LIMIT 1").get(kind, key) as Row | undefined;
    return row ? toJob<P>(row) : undefined;
  }

  async list(state?: JobState): Promise<Job[]> {
    const rows = (state ? this.db.prepare('SELECT * FROM jobs WHERE state = ? ORDER BY id').all(state) : this.db.prepare('SELECT * FROM jobs ORDER BY id').all()) as Row[];
    return rows.map((row) => toJob(row));
  }

  async counts(): Promise<Record<JobState, number>> {
    const out: Record<JobState, number> = { pending: 0, running: 0, done: 0, dead: 0 };
    for (const row of this.db.prepare('SELECT state, COUNT(*) AS n FROM jobs GROUP BY state').all() as Array<{ state: JobState; n: number }>) {
      out[row.state] = row.n;
    }
    return out;
  }
}
