/**
 * The queue on PostgreSQL, for a node of several processes on several machines, built on pg-boss
 * (docs/decisions.md says why pg-boss and what we add). pg-boss gives the schema and its migrations,
 * the jobs table with a "stately" policy per kind (unique indexes: at most one waiting, one waiting
 * retry and one running job per key), job creation, completion, the lease (expire_in) and its
 * supervision (a job whose worker stopped renewing it goes back with backoff, or dead when spent),
 * archiving. Our additions, each one statement on pg-boss's job table:
 * - enqueue refreshes the waiting job's payload and run time (pg-boss only refuses a duplicate);
 * - claim skips keys that have a running job (pg-boss's fetch stalls the whole queue behind it);
 * - fail applies our retry decision (retryDecision: capped exponential backoff with jitter, the
 *   write-back deadline, non-retryable errors dead at once) and keeps the error code and reason;
 * - renew extends a running job's lease (pg-boss 10 has no heartbeat).
 */
import PgBoss from 'pg-boss';
import type pg from 'pg';
import { CtMuscleError } from '../errors.ts';
import { errorLogFields, logger } from '../logging.ts';
import { DEFAULT_LEASE_MS, DEFAULT_RETRY, retryDecision, type EnqueueOptions, type FailOptions, type Job, type JobId, type JobQueue, type JobState, type QueueOptions, type RetryPolicy } from './job-queue.ts';
import { checkReachable, createPool, query, unreachable } from './postgres.ts';
import { redactUrl } from './queue-url.ts';
import { BOSS_SCHEMA, checkSchemaVersions, migrateOurSchema, OUR_SCHEMA } from './postgres-schema.ts';

interface Row {
  id: string;
  kind: string;
  key: string;
  payload: unknown;
  state: JobState;
  boss_state: string;
  attempts: number;
  max_attempts: number;
  start_after: Date;
  started_on: Date | null;
  lease_until: Date | null;
  created_on: Date;
  completed_on: Date | null;
  output: { code?: string; message?: string; value?: { message?: string } } | null;
}

const ROW = `SELECT *, CASE WHEN boss_state = 'active' THEN started_on + expire_in END AS lease_until FROM ${OUR_SCHEMA}.jobs`;

function errorOf(row: Row): { code: string | null; message: string | null } {
  if (row.state === 'done' || !row.output) return { code: null, message: null };
  // pg-boss's own supervision writes { value: { message } } when a lease ran out.
  if (row.output.code === undefined && row.output.value?.message) return { code: 'E_QUEUE_LEASE_EXPIRED', message: row.output.value.message };
  return { code: row.output.code ?? null, message: row.output.message ?? null };
}

function toJob<P>(row: Row): Job<P> {
  const error = errorOf(row);
  return {
    id: row.id,
    kind: row.kind,
    key: row.key,
    payload: row.payload as P,
    state: row.state,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    nextRunAt: row.start_after.getTime(),
    leaseUntil: row.lease_until ? row.lease_until.getTime() : null,
    lastErrorCode: error.code,
    lastError: error.message,
    result: row.state === 'done' ? (row.output ?? null) : null,
    createdAt: row.created_on.getTime(),
    updatedAt: Math.max(row.created_on.getTime(), row.started_on?.getTime() ?? 0, row.completed_on?.getTime() ?? 0),
  };
}

export interface PostgresQueueOptions extends QueueOptions {
  url: string;
  poolSize: number;
  /** How often pg-boss's supervision looks for expired leases (s); a fraction of the lease. */
  maintenanceSeconds?: number;
  /** Name of the connections in pg_stat_activity. */
  applicationName?: string;
}

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === '23505';

export class PostgresJobQueue implements JobQueue {
  readonly backend = 'postgres' as const;
  private readonly queues = new Set<string>();

