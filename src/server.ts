/**
 * The node as one process: the STOW-RS receiver, study assembly, the durable queue and its
 * workers, write-back, and /healthz, /readyz, /metrics. `startNode` is what `serve` and the demo
 * run; everything it starts is stopped by `stop()` (SIGTERM in `serve`).
 */
import { access, constants, mkdir, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import cron from 'node-cron';
import type { Config } from './config.ts';
import { stowInstances } from './dicomweb/stow-client.ts';
import { stowRouter } from './dicomweb/stow-receiver.ts';
import type { InstanceHeader, SeriesSummary } from './dicom/types.ts';
import { CtMuscleError, describeError, isCtMuscleError } from './errors.ts';
import { pollOnce, type PollReport } from './node/poller.ts';
import { countSpooled } from './intake/spool.ts';
import { logger } from './logging.ts';
import type { LevelInfo, OutputFile, StudyOutputs, StudyResult } from './model/index.ts';
import { analyzeStudy as runPipeline, scanInputs, type PipelineObserver, type Stages } from './pipeline/index.ts';
import { JobQueue, type Job } from './queue/job-queue.ts';
import { startWorkers, type Workers } from './queue/workers.ts';
import { createMetrics } from './metrics.ts';

export const ANALYZE_STUDY = 'analyze-study';
export const WRITE_BACK = 'write-back';

export interface AnalyzeStudyPayload {
  studyInstanceUid: string;
  /** Instances of the study on disk when the job was (re)scheduled: the completeness re-check. */
  instanceCount: number;
  /** A slice chosen by a person (`ct-muscle-node requeue --slice`): measured as is, no level finding. */
  sliceSopInstanceUid?: string;
}

export interface WriteBackPayload {
  studyInstanceUid: string;
  files: Array<{ path: string; sopInstanceUid: string }>;
}

export interface AnalyzeStudyResult {
  status: string;
  message: string;
  seriesInstanceUid: string | null;
  selectedInstanceCount: number | null;
  outcome: 'measured' | 'not-measured' | 'unchanged' | 'deferred';
  /** What was measured where (the level without its evidence, which result.json keeps). */
  level?: LevelInfo | null;
  muscle?: StudyResult['muscle'];
  segmenter?: StudyResult['segmenter'];
  flags?: string[];
  verdict?: StudyResult['verdict'];
  outputs?: StudyOutputs;
}

export interface RunningNode {
  url: string;
  queue: JobQueue;
  /** Poll the configured source now (also what the cron schedule runs); null when none is configured. */
  pollNow(): Promise<PollReport | null>;
  /** Resolves when no job is running or due. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** The job row keeps the level without its evidence (result.json has it). */
function withoutEvidence(level: LevelInfo | null): LevelInfo | null {
  if (!level || level.name === 'as-provided') return level;
  return { ...level, evidence: undefined };
}

/**
 * Statuses that say the node (not the study) failed: the job fails (retried, then dead-lettered
 * with the reason) instead of recording a result, so fixing the node's models or disk lets the
 * study be measured rather than leaving it marked "not measurable".
 */
const NODE_FAILURES = new Set(['E_STAGE_UNAVAILABLE', 'E_INTERNAL', 'E_IO', 'E_MODEL_MANIFEST', 'E_MODEL_FILE', 'E_MODEL_LOAD', 'E_MODEL_FORMAT']);

/** Only CT images that the node did not write itself start a job: SEG/SR pushed back must not loop. */
function startsWork(header: InstanceHeader, ownManufacturer: string): boolean {
  const own = (header.manufacturer ?? '').toLowerCase().startsWith(ownManufacturer.toLowerCase());
  return header.modality === 'CT' && header.hasPixelData && !own;
}

/**
 * Queue a study in the spool for (re)analysis, optionally on a slice a person chose; the running
 * node's workers pick it up from the shared queue database. E_STUDY_NOT_FOUND when the spool
 * holds no instance of it.
 */
export async function requeueStudy(config: Config, studyInstanceUid: string, sliceSopInstanceUid?: string): Promise<Job<AnalyzeStudyPayload>> {
  const instanceCount = await countSpooled(config.spoolDir, studyInstanceUid);
  if (instanceCount === 0) throw new CtMuscleError('E_STUDY_NOT_FOUND', `No instance of study ${studyInstanceUid} is in the spool (${config.spoolDir}).`);
  const queue = new JobQueue(config.queue.path);
  try {
    return queue.enqueue<AnalyzeStudyPayload>(ANALYZE_STUDY, studyInstanceUid, { studyInstanceUid, instanceCount, ...(sliceSopInstanceUid ? { sliceSopInstanceUid } : {}) });
  } finally {
    queue.close();
  }
}

export async function startNode(config: Config, options: { stages?: Stages; observer?: PipelineObserver } = {}): Promise<RunningNode> {
  const { stages, observer } = options;
  await mkdir(config.spoolDir, { recursive: true });
  await mkdir(config.output.dir, { recursive: true });
  const queue = new JobQueue(config.queue.path, {
    retry: { maxAttempts: config.queue.maxAttempts, baseDelayMs: config.queue.baseDelayMs, maxDelayMs: config.queue.maxDelayMs },
  });
  // One process owns the database: whatever it left running when it died starts again.
  const recovered = queue.recover(Date.now(), { all: true });
  if (recovered > 0) logger.warn('recovered interrupted jobs', { count: recovered });
  const metrics = createMetrics(queue);
  const quietMs = config.assembly.quietPeriodSeconds * 1000;

  const onStored = (instances: Array<{ header: InstanceHeader }>) => {
    const studies = new Set(instances.filter((i) => startsWork(i.header, config.selection.ownManufacturer)).map((i) => i.header.studyInstanceUid));
    return Promise.all(
      [...studies].map(async (studyInstanceUid) => {
        const instanceCount = await countSpooled(config.spoolDir, studyInstanceUid);
        queue.enqueue<AnalyzeStudyPayload>(ANALYZE_STUDY, studyInstanceUid, { studyInstanceUid, instanceCount }, { runAt: Date.now() + quietMs });
      }),
    ).then(() => undefined);
  };

  async function analyzeStudy(job: Job): Promise<AnalyzeStudyResult> {
    const payload = job.payload as AnalyzeStudyPayload;
    const directory = join(config.spoolDir, payload.studyInstanceUid);
    const { headers } = await scanInputs([directory]);
    if (headers.length !== payload.instanceCount) {
      // Instances arrived (or vanished) since the quiet period started: wait for quiet again.
      queue.enqueue<AnalyzeStudyPayload>(ANALYZE_STUDY, `${payload.studyInstanceUid}`, { ...payload, instanceCount: headers.length }, { runAt: Date.now() + quietMs });
      return { status: 'ok', message: `instance count changed (${payload.instanceCount} → ${headers.length}); rescheduled`, seriesInstanceUid: null, selectedInstanceCount: null, outcome: 'deferred' };
    }
    const previous = queue.lastDone<AnalyzeStudyPayload>(ANALYZE_STUDY, payload.studyInstanceUid)?.result as AnalyzeStudyResult | undefined;
    // A re-run whose chosen series is the one already measured, with the same instances, is skipped.
    const changed = (selected: SeriesSummary) =>
      payload.sliceSopInstanceUid !== undefined ||
      previous?.outcome !== 'measured' ||
      previous.seriesInstanceUid !== selected.seriesInstanceUid ||
      previous.selectedInstanceCount !== selected.instanceCount;
    const started = Date.now();
    const { result, selected, declined } = await runPipeline(headers, { config, stages, observer, proceed: changed, outDir: config.output.dir, overlay: config.output.overlay, sliceSopInstanceUid: payload.sliceSopInstanceUid });
    if (declined) return { ...previous!, outcome: 'unchanged', message: 'late instances did not change the selected series' };
    metrics.stageSeconds.observe({ stage: 'analyze' }, (Date.now() - started) / 1000);
    if (NODE_FAILURES.has(result.status)) throw new CtMuscleError(result.status as 'E_STAGE_UNAVAILABLE', result.message);
    const { seg, sr, overlay } = result.outputs;
    const files = [seg, sr, overlay].filter((f): f is OutputFile => f !== undefined);
    if (result.status === 'ok' && files.length > 0) {
      queue.enqueue<WriteBackPayload>(WRITE_BACK, payload.studyInstanceUid, { studyInstanceUid: payload.studyInstanceUid, files: files.map((f) => ({ path: f.path, sopInstanceUid: f.sopInstanceUid })) });
    }
    return {
      status: result.status,
      message: result.message,
      seriesInstanceUid: result.seriesInstanceUid,
      selectedInstanceCount: selected?.instanceCount ?? null,
      outcome: result.status === 'ok' ? 'measured' : 'not-measured',
      level: withoutEvidence(result.level),
      muscle: result.muscle,
      segmenter: result.segmenter,
      flags: result.flags,
      verdict: result.verdict,
      outputs: result.outputs,
    };
  }

  // Results go where configured, else back to the PACS the node polls, else to the local folder.
  const destination = config.writeBack.destination ?? config.poll.source;

  async function writeBack(job: Job): Promise<unknown> {
    const payload = job.payload as WriteBackPayload;
    if (!destination) {
      metrics.writeBacks.inc({ outcome: 'local' });
      return { destination: 'local', directory: join(config.output.dir, payload.studyInstanceUid) };
    }
    const instances = await Promise.all(payload.files.map(async (f) => ({ sopInstanceUid: f.sopInstanceUid, bytes: new Uint8Array(await readFile(f.path)) })));
    try {
      const outcome = await stowInstances({ url: destination.url, credentials: { bearerToken: destination.bearerToken, basic: destination.basic } }, instances, payload.studyInstanceUid);
      metrics.writeBacks.inc({ outcome: 'stored' });
      return { destination: destination.url, stored: outcome.stored };
    } catch (error) {
      metrics.writeBacks.inc({ outcome: isCtMuscleError(error) && error.details?.retryable ? 'retry' : 'rejected' });
      throw error;
    }
  }

  const workers: Workers = startWorkers(
    queue,
    { [ANALYZE_STUDY]: analyzeStudy, [WRITE_BACK]: writeBack },
    {
      concurrency: config.queue.concurrency,
      pollIntervalMs: 500,
      isRetryable: (error) => isCtMuscleError(error) && (error.details?.retryable === true || error.code === 'E_IO'),
      deadlineOf: (job) => (job.kind === WRITE_BACK ? job.createdAt + config.writeBack.deadlineHours * 3_600_000 : undefined),
      onSettled: (job, outcome, ms) => logger.info('job settled', { id: job.id, kind: job.kind, outcome, ms }),
    },
  );

  const app = express();
  app.disable('x-powered-by');
  app.use('/dicomweb', (req, res, next) => {
    res.on('finish', () => metrics.stowRequests.inc({ status: String(res.statusCode) }));
    next();
  });
  app.use(
    stowRouter({
      spoolDir: config.spoolDir,
      maxInstanceBytes: config.server.maxInstanceMb * 1024 * 1024,
      maxRequestBytes: config.server.maxRequestMb * 1024 * 1024,
      maxParts: config.server.maxParts,
      credentials: config.server.credentials,
      publicBaseUrl: config.server.publicBaseUrl ?? undefined,
      onStored,
    }),
  );
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      queue.counts();
      await access(config.spoolDir, constants.W_OK);
      res.json({ status: 'ready' });
    } catch (error) {
      res.status(503).json({ status: 'not ready', message: (error as Error).message });
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  let polling: Promise<PollReport | null> | undefined;
  const pollNow = (): Promise<PollReport | null> => {
    const source = config.poll.source;
    if (!source) return Promise.resolve(null);
    // One poll at a time: a slow PACS must not pile up overlapping polls.
    polling ??= pollOnce({
      settings: { ...config.poll, source, maxInstanceBytes: config.server.maxInstanceMb * 1024 * 1024 },
      queue,
      spoolDir: config.spoolDir,
      selection: config.selection,
      onStudyReady: (studyInstanceUid, instanceCount) => {
        queue.enqueue<AnalyzeStudyPayload>(ANALYZE_STUDY, studyInstanceUid, { studyInstanceUid, instanceCount });
      },
    })
      .catch((error: unknown) => {
        logger.error('poll failed', describeError(error));
        return null;
      })
      .finally(() => {
        polling = undefined;
      });
    return polling;
  };
  const schedule = config.poll.source ? cron.schedule(config.poll.cron, () => void pollNow()) : undefined;

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.server.port, config.server.host, () => resolve(s));
    s.once('error', (error) => reject(new CtMuscleError('E_IO', `Cannot listen on ${config.server.host}:${config.server.port}: ${error.message}`)));
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info('node listening', { url, writeBack: destination ? 'dicomweb' : 'local folder', polling: config.poll.source ? config.poll.cron : 'off' });

  let stopping: Promise<void> | undefined;
  return {
    url,
    queue,
    pollNow,
    idle: () => workers.idle(),
    stop() {
      stopping ??= (async () => {
        await schedule?.stop();
        await polling;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive connections would hold close() open until they time out.
        server.closeIdleConnections();
        await closed;
        await workers.stop();
        queue.close();
        logger.info('node stopped');
      })();
      return stopping;
    },
  };
}
