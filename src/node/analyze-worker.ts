/**
 * The analyze job: re-count the study's spooled instances (more arrived → wait for quiet again),
 * run the pipeline on them (which skips a study whose chosen series did not change since it was
 * last measured), record the result, and queue the write-back of what it wrote.
 */
import type { Config } from '../config.ts';
import type { KnownHeaderLookup } from '../dicom/scan.ts';
import type { SeriesSummary } from '../dicom/types.ts';
import { CtMuscleError } from '../errors.ts';
import { spooledStudyDir } from '../intake/spool.ts';
import type { LevelInfo, OutputFile, StudyResult } from '../model/index.ts';
import { analyzeStudy, NODE_FAILURE_CODES, scanInputs, type GridSliceLookup, type PipelineObserver, type Stages } from '../pipeline/index.ts';
import type { Job, JobQueue } from '../queue/job-queue.ts';
import type { Assembly } from './assembly.ts';
import { ANALYZE_STUDY, WRITE_BACK, type AnalyzeStudyPayload, type AnalyzeStudyResult, type JobKind, type WriteBackPayload } from './jobs.ts';
import { stageTimer, type NodeMetrics } from './metrics.ts';
import { logger } from '../logging.ts';

/** What an analysis of an unchanged study says (also what `requeue` prints for one). */
export const UNCHANGED_MESSAGE = 'late instances did not change the selected series; not measured again';

/** One info line per analysed study: the result summary, or the code and the reason. No patient data. */
function logOutcome(studyInstanceUid: string, result: StudyResult): void {
  if (result.status !== 'ok') {
    logger.info('study not measured', { studyInstanceUid, code: result.status, reason: result.message, srWritten: result.outputs.sr !== undefined });
    return;
  }
  const { level, muscle, flags, verdict, segmenter } = result;
  logger.info('study measured', {
    studyInstanceUid,
    vertebra: level?.name,
    slice: level?.rule,
    areaCm2: muscle ? Number(muscle.areaCm2.toFixed(2)) : null,
    meanHu: muscle ? Number(muscle.meanHu.toFixed(1)) : null,
    smi: muscle?.smiCm2PerM2 != null ? Number(muscle.smiCm2PerM2.toFixed(2)) : null,
    flags,
    lowMuscle: verdict ? verdict.lowMuscle : null,
    segmenter: segmenter ? `${segmenter.id} ${segmenter.version}` : null,
  });
}

export interface AnalyzeWorkerOptions {
  config: Config;
  queue: JobQueue;
  assembly: Assembly;
  metrics: NodeMetrics;
  stages?: Stages;
  observer?: PipelineObserver;
  /** Slices put on the working grid while the study arrived (any process sharing the spool). */
  gridSliceFor?: GridSliceLookup;
  /** Told just before a study is analysed (this process's intake stops putting its instances on the grid). */
  analysisStarts?: (studyInstanceUid: string) => void;
  /** Headers this process's intake parsed from the spooled files (known-headers.ts); the others are parsed. */
  knownHeader?: KnownHeaderLookup;
}

/**
 * Statuses that say the node (not the study) failed: the job fails (retried, then dead-lettered
 * with the reason) instead of recording a result, so fixing the node's models or disk lets the
 * study be measured rather than leaving it marked "not measurable".
 */
const NODE_FAILURES = NODE_FAILURE_CODES;

/** The job row keeps the level without its evidence (result.json has it). */
function withoutEvidence(level: LevelInfo | null): LevelInfo | null {
  if (!level || level.name === 'as-provided') return level;
  return { ...level, evidence: undefined };
}

function jobResult(result: StudyResult, selected: SeriesSummary | null): AnalyzeStudyResult {
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

export function createAnalyzeWorker(options: AnalyzeWorkerOptions): JobKind {
  const { config, queue, assembly, metrics, stages, observer, gridSliceFor, analysisStarts, knownHeader } = options;

  async function queueWriteBack(studyInstanceUid: string, result: StudyResult): Promise<void> {
    const { seg, sr, overlay } = result.outputs;
    const files = [seg, sr, overlay].filter((f): f is OutputFile => f !== undefined);
    // A not-measured study sends its SR (why it was not measured) when one was written.
    if (files.length === 0) return;
    await queue.enqueue<WriteBackPayload>(WRITE_BACK, studyInstanceUid, { studyInstanceUid, files: files.map((f) => ({ path: f.path, sopInstanceUid: f.sopInstanceUid })) });
  }

  const timed = stageTimer(metrics, observer);

  async function handle(job: Job): Promise<AnalyzeStudyResult> {
    const payload = job.payload as AnalyzeStudyPayload;
    const { headers } = await scanInputs([spooledStudyDir(config.spoolDir, payload.studyInstanceUid)], undefined, { known: knownHeader });
    if (headers.length !== payload.instanceCount) {
      // Instances arrived (or vanished) since the quiet period started: wait for quiet again.
      await assembly.reschedule({ ...payload, instanceCount: headers.length });
      return { status: 'ok', message: `instance count changed (${payload.instanceCount} → ${headers.length}); rescheduled`, seriesInstanceUid: null, selectedInstanceCount: null, outcome: 'deferred' };
    }
    const previous = (await queue.lastDone<AnalyzeStudyPayload>(ANALYZE_STUDY, payload.studyInstanceUid))?.result as AnalyzeStudyResult | undefined;
    // A re-run whose chosen series is the one already measured, with the same instances, is skipped.
    const changed = (selected: SeriesSummary) =>
      payload.sliceSopInstanceUid !== undefined ||
      payload.force === true ||
      previous?.outcome !== 'measured' ||
      previous.seriesInstanceUid !== selected.seriesInstanceUid ||
      previous.selectedInstanceCount !== selected.instanceCount;
    const started = Date.now();
    analysisStarts?.(payload.studyInstanceUid);
    const { sliceSopInstanceUid } = payload;
    const { result, selected, declined } = await analyzeStudy(headers, { config, stages, observer: timed, proceed: changed, outDir: config.output.dir, overlay: config.output.overlay, sliceSopInstanceUid, gridSliceFor, keepStackMemory: true });
    if (declined) return { ...previous!, outcome: 'unchanged', message: UNCHANGED_MESSAGE };
    metrics.stageSeconds.observe({ stage: 'analyze' }, (Date.now() - started) / 1000);
    if (NODE_FAILURES.has(result.status)) {
      metrics.studies.inc({ outcome: 'failed', code: result.status });
      throw new CtMuscleError(result.status as 'E_STAGE_UNAVAILABLE', result.message);
    }
    metrics.studies.inc({ outcome: result.status === 'ok' ? 'measured' : 'not-measured', code: result.status });
    logOutcome(payload.studyInstanceUid, result);
    await queueWriteBack(payload.studyInstanceUid, result);
    return jobResult(result, selected);
  }

  return { kind: ANALYZE_STUDY, handle };
}
