/**
 * The node as one process, composed of parts (src/node/): the HTTP listener with the STOW-RS
 * intake, health/metrics and the status/review page, the DICOM storage SCP (when enabled), study
 * assembly, the worker pool running the analyze and write-back jobs, and the poller. This file only makes the parts, passing each its
 * dependencies, and starts them in order; `stop()` stops them in reverse (SIGTERM in `serve`).
 */
import { mkdir } from 'node:fs/promises';
import type { Config } from './config.ts';
import { CtMuscleError } from './errors.ts';
import { countSpooled } from './intake/spool.ts';
import { createInstanceStore, type StoredInstance } from './intake/store-instance.ts';
import { dicomLimitsFromConfig } from './dicom/limits.ts';
import { removePartials } from './io/durable-file.ts';
import { logger } from './logging.ts';
import { createAnalyzeWorker } from './node/analyze-worker.ts';
import { createArrivalGrid, sidecarLookup, type ArrivalGrid } from './node/arrival-grid.ts';
import { createKnownHeaders, type KnownHeaders } from './node/known-headers.ts';
import { createAssembly, type Assembly } from './node/assembly.ts';
import { createHealth } from './node/health.ts';
import { createHttp, type HttpPart } from './node/http.ts';
import { createStowIntake } from './node/intake.ts';
import { createPage } from './node/page.ts';
import type { StorageScp } from './dimse/storage-scp.ts';
import { createDimseIntake, dimseSenderOf } from './node/dimse-intake.ts';
import { ANALYZE_STUDY, type AnalyzeStudyPayload, type AnalyzeStudyResult } from './node/jobs.ts';
import { createMetrics, type NodeMetrics } from './node/metrics.ts';
import { startParts, stopParts, type NodePart } from './node/part.ts';
import { createPoller, type PollReport } from './node/poller.ts';
import { createRetention, type RetentionReport } from './node/retention.ts';
import { createWorkerPool, type WorkerPool } from './node/workers.ts';
import { createWarmUp, type WarmUp, type WarmUpOutcome } from './node/warm-up.ts';
import { checkQueueForRole, checkSharedSpool, type NodeRole } from './node/roles.ts';
import { createWriteBack, describeTarget, writeBackDestination } from './node/write-back.ts';
import type { PipelineObserver, Stages } from './pipeline/index.ts';
import type { Job, JobQueue } from './queue/job-queue.ts';
import { openJobQueue, withJobQueue } from './queue/open.ts';
import { queueUrl, redactUrl } from './queue/queue-url.ts';

export { NODE_ROLES, type NodeRole } from './node/roles.ts';

export { ANALYZE_STUDY, WRITE_BACK, type AnalyzeStudyPayload, type AnalyzeStudyResult, type WriteBackPayload } from './node/jobs.ts';

export interface RunningNode {
  url: string;
  /** Where the DICOM storage SCP listens, when dimse.enabled. */
  dimse?: { host: string; port: number; aeTitle: string };
  queue: JobQueue;
  /** Poll the configured source now (also what the cron schedule runs); null when none is configured. */
  pollNow(): Promise<PollReport | null>;
  /** Resolves when no job is running or due. */
  idle(): Promise<void>;
  /** Resolves when the start-up warm-up (`warmUp`) has run, with what it gave; null at once where it is off or there is no working side. */
  warmedUp(): Promise<WarmUpOutcome>;
  /** One retention pass now (also what its timer runs). */
  applyRetention(): Promise<RetentionReport | null>;
  stop(): Promise<void>;
}

export interface Requeued {
  job: Job<AnalyzeStudyPayload>;
  /** Set when the job will change nothing: the study's instances are those of its last analysis. */
  note?: string;
}

/**
 * Queue a study in the spool for (re)analysis, optionally on a slice a person chose or forced
 * (measured again although unchanged); the running node's workers pick it up from the shared
 * queue database. E_STUDY_NOT_FOUND when the spool holds no instance of it.
 */
