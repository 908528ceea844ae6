/**
 * Our tables beside pg-boss's schema (pgboss) in the same database: the small durable state
 * (poller watermark, DIMSE senders, assembly heartbeat), the review records, and a view that reads
 * pg-boss's jobs (live and archived) in the node's terms. Versioned: a database migrated by a newer
 * version of the node is refused (E_QUEUE_SCHEMA) rather than used half-understood.
 */
import type pg from 'pg';
import { CtMuscleError } from '../errors.ts';

/** pg-boss's own schema name and the schema version of the pg-boss release we ship (10.x: 24). */
export const BOSS_SCHEMA = 'pgboss';
export const BOSS_SCHEMA_VERSION = 24;
export const OUR_SCHEMA = 'ctmn';
export const OUR_SCHEMA_VERSION = 1;

/** One job row in the node's terms, from pg-boss's job and archive tables. */
const JOB_COLUMNS = `id::text AS id, name AS kind, singleton_key AS key, data AS payload,
    CASE WHEN state IN ('created', 'retry') THEN 'pending' WHEN state = 'active' THEN 'running' WHEN state = 'completed' THEN 'done' ELSE 'dead' END AS state,
    state::text AS boss_state,
    retry_count + CASE WHEN started_on IS NULL THEN 0 ELSE 1 END AS attempts,
    retry_limit + 1 AS max_attempts,
    start_after, started_on, expire_in, created_on, completed_on, output`;

const MIGRATIONS: string[] = [
  `CREATE TABLE IF NOT EXISTS ${OUR_SCHEMA}.state (key text PRIMARY KEY, value text NOT NULL);
   CREATE TABLE IF NOT EXISTS ${OUR_SCHEMA}.reviews (
     id bigserial PRIMARY KEY,
     study_instance_uid text NOT NULL,
     action text NOT NULL CHECK (action IN ('accept', 'reject', 'choose-slice', 'correct')),
     who text NOT NULL,
     authenticated_as text NOT NULL,
     at bigint NOT NULL,
     detail jsonb NOT NULL
   );
   CREATE INDEX IF NOT EXISTS reviews_study ON ${OUR_SCHEMA}.reviews (study_instance_uid, id);
   CREATE OR REPLACE VIEW ${OUR_SCHEMA}.jobs AS
     SELECT ${JOB_COLUMNS} FROM ${BOSS_SCHEMA}.job
     UNION ALL
     SELECT ${JOB_COLUMNS} FROM ${BOSS_SCHEMA}.archive;`,
];

async function versionOf(pool: pg.Pool, table: string): Promise<number | null> {
  const exists = await pool.query('SELECT to_regclass($1) AS name', [table]);
  if (!exists.rows[0].name) return null;
  const { rows } = await pool.query(`SELECT max(version) AS version FROM ${table}`);
  return rows[0].version === null ? null : Number(rows[0].version);
}

/** Refuse a database that a newer release (of pg-boss or of the node) has migrated. */
export async function checkSchemaVersions(pool: pg.Pool): Promise<void> {
  const boss = await versionOf(pool, `${BOSS_SCHEMA}.version`);
  if (boss !== null && boss > BOSS_SCHEMA_VERSION) {
    throw new CtMuscleError('E_QUEUE_SCHEMA', `The queue database's pg-boss schema is version ${boss}; this node knows up to ${BOSS_SCHEMA_VERSION}: it was migrated by a newer version of the node. Run that version, or restore the database.`);
  }
  const ours = await versionOf(pool, `${OUR_SCHEMA}.schema_version`);
  if (ours !== null && ours > OUR_SCHEMA_VERSION) {
    throw new CtMuscleError('E_QUEUE_SCHEMA', `The queue database's ${OUR_SCHEMA} schema is version ${ours}; this node knows up to ${OUR_SCHEMA_VERSION}: it was migrated by a newer version of the node.`);
  }
}

/** Create or bring our schema up to date (after pg-boss's, whose tables the view reads); one process at a time. */
export async function migrateOurSchema(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('ct-muscle-node schema'))");
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${OUR_SCHEMA}; CREATE TABLE IF NOT EXISTS ${OUR_SCHEMA}.schema_version (version int PRIMARY KEY, migrated_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query(`SELECT coalesce(max(version), 0) AS version FROM ${OUR_SCHEMA}.schema_version`);
    for (let version = Number(rows[0].version) + 1; version <= MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version - 1]);
      await client.query(`INSERT INTO ${OUR_SCHEMA}.schema_version (version) VALUES ($1)`, [version]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