  private constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    private readonly boss: PgBoss,
    private readonly retry: RetryPolicy,
    private readonly random: () => number,
    private readonly leaseMs: number,
  ) {}

  /** Connect, check the schema versions, run pg-boss's migrations and ours; E_QUEUE_* when it cannot. */
  static async open(options: PostgresQueueOptions): Promise<PostgresJobQueue> {
    const pool = createPool(options.url, { size: options.poolSize, name: options.applicationName ?? 'ct-muscle-node' });
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const boss = new PgBoss({
      db: { executeSql: (text: string, values?: unknown[]) => query(pool, options.url, text, values) },
      schema: BOSS_SCHEMA,
      schedule: false,
      maintenanceIntervalSeconds: options.maintenanceSeconds ?? Math.max(1, Math.floor(leaseMs / 3000)),
      // Finished jobs stay listable (jobs/requeue, the review page, retention) as in SQLite.
      deleteAfterDays: 36_500,
    });
    // pg-boss reports maintenance failures (the database restarting) as events, not exceptions.
    boss.on('error', (error) => logger.warn('queue maintenance failed; it runs again', { url: redactUrl(options.url), ...errorLogFields(error) }));
    try {
      await checkReachable(pool, options.url);
      await checkSchemaVersions(pool);
      await boss.start();
      await migrateOurSchema(pool);
    } catch (error) {
      await boss.stop({ graceful: false, wait: false }).catch(() => undefined);
      await pool.end().catch(() => undefined);
      throw error instanceof CtMuscleError ? error : unreachable(error, options.url);
    }
    return new PostgresJobQueue(options.url, pool, boss, { ...DEFAULT_RETRY, ...options.retry }, options.random ?? Math.random, leaseMs);
  }

  private closing: Promise<void> | undefined;

  /** Stop pg-boss's supervision and end the pool; once, however often it is called. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.boss.stop({ graceful: false, wait: true, close: false });
      await this.pool.end();
    })();
    return this.closing;
  }

  private query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return query<R>(this.pool, this.url, sql, values);
  }

  private async row(sql: string, values: unknown[]): Promise<Row | undefined> {
    return (await this.query<Row>(sql, values)).rows[0];
  }

  private async ensureQueue(kind: string): Promise<void> {
    if (this.queues.has(kind)) return;
    if (!(await this.boss.getQueue(kind))) await this.boss.createQueue(kind, { name: kind, policy: 'stately' });
    this.queues.add(kind);
  }

  /** Give the waiting job of the key (a fresh one before a retry) the new payload and run time. */
  private async refresh(kind: string, key: string, payload: unknown, runAt: number): Promise<string | undefined> {
    const { rows } = await this.query<{ id: string }>(
      `UPDATE ${BOSS_SCHEMA}.job SET data = $3, start_after = to_timestamp($4::float8 / 1000)
        WHERE name = $1 AND id = (SELECT id FROM ${BOSS_SCHEMA}.job WHERE name = $1 AND singleton_key = $2 AND state < 'active'
                                  ORDER BY state = 'created' DESC, created_on DESC LIMIT 1 FOR UPDATE)
        RETURNING id::text`,
      [kind, key, JSON.stringify(payload), runAt],
    );
    return rows[0]?.id;
  }

  async enqueue<P>(kind: string, key: string, payload: P, options: EnqueueOptions = {}): Promise<Job<P>> {
    await this.ensureQueue(kind);
    const runAt = options.runAt ?? Date.now();
    const maxAttempts = options.maxAttempts ?? this.retry.maxAttempts;
    // Refresh, else create; a create that loses a race to another process refreshes the winner.
    for (let round = 0; round < 5; round++) {
      const id =
        (await this.refresh(kind, key, payload, runAt)) ??
        (await this.boss.send(kind, payload as object, {
          singletonKey: key,
          startAfter: new Date(runAt),
          retryLimit: maxAttempts - 1,
          // Only for a lease that ran out (pg-boss's supervision): our fail() sets its own time.
          retryDelay: Math.max(1, Math.round(this.retry.baseDelayMs / 1000)),
          retryBackoff: true,
          expireInSeconds: Math.max(1, Math.ceil(this.leaseMs / 1000)),
          retentionDays: 36_500,
        }));
      if (id) return (await this.get<P>(id))!;
    }
    throw new CtMuscleError('E_QUEUE_UNREACHABLE', `Could not queue ${kind} ${key}: other processes kept changing its waiting job.`, { retryable: true });
  }

  async get<P = unknown>(id: JobId): Promise<Job<P> | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(String(id))) return undefined;
    const row = await this.row(`${ROW} WHERE id = $1`, [String(id)]);
    return row ? toJob<P>(row) : undefined;
  }

  async claim<P = unknown>(kinds: string[], now?: number, leaseMs = this.leaseMs): Promise<Job<P> | undefined> {
    try {
      const { rows } = await this.query<{ id: string }>(
        `WITH next AS (
           SELECT id, name FROM ${BOSS_SCHEMA}.job j
            WHERE name = ANY($1::text[]) AND state < 'active' AND start_after <= coalesce(to_timestamp($2::float8 / 1000), now())
              AND NOT EXISTS (SELECT 1 FROM ${BOSS_SCHEMA}.job r WHERE r.name = j.name AND r.singleton_key = j.singleton_key AND r.state = 'active')
            ORDER BY start_after, created_on, id LIMIT 1 FOR UPDATE SKIP LOCKED)
         UPDATE ${BOSS_SCHEMA}.job j SET state = 'active', started_on = now(), expire_in = $3::float8 * interval '1 millisecond',
                retry_count = CASE WHEN j.started_on IS NULL THEN j.retry_count ELSE j.retry_count + 1 END
           FROM next WHERE j.name = next.name AND j.id = next.id
         RETURNING j.id::text`,
        [kinds, now ?? null, leaseMs],
      );
      return rows[0] ? this.get<P>(rows[0].id) : undefined;
    } catch (error) {
      // Another process took the key's other waiting job at the same instant: the index said no.
      if (isUniqueViolation(error)) return undefined;
      throw error;
    }
  }

  async renew(ids: JobId[], leaseMs = this.leaseMs): Promise<void> {
    if (ids.length === 0) return;
    await this.query(`UPDATE ${BOSS_SCHEMA}.job SET expire_in = (now() - started_on) + $2::float8 * interval '1 millisecond' WHERE id = ANY($1::uuid[]) AND state = 'active'`, [ids.map(String), leaseMs]);
  }

  async complete(id: JobId, result: unknown = null): Promise<void> {
    const job = await this.get(id);
    if (job?.state !== 'running') return;
    // pg-boss keeps an object result as the job's output (anything else it wraps as { value }).
    if (result === null || result === undefined) await this.boss.complete(job.kind, String(id));
    else await this.boss.complete(job.kind, String(id), result as object);
  }

  async fail(id: JobId, error: { code: string; message: string }, options: FailOptions): Promise<Job> {
    const now = options.now ?? Date.now();
    const job = await this.get(id);
    if (!job) throw new CtMuscleError('E_IO', `No job ${id}.`);
    const decision = retryDecision(job, this.retry, { ...options, now, random: this.random });
    const set = (state: 'retry' | 'failed') =>
      this.query(
        `UPDATE ${BOSS_SCHEMA}.job SET state = $2::pgboss.job_state, output = $3, start_after = coalesce(to_timestamp($4::float8 / 1000), start_after), completed_on = CASE WHEN $2::pgboss.job_state = 'failed' THEN now() END
          WHERE id = $1 AND state = 'active'`,
        [String(id), state, JSON.stringify(error), state === 'retry' && decision.retry ? decision.runAt : null],
      );
    try {
      await set(decision.retry ? 'retry' : 'failed');
    } catch (failure) {
      // A retry of the same key is already waiting (pg-boss allows one): that one runs; this is dead-lettered.
      if (!isUniqueViolation(failure)) throw failure;
      await set('failed');
    }
    return (await this.get(id))!;
  }

  async recover(): Promise<number> {
    const { rows } = await this.query(`SELECT count(*)::int AS n FROM ${BOSS_SCHEMA}.job WHERE state = 'active' AND started_on + expire_in < now()`);
    await this.boss.expire();
    return rows[0].n as number;
  }

  async getState(key: string): Promise<string | undefined> {
    const { rows } = await this.query(`SELECT value FROM ${OUR_SCHEMA}.state WHERE key = $1`, [key]);
    return rows[0]?.value as string | undefined;
  }

  async setState(key: string, value: string): Promise<void> {
    await this.query(`INSERT INTO ${OUR_SCHEMA}.state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [key, value]);
  }

  async active<P = unknown>(kind: string, key: string): Promise<Job<P> | undefined> {
    const row = await this.row(`${ROW} WHERE kind = $1 AND key = $2 AND state IN ('running', 'pending') ORDER BY state = 'running' DESC, created_on DESC LIMIT 1`, [kind, key]);
    return row ? toJob<P>(row) : undefined;
  }

  async lastDone<P = unknown>(kind: string, key: string): Promise<Job<P> | undefined> {
    const row = await this.row(`${ROW} WHERE kind = $1 AND key = $2 AND state = 'done' ORDER BY completed_on DESC LIMIT 1`, [kind, key]);
    return row ? toJob<P>(row) : undefined;
  }

  async list(state?: JobState): Promise<Job[]> {
    const { rows } = await this.query<Row>(`${ROW} ${state ? 'WHERE state = $1' : ''} ORDER BY created_on, id`, state ? [state] : []);
    return rows.map((row) => toJob(row));
  }

  async counts(): Promise<Record<JobState, number>> {
    const out: Record<JobState, number> = { pending: 0, running: 0, done: 0, dead: 0 };
    const { rows } = await this.query(`SELECT state, count(*)::int AS n FROM ${OUR_SCHEMA}.jobs GROUP BY state`);
    for (const row of rows as Array<{ state: JobState; n: number }>) out[row.state] = row.n;
    return out;
  }

  /** The pool, for the review records in the same database. */
  get connection(): pg.Pool {
    return this.pool;
  }
}