export async function requeueStudy(config: Config, studyInstanceUid: string, options: { slice?: string; force?: boolean } = {}): Promise<Requeued> {
  const instanceCount = await countSpooled(config.spoolDir, studyInstanceUid);
  if (instanceCount === 0) throw new CtMuscleError('E_STUDY_NOT_FOUND', `No instance of study ${studyInstanceUid} is in the spool (${config.spoolDir}).`);
  return withJobQueue(config, async (queue) => {
    const last = await queue.lastDone<AnalyzeStudyPayload>(ANALYZE_STUDY, studyInstanceUid);
    const outcome = (last?.result as AnalyzeStudyResult | undefined)?.outcome;
    const unchanged = !options.slice && !options.force && (outcome === 'measured' || outcome === 'unchanged') && last?.payload.instanceCount === instanceCount;
    const payload: AnalyzeStudyPayload = { studyInstanceUid, instanceCount, ...(options.slice ? { sliceSopInstanceUid: options.slice } : {}), ...(options.force ? { force: true } : {}) };
    const job = await queue.enqueue<AnalyzeStudyPayload>(ANALYZE_STUDY, studyInstanceUid, payload);
    if (!unchanged) return { job };
    return { job, note: `unchanged: the study has the same ${instanceCount} instances as when it was last measured, so the node will not measure it again (outcome "unchanged"); use --force to measure it anyway, or --slice to measure a chosen slice` };
  });
}

async function openQueue(config: Config): Promise<JobQueue> {
  const queue = await openJobQueue(config);
  // Lease-based, safe beside other processes: jobs whose lease ran out go back, and (SQLite) at once
  // those of a dead process of this machine, so a restarted node resumes its interrupted work. A
  // job whose lease another live process holds is never taken.
  const recovered = await queue.recover();
  if (recovered > 0) logger.warn('recovered interrupted jobs', { count: recovered });
  return queue;
}

/** How old a temp file must be before a process sharing the spool removes it: no live writer takes this long. */
const SHARED_PARTIAL_AGE_MS = 60 * 60_000;

/** Temp files of writes a killed process never finished (spool uploads, outputs): never renamed, never needed. */
async function removeCrashLeftovers(config: Config, role: NodeRole): Promise<void> {
  // `all` is the only writer; a split role may share the folders with live writers.
  const options = role === 'all' ? {} : { olderThanMs: SHARED_PARTIAL_AGE_MS };
  const removed = (await removePartials(config.spoolDir, options)) + (await removePartials(config.output.dir, options));
  if (removed > 0) logger.info('removed unfinished temp files', { count: removed });
}

export interface StartOptions {
  /** What this process does (serve --role); `all` by default. */
  role?: NodeRole;
  stages?: Stages;
  observer?: PipelineObserver;
}

interface Shared {
  config: Config;
  queue: JobQueue;
  metrics: NodeMetrics;
  assembly: Assembly;
  http: HttpPart;
}

/** The receiving side (roles all and intake): STOW-RS, the DICOM SCP, the poller, the review page, retention. */
function createIntakeSide({ config, queue, metrics, assembly, http }: Shared) {
  const arrivalGrid = createArrivalGrid({ lanes: config.decode.whileArriving, ownManufacturer: config.selection.ownManufacturer, made: metrics.gridSlicesMade, fromHalfResolution: config.decode.levelGrid === 'half', lullMs: config.decode.whileArrivingLullMs });
  const knownHeaders = createKnownHeaders(metrics.knownHeadersLookedUp);
  const onStored = (stored: StoredInstance) => {
    knownHeaders.remember(stored);
    arrivalGrid.arrived(stored);
    return assembly.stored(stored);
  };
  const storeInstance = createInstanceStore({ spoolDir: config.spoolDir, limits: dicomLimitsFromConfig(config.limits), onStored });
  return {
    arrivalGrid,
    knownHeaders,
    stow: createStowIntake({ app: http.app, config, storeInstance, metrics }),
    dimse: createDimseIntake({ config, storeInstance, queue, metrics }),
    poller: createPoller({ config, queue, metrics, onStudyReady: (uid, count) => assembly.ready(uid, count) }),
    retention: createRetention({ config, queue, metrics }),
    page: createPage({ app: http.app, config, queue, requeue: (uid, slice) => requeueStudy(config, uid, { slice }) }),
  };
}

/** The working side (roles all and worker): one pool running the analyze and write-back jobs. */
function createWorkingSide({ config, queue, metrics, assembly }: Shared, role: NodeRole, options: StartOptions, intake?: { arrivalGrid: ArrivalGrid; knownHeaders: KnownHeaders }): WorkerPool {
  const gridSliceFor = sidecarLookup(metrics.gridSlicesLookedUp);
  const analysisStarts = intake && ((uid: string) => intake.arrivalGrid.analysisStarts(uid));
  const knownHeader = intake && ((path: string) => intake.knownHeaders.lookup(path));
  const analyze = createAnalyzeWorker({ config, queue, assembly, metrics, stages: options.stages, observer: options.observer, gridSliceFor, analysisStarts, knownHeader });
  return createWorkerPool(config, queue, [analyze, createWriteBack(config, metrics, queue, dimseSenderOf(queue))], { shared: role !== 'all' });
}

