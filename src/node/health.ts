/**
 * /healthz (the process answers; DIMSE associations), /readyz (the node can do its work: queue
 * usable, spool writable with enough free space, the polled PACS answering, the SCP listening) and /metrics (Prometheus). /readyz names
 * every reason it is not ready, and reports the write-back destination's retries without turning
 * not-ready for them: studies still arrive and wait in the queue until the destination is back.
 */
import { access, constants } from 'node:fs/promises';
import type { Express } from 'express';
import type { Config } from '../config.ts';
import { freeBytes } from '../io/durable-file.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { WRITE_BACK } from './jobs.ts';
import type { NodeMetrics } from './metrics.ts';
import type { NodePart } from './part.ts';
import type { PollStatus } from './poller.ts';

export interface HealthOptions {
  app: Express;
  queue: JobQueue;
  config: Pick<Config, 'spoolDir' | 'health' | 'poll'>;
  metrics: NodeMetrics;
  /** The poller's view of the source PACS; absent when the node does not poll. */
  pollStatus?: () => PollStatus;
  /** The DICOM storage SCP, when it runs: reported by /healthz, required listening by /readyz. */
  dimse?: { listening(): boolean; activeAssociations(): number };
}

export interface Readiness {
  ready: boolean;
  reasons: string[];
  checks: Record<string, unknown>;
}

const MB = 1024 * 1024;


async function spoolCheck(options: HealthOptions, reasons: string[]): Promise<Record<string, unknown>> {
  const { spoolDir, health } = options.config;
  try {
    await access(spoolDir, constants.W_OK);
    const free = await freeBytes(spoolDir);
    options.metrics.spoolFreeBytes.set(free);
    if (free < health.minFreeSpoolMb * MB) reasons.push(`spool disk low: ${Math.floor(free / MB)} MB free, below health.minFreeSpoolMb ${health.minFreeSpoolMb} MB`);
    return { writable: true, freeMb: Math.floor(free / MB), minFreeMb: health.minFreeSpoolMb };
  } catch (error) {
    // No message: it names the spool's path, and /readyz is open to anyone who reaches the node.
    void error;
    reasons.push('spool not writable');
    return { writable: false };
  }
}

function pollCheck(options: HealthOptions, reasons: string[]): Record<string, unknown> | undefined {
  if (!options.pollStatus || !options.config.poll.source) return undefined;
  const status = options.pollStatus();
  const limit = options.config.health.pollFailuresNotReady;
  if (status.consecutiveFailures >= limit) {
    const last = status.lastError ? ` (${status.lastError.code}: ${status.lastError.message})` : '';
    reasons.push(`polled PACS unavailable: the last ${status.consecutiveFailures} polls failed${last}`);
  }
  return { url: options.config.poll.source.url, ...status };
}

/** Write-back jobs waiting for a retry after a failure: the destination is (or was) down. */
async function writeBackCheck(queue: JobQueue): Promise<Record<string, unknown>> {
  const retrying = (await queue.list('pending')).filter((job) => job.kind === WRITE_BACK && job.lastErrorCode);
  const dead = (await queue.counts()).dead;
  return { retrying: retrying.length, lastError: retrying.at(-1)?.lastErrorCode ?? null, deadJobs: dead };
}

export async function readiness(options: HealthOptions): Promise<Readiness> {
  const reasons: string[] = [];
  const checks: Record<string, unknown> = {};
  try {
    checks.queue = await options.queue.counts();
    checks.writeBack = await writeBackCheck(options.queue);
  } catch (error) {
    void error;
    reasons.push('queue database unusable');
  }
  checks.spool = await spoolCheck(options, reasons);
  const poll = pollCheck(options, reasons);
  if (poll) checks.poll = poll;
  if (options.dimse) {
    checks.dimse = { listening: options.dimse.listening(), activeAssociations: options.dimse.activeAssociations() };
    if (!options.dimse.listening()) reasons.push('the DICOM storage SCP is not listening');
  }
  const ready = reasons.length === 0;
  options.metrics.ready.set(ready ? 1 : 0);
  return { ready, reasons, checks };
}

export function createHealth(options: HealthOptions): NodePart {
  const { app, metrics } = options;
  app.get('/healthz', (_req, res) => {
    const { dimse } = options;
    res.json({ status: 'ok', ...(dimse ? { dimse: { listening: dimse.listening(), activeAssociations: dimse.activeAssociations() } } : {}) });
  });
  app.get('/readyz', async (_req, res) => {
    const { ready, reasons, checks } = await readiness(options);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', reasons, checks });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return { name: 'health', start: async () => {}, stop: async () => {} };
}
