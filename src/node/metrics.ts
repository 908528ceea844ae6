/**
 * Prometheus metrics of the node (prom-client): jobs by state, study outcomes, per-stage
 * durations, STOW requests, DIMSE associations and C-STOREs, polls, write-back per destination, retention and disk space,
 * slices put on the working grid while studies arrive (and used by the analysis), ONNX
 * sessions by execution provider.
 * Names are a public contract (docs/deploy.md, docs/prometheus-alerts.yml, docs/grafana-dashboard.json).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ScpMetrics } from '../dimse/storage-scp.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import type { PipelineObserver } from '../pipeline/index.ts';
import { sessionStats } from '../segment/onnx-session.ts';

export interface NodeMetrics {
  registry: Registry;
  stageSeconds: Histogram<'stage'>;
  stowRequests: Counter<'status'>;
  /** Write-back attempts by destination (URL, or "local") and outcome. */
  writeBacks: Counter<'destination' | 'outcome'>;
  /** Studies by outcome (measured / not-measured / failed) and status code. */
  studies: Counter<'outcome' | 'code'>;
  polls: Counter<'result'>;
  pollStudies: Counter<'what'>;
  pollInstances: Counter;
  retentionRuns: Counter<'result'>;
  retentionDeleted: Counter<'what'>;
  retentionBytes: Counter<'what'>;
  /** 1 when /readyz answers ready, else 0 (set on each readiness check). */
  ready: Gauge;
  /** Free bytes on the spool's file system (set on each readiness check and retention run). */
  spoolFreeBytes: Gauge;
  /** Instances put on the working grid while arriving, by outcome (made, kept, skipped, failed, dropped). */
  gridSlicesMade: Counter<'outcome'>;
  /** The analysis' look-ups of those slices, by outcome (used, absent, stale, corrupt). */
  gridSlicesLookedUp: Counter<'outcome'>;
  knownHeadersLookedUp: Counter<'outcome'>;
  /** The DICOM storage SCP: associations by outcome, open associations, C-STORE answers by status. */
  dimse: ScpMetrics;
}

export type PollMetrics = Pick<NodeMetrics, 'polls' | 'pollStudies' | 'pollInstances'>;
export type RetentionMetrics = Pick<NodeMetrics, 'retentionRuns' | 'retentionDeleted' | 'retentionBytes' | 'spoolFreeBytes'>;

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[] = []): Counter<L> {
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function jobsGauge(registry: Registry, queue: JobQueue): void {
  new Gauge({
    name: 'ctmn_jobs',
    help: 'Jobs in the queue by state.',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      for (const [state, count] of Object.entries(await queue.counts())) this.set({ state }, count);
    },
  });
}

export function createMetrics(queue: JobQueue): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'ctmn_' });
  jobsGauge(registry, queue);
  registerModelMetrics(registry);
  return {
    registry,
    stageSeconds: new Histogram({ name: 'ctmn_stage_duration_seconds', help: 'Duration of pipeline stages (and "analyze": a whole analysis).', labelNames: ['stage'], buckets: DURATION_BUCKETS, registers: [registry] }),
    stowRequests: counter(registry, 'ctmn_stow_requests_total', 'STOW-RS requests received, by HTTP status.', ['status']),
    writeBacks: counter(registry, 'ctmn_write_backs_total', 'Write-back attempts by destination and outcome (stored, retry, rejected, local).', ['destination', 'outcome']),
    studies: counter(registry, 'ctmn_studies_total', 'Analysed studies by outcome (measured, not-measured, failed) and status code.', ['outcome', 'code']),
    polls: counter(registry, 'ctmn_polls_total', 'Polls of the source PACS by result (ok, failed).', ['result']),
    pollStudies: counter(registry, 'ctmn_poll_studies_total', 'Studies seen by polls: found, fetched, skipped, failed.', ['what']),
    pollInstances: counter(registry, 'ctmn_poll_instances_retrieved_total', 'Instances retrieved by polls (WADO-RS).'),
    retentionRuns: counter(registry, 'ctmn_retention_runs_total', 'Retention passes by result (ok, failed).', ['result']),
    retentionDeleted: counter(registry, 'ctmn_retention_deleted_total', 'Study folders deleted by retention: spool (received instances), results (outputs).', ['what']),
    retentionBytes: counter(registry, 'ctmn_retention_freed_bytes_total', 'Bytes freed by retention: spool, results.', ['what']),
    ready: new Gauge({ name: 'ctmn_ready', help: '1 when /readyz last answered ready, else 0.', registers: [registry] }),
    spoolFreeBytes: new Gauge({ name: 'ctmn_spool_free_bytes', help: 'Free bytes on the spool file system (last readiness check or retention pass).', registers: [registry] }),
    gridSlicesMade: counter(registry, 'ctmn_arrival_grid_slices_total', 'Instances put on the working grid while the study arrived, by outcome (made, kept, skipped, failed, dropped).', ['outcome']),
    gridSlicesLookedUp: counter(registry, 'ctmn_precomputed_slices_total', 'Slices the analysis looked up on the working grid, by outcome (used; absent, stale, corrupt: decoded instead).', ['outcome']),
    knownHeadersLookedUp: counter(registry, 'ctmn_known_headers_total', 'Headers the analysis took from the intake instead of parsing the file again (used), or could not (changed: the file is no longer the one the intake wrote).', ['outcome']),
    dimse: {
      associations: counter(registry, 'ctmn_dimse_associations_total', 'DICOM associations requested, by outcome (accepted, rejected-<reason>).', ['outcome']),
      activeAssociations: new Gauge({ name: 'ctmn_dimse_active_associations', help: 'DICOM associations open now.', registers: [registry] }),
      instances: counter(registry, 'ctmn_dimse_instances_total', 'C-STORE requests answered, by status.', ['status']),
    },
  };
}

/** The pipeline observer that times every stage into ctmn_stage_duration_seconds. */
export function stageTimer(metrics: NodeMetrics, next?: PipelineObserver): PipelineObserver {
  return (event) => {
    metrics.stageSeconds.observe({ stage: event.stage }, event.ms / 1000);
    next?.(event);
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
