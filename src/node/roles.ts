/**
 * The roles a node process can run (`serve --role`): `all` (one process does everything, as a
 * department's single node always has), `intake` (receives, spools, assembles studies, polls,
 * queues the analyze jobs; also the review page and retention) and `worker` (runs the analyze and
 * write-back jobs). Intakes and workers share the queue database and the spool (docs/deploy.md).
 *
 * Start-up checks for a split deployment: the queue must be one every process can safely share,
 * and the spool a worker reads must be the one the intake writes.
 */
import { dirname, resolve } from 'node:path';
import type { Config } from '../config.ts';
import { CtMuscleError } from '../errors.ts';
import { spoolIdentity } from '../intake/spool.ts';
import { networkFileSystemOf } from '../io/file-system.ts';
import type { JobQueue } from '../queue/job-queue.ts';

export const NODE_ROLES = ['all', 'intake', 'worker'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

export function isNodeRole(value: string): value is NodeRole {
  return (NODE_ROLES as readonly string[]).includes(value);
}

/** Key of the spool's identity in the queue's state table. */
export const SPOOL_ID = 'spool.id';

/**
 * A split deployment on the SQLite queue is several processes on ONE machine sharing one database
 * file (WAL, a busy wait, leases): safe there. The same file on network storage is not (SQLite's
 * locks and WAL shared memory do not reach across machines: two workers could take one job, or
 * the database could be corrupted), so that is refused; several machines need queue on PostgreSQL.
 */
export async function checkQueueForRole(config: Config, role: NodeRole): Promise<void> {
  if (role === 'all' || config.queue.backend !== 'sqlite') return;
  const folder = dirname(resolve(config.queue.path));
  const network = await networkFileSystemOf(folder).catch(() => null);
  if (network) {
    throw new CtMuscleError(
      'E_CONFIG_INVALID',
      `serve --role ${role}: the SQLite queue (queue.path) is on a network file system (${network}); SQLite cannot be shared across machines. Put queue.path on a local disk (intake and workers on one machine) or use the PostgreSQL queue for several machines (docs/deploy.md).`,
    );
  }
}

/**
 * The spool this process sees must be the deployment's: its identity file must match the one
 * recorded in the queue database by the first process that started (recorded here when none is).
 */
export async function checkSharedSpool(config: Config, queue: JobQueue, role: NodeRole): Promise<void> {
  if (role === 'all') return;
  const id = await spoolIdentity(config.spoolDir);
  const recorded = await queue.getState(SPOOL_ID);
  if (recorded === undefined) {
    await queue.setState(SPOOL_ID, id);
    return;
  }
  if (recorded !== id) {
    throw new CtMuscleError(
      'E_CONFIG_INVALID',
      `serve --role ${role}: the spool at ${config.spoolDir} is not the one the other processes of this node use (its identity file differs from the queue's record). Mount the shared spool at spoolDir on every machine (docs/deploy.md).`,
    );
  }
}