/** The queue, checked for the role, and the spool shared with the deployment's other processes. */
async function openStorage(config: Config, role: NodeRole): Promise<JobQueue> {
  await checkQueueForRole(config, role);
  await mkdir(config.spoolDir, { recursive: true });
  await mkdir(config.output.dir, { recursive: true });
  await removeCrashLeftovers(config, role);
  const queue = await openQueue(config);
  try {
    await checkSharedSpool(config, queue, role);
  } catch (error) {
    await queue.close();
    throw error;
  }
  return queue;
}

export async function startNode(config: Config, options: StartOptions = {}): Promise<RunningNode> {
  const role = options.role ?? 'all';
  const queue = await openStorage(config, role);
  const metrics = createMetrics(queue);
  // Filled once the workers are made: the assembly is made first, and wakes them.
  const wake: { workers?: WorkerPool } = {};
  // A worker reschedules studies (more instances arrived) through the assembly, but does not run it.
  const assembly = createAssembly({
    queue,
    spoolDir: config.spoolDir,
    quietMs: config.assembly.quietPeriodSeconds * 1000,
    ownManufacturer: config.selection.ownManufacturer,
    // This process's workers (role all) start a study's job when its quiet period ends, not at their next poll.
    onScheduled: (uid, runAt) => wake.workers?.wakeAt(runAt, uid),
  });
  const http = createHttp(config.server);
  const shared: Shared = { config, queue, metrics, assembly, http };
  const intake = role === 'worker' ? undefined : createIntakeSide(shared);
  const workers = role === 'intake' ? undefined : createWorkingSide(shared, role, options, intake);
  // Stages other than the pipeline's own (tests' stand-ins) would not be the code warmed up.
  const warmUp = workers ? createWarmUp({ ...config, warmUp: config.warmUp && !options.stages }) : undefined;
  wake.workers = workers;
  const health = createHealth({ app: http.app, queue, config, metrics, pollStatus: intake ? () => intake.poller.status() : undefined, dimse: intake?.dimse });
  // Started in this order, stopped in reverse: no request or poll arrives once the workers stop.
  const parts: NodePart[] = [
    ...(intake ? [assembly] : []),
    ...(warmUp && workers ? [warmUp, workers] : []),
    ...(intake ? [intake.retention, intake.arrivalGrid, intake.stow] : []),
    health,
    ...(intake ? [intake.page] : []),
    http,
    ...(intake?.dimse ? [intake.dimse] : []),
    ...(intake ? [intake.poller] : []),
  ];
  try {
    await startParts(parts);
  } catch (error) {
    await queue.close();
    throw error;
  }
  logStarted(config, role, http, intake?.dimse);
  return running({ config, queue, http, parts, workers, warmUp, intake });
}

function logStarted(config: Config, role: NodeRole, http: HttpPart, dimse: StorageScp | undefined): void {
  const dimseAddress = dimse?.address();
  logger.info('node listening', {
    role,
    url: http.url(),
    dimse: dimseAddress ? `${config.dimse.aeTitle}@${dimseAddress.host}:${dimseAddress.port}` : 'off',
    writeBack: role === 'intake' ? 'by the workers' : describeTarget(writeBackDestination(config)),
    polling: role !== 'worker' && config.poll.source ? config.poll.cron : 'off',
    queue: config.queue.backend === 'postgres' ? redactUrl(queueUrl(config.queue.url)) : config.queue.path,
  });
}

function running(node: { config: Config; queue: JobQueue; http: HttpPart; parts: NodePart[]; workers?: WorkerPool; warmUp?: WarmUp; intake?: ReturnType<typeof createIntakeSide> }): RunningNode {
  const { config, queue, http, parts, workers, warmUp, intake } = node;
  const dimseAddress = intake?.dimse?.address();
  let stopping: Promise<void> | undefined;
  return {
    url: http.url(),
    dimse: dimseAddress ? { ...dimseAddress, aeTitle: config.dimse.aeTitle } : undefined,
    queue,
    pollNow: async () => (intake ? intake.poller.pollNow() : null),
    idle: () => workers?.idle() ?? Promise.resolve(),
    warmedUp: () => warmUp?.done() ?? Promise.resolve(null),
    applyRetention: async () => (intake ? intake.retention.runNow() : null),
    stop() {
      stopping ??= (async () => {
        await stopParts(parts);
        await queue.close();
        logger.info('node stopped');
      })();
      return stopping;
    },
  };
}
