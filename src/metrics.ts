/** Prometheus metrics of the node (prom-client): jobs by state, stage durations, STOW results. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobQueue } from './queue/job-queue.ts';

export interface NodeMetrics {
  registry: Registry;
  stageSeconds: Histogram<'stage'>;
  stowRequests: Counter<'status'>;
  writeBacks: Counter<'outcome'>;
}

export function createMetrics(queue: JobQueue): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ctmn_' });
  new Gauge({
    name: 'ctmn_jobs',
    help: 'Jobs in the queue by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      for (const [state, count] of Object.entries(queue.counts())) this.set({ state }, count);
    },
  });
  return {
    registry,
    stageSeconds: new Histogram({
      name: 'ctmn_stage_duration_seconds',
      help: 'Duration of pipeline stages.',
      labelNames: ['stage'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    stowRequests: new Counter({ name: 'ctmn_stow_requests_total', help: 'STOW-RS requests received, by HTTP status.', labelNames: ['status'], registers: [registry] }),
    writeBacks: new Counter({ name: 'ctmn_write_backs_total', help: 'Write-back attempts by outcome.', labelNames: ['outcome'], registers: [registry] }),
  };
}
