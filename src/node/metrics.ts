/** Prometheus metrics of the node (prom-client): jobs by state, stage durations, STOW results, ONNX sessions by provider. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobQueue } from '../queue/job-queue.ts';
import { sessionStats } from '../segment/onnx-session.ts';

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
  registerModelMetrics(registry);
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

/**
 * The ONNX sessions are process-wide (created once per model), so these are read from the session
 * cache at scrape time: how many sessions run on each provider, and how often a preferred provider
 * was skipped and why (e.g. webgpu/no-adapter: the GPU is not used).
 */
export function registerModelMetrics(registry: Registry): void {
  new Gauge({
    name: 'ctmn_model_sessions',
    help: 'Open ONNX Runtime sessions by model and the execution provider they run on.',
    labelNames: ['model', 'provider'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { model, provider } of sessionStats().sessions) this.inc({ model, provider });
    },
  });
  new Counter({
    name: 'ctmn_model_provider_fallbacks_total',
    help: 'Preferred ONNX execution providers that could not start, by model, provider and reason.',
    labelNames: ['model', 'provider', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { model, provider, reason, count } of sessionStats().skipped) this.inc({ model, provider, reason }, count);
    },
  });
}
