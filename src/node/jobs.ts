/** The kinds of job the node queues, and what their payloads and results hold (job rows, `jobs`). */
import type { LevelInfo, StudyOutputs, StudyResult } from '../model/index.ts';
import type { Job } from '../queue/job-queue.ts';

export const ANALYZE_STUDY = 'analyze-study';
export const WRITE_BACK = 'write-back';

export interface AnalyzeStudyPayload {
  studyInstanceUid: string;
  /** Instances of the study on disk when the job was (re)scheduled: the completeness re-check. */
  instanceCount: number;
  /**
   * When the study's last instance arrived (ms since the epoch): at a restart, the quiet period
   * is counted from it over the time the node was up, so a restart never shortens it.
   */
  lastArrivalAt?: number;
  /** A slice chosen by a person (`ct-muscle-node requeue --slice`): measured as is, no level finding. */
  sliceSopInstanceUid?: string;
  /** Measure again even when the chosen series is unchanged (`requeue --force`, e.g. after a model update). */
  force?: boolean;
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

/** A job kind's handler, as the worker pool runs it. */
export interface JobKind {
  kind: string;
  handle(job: Job): Promise<unknown>;
  /** Latest time a job of this kind may still be retried; none by default. */
  deadlineOf?(job: Job): number | undefined;
}
