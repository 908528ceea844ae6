/** /healthz (the process answers), /readyz (queue and spool usable) and /metrics (Prometheus). */
import { access, constants } from 'node:fs/promises';
import type { Express } from 'express';
import type { JobQueue } from '../queue/job-queue.ts';
import type { NodeMetrics } from './metrics.ts';
import type { NodePart } from './part.ts';

export interface HealthOptions {
  app: Express;
  queue: JobQueue;
  spoolDir: string;
  metrics: NodeMetrics;
}

export function createHealth({ app, queue, spoolDir, metrics }: HealthOptions): NodePart {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      queue.counts();
      await access(spoolDir, constants.W_OK);
      res.json({ status: 'ready' });
    } catch (error) {
      res.status(503).json({ status: 'not ready', message: (error as Error).message });
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return { name: 'health', start: async () => {}, stop: async () => {} };
}
