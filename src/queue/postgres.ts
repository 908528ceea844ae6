/**
 * The PostgreSQL connection of the node (queue.backend "postgres"): one pool per process, shared by
 * pg-boss, the state table and the review records. The password never reaches a log or an error:
 * it comes from the environment (CT_MUSCLE_QUEUE_URL, or PGPASSWORD which `pg` reads itself) and
 * every URL is shown redacted. A pool error (the server restarted, a connection dropped) is logged
 * and never crashes the process: the next query opens a fresh connection.
 */
import pg from 'pg';
import { CtMuscleError } from '../errors.ts';
import { errorLogFields, logger } from '../logging.ts';
import { redactIn, redactUrl } from './queue-url.ts';


/** E_QUEUE_UNREACHABLE naming the (redacted) database and why, for a failed connection or query. */
export function unreachable(error: unknown, url: string): CtMuscleError {
  const why = redactIn((error as Error).message ?? String(error), url);
  return new CtMuscleError('E_QUEUE_UNREACHABLE', `Cannot use the queue database ${redactUrl(url)}: ${why}`, { retryable: true });
}

/**
 * A lost or refused connection (no SQLSTATE, or class 08 connection, 57 operator intervention such
 * as a restart, 53 insufficient resources) as E_QUEUE_UNREACHABLE (retryable, password-free);
 * any other database error (a constraint, a bug) as it is.
 */
export function asQueueError(error: unknown, url: string): unknown {
  const code = (error as { code?: unknown }).code;
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
  return sqlState === null || /^(08|57|53)/.test(sqlState) ? unreachable(error, url) : error;
}

/** pool.query with asQueueError applied to what it throws. */
export async function query<R extends pg.QueryResultRow>(pool: pg.Pool, url: string, sql: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
  try {
    return await pool.query<R>(sql, values);
  } catch (error) {
    throw asQueueError(error, url);
  }
}

export function createPool(url: string, options: { size: number; name: string }): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: options.size, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000, application_name: options.name });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it would end the process.
  pool.on('error', (error) => logger.warn('queue database connection lost; the next query reconnects', errorLogFields(unreachable(error, url))));
  return pool;
}

/** Connect once and say plainly when the database cannot be reached (start-up check). */
export async function checkReachable(pool: pg.Pool, url: string): Promise<void> {
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    throw unreachable(error, url);
  }
}
