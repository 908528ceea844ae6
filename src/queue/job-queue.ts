/**
 * The durable job queue as every part of the node uses it: an interface with two engines behind
 * it, the embedded SQLite file (default, one process: sqlite-queue.ts) and PostgreSQL through
 * pg-boss (several processes on several machines: postgres-queue.ts). Both keep the same rules:
 *
 * - States: pending → running → done | pending (retry after backoff) | dead (code and reason kept).
 * - One waiting job per kind and key (a StudyInstanceUID): enqueueing again refreshes its payload
 *   and run time (a study that keeps receiving instances is processed once, after it goes quiet).
 * - A running job may have one waiting follow-up; two jobs of one key never run at once.
 * - A claimed job holds a lease that its worker renews; a job whose lease ran out (its worker
 *   died) goes back to pending and any worker takes it. Outputs are idempotent (deterministic
 *   UIDs), so a job run twice after a crash writes nothing twice.
 */
export const JOB_STATES = ['pending', 'running', 'done', 'dead'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** SQLite numbers its jobs, pg-boss gives them UUIDs: treat an id as opaque. */
export type JobId = number | string;

export interface Job<P = unknown> {
  id: JobId;
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

/** How long a claimed job stays a worker's without a renewal, unless configured (queue.leaseSeconds). */
export const DEFAULT_LEASE_MS = 60_000;

/** Exponential backoff with full jitter: spreads retries of many jobs after a PACS outage. */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Whether a failed attempt is tried again, and when (the same decision on both engines). */
export function retryDecision(
  job: Pick<Job, 'attempts' | 'maxAttempts'>,
  policy: RetryPolicy,
  options: { retryable: boolean; deadline?: number; now: number; random: () => number },
): { retry: true; runAt: number } | { retry: false } {
  const delay = backoffDelayMs(job.attempts, policy, options.random);
  const pastDeadline = options.deadline !== undefined && options.now + delay > options.deadline;
  return options.retryable && job.attempts < job.maxAttempts && !pastDeadline ? { retry: true, runAt: options.now + delay } : { retry: false };
}

export interface EnqueueOptions {
  runAt?: number;
  maxAttempts?: number;
}

export interface FailOptions {
  retryable: boolean;
  deadline?: number;
  now?: number;
}

export interface QueueOptions {
  retry?: Partial<RetryPolicy>;
  random?: () => number;
  /** Lease of a claimed job (ms) unless claim() names one. */
  leaseMs?: number;
}

export interface JobQueue {
  readonly backend: 'sqlite' | 'postgres';
  /** Add a job, or refresh the waiting one of the same kind and key (new payload, new run time). */
  enqueue<P>(kind: string, key: string, payload: P, options?: EnqueueOptions): Promise<Job<P>>;
  get<P = unknown>(id: JobId): Promise<Job<P> | undefined>;
  /** Take the next due pending job (oldest first) whose key has none running; mark it running with a lease. */
  claim<P = unknown>(kinds: string[], now?: number, leaseMs?: number): Promise<Job<P> | undefined>;
  /** Extend the leases of jobs this process is running (the workers' heartbeat). */
  renew(ids: JobId[], leaseMs?: number): Promise<void>;
  complete(id: JobId, result?: unknown): Promise<void>;
  /**
   * Record a failure. Retryable failures go back to pending after a backoff until maxAttempts
   * (or the deadline) is spent; anything else, or the last attempt, is dead-lettered with its reason.
   */
  fail(id: JobId, error: { code: string; message: string }, options: FailOptions): Promise<Job>;
  /**
   * Running jobs whose lease ran out go back to pending (their worker died). SQLite also takes back
   * at once the jobs of a dead process on this machine (a restarted node resumes its own work);
   * a live lease held by another process is never taken.
   */
  recover(now?: number): Promise<number>;
  getState(key: string): Promise<string | undefined>;
  setState(key: string, value: string): Promise<void>;
  /** The pending or running job of a kind and key (the running one first), if any. */
  active<P = unknown>(kind: string, key: string): Promise<Job<P> | undefined>;
  /** The most recently finished job of a kind and key, to tell whether new data changes anything. */
  lastDone<P = unknown>(kind: string, key: string): Promise<Job<P> | undefined>;
  list(state?: JobState): Promise<Job[]>;
  counts(): Promise<Record<JobState, number>>;
  close(): Promise<void>;
}
