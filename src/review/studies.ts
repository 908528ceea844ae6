/**
 * What the review page shows of each study: the latest analysis job and its result, the review
 * records, and which result is in force (the node's, or a correction made since). Reads the job
 * store and the result files; changes nothing.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CtMuscleError } from '../errors.ts';
import type { Job, JobId, JobState } from '../queue/job-queue.ts';
import type { ResultJson } from '../report/index.ts';
import type { ReviewRecord, ReviewStore } from './review-store.ts';

/** The analysis job's result as the node records it (src/server.ts AnalyzeStudyResult); only what the page reads. */
export interface AnalysisSummary {
  status: string;
  message: string;
  seriesInstanceUid: string | null;
  outcome: 'measured' | 'not-measured' | 'unchanged' | 'deferred';
  level?: { name: string; sliceIndex?: number; sopInstanceUid: string; zMm?: number } | null;
  muscle?: { areaCm2: number; meanHu: number; imatAreaCm2: number | null; smiCm2PerM2: number | null } | null;
  segmenter?: { id: string; version: string } | null;
  flags?: string[];
  verdict?: { lowMuscle: boolean; [key: string]: unknown } | null;
  outputs?: { seg?: { path: string; sopInstanceUid: string; seriesInstanceUid: string }; sr?: { path: string; sopInstanceUid: string; seriesInstanceUid: string }; json?: string };
}

/** The job store as the page needs it (the node's JobQueue satisfies it). */
export interface JobStore {
  list(state?: JobState): Promise<Job[]>;
  get(id: JobId): Promise<Job | undefined>;
  enqueue<P>(kind: string, key: string, payload: P): Promise<Job<P>>;
}

export type ReviewStatus = 'not reviewed' | 'accepted' | 'rejected' | 'corrected' | 'slice chosen';

export interface StudyRow {
  studyInstanceUid: string;
  state: JobState | 'measured' | 'not measured';
  studyDate: string | null;
  level: string | null;
  sliceIndex: number | null;
  areaCm2: number | null;
  smraHu: number | null;
  imatAreaCm2: number | null;
  smiCm2PerM2: number | null;
  /** measurement.slices "body": the node's mean and range of the area over the vertebral body's slices. */
  bodyAreaCm2: { mean: number; min: number; max: number; slices: number } | null;
  verdict: string | null;
  flags: string[];
  segmenter: string | null;
  review: ReviewStatus;
  reviewedBy: string | null;
  message: string;
  updatedAt: number;
}

export const ANALYZE_KIND = 'analyze-study';

const REVIEW_STATUS: Record<ReviewRecord['action'], ReviewStatus> = { accept: 'accepted', reject: 'rejected', correct: 'corrected', 'choose-slice': 'slice chosen' };

/** The newest analysis job of each study, and the newest finished one that holds a result. */
export function analysisJobs(jobs: Job[]): Map<string, { latest: Job; done: Job | null }> {
  const out = new Map<string, { latest: Job; done: Job | null }>();
  for (const job of jobs) {
    if (job.kind !== ANALYZE_KIND) continue;
    const entry = out.get(job.key) ?? { latest: job, done: null };
    if (job.id >= entry.latest.id) entry.latest = job;
    const outcome = (job.result as AnalysisSummary | null)?.outcome;
    if (job.state === 'done' && outcome !== 'deferred' && (!entry.done || job.id > entry.done.id)) entry.done = job;
    out.set(job.key, entry);
  }
  return out;
}

/** A review counts while no analysis finished after it (choosing a slice re-runs the study). */
export function currentReview(records: ReviewRecord[], analysisDoneAt: number | null): ReviewRecord | null {
  const last = records.at(-1);
  if (!last) return null;
  return analysisDoneAt === null || last.at >= analysisDoneAt ? last : null;
}

/** The correction in force: the newest 'correct' record after the analysis, unless a rejection followed it. */
export function currentCorrection(records: ReviewRecord[], analysisDoneAt: number | null): ReviewRecord | null {
  const since = records.filter((r) => analysisDoneAt === null || r.at >= analysisDoneAt);
  const correction = since.filter((r) => r.action === 'correct').at(-1);
  return correction ?? null;
}

export async function readResultJson(outputsDir: string, studyInstanceUid: string): Promise<ResultJson | null> {
  try {
    return JSON.parse(await readFile(join(outputsDir, studyInstanceUid, 'result.json'), 'utf8')) as ResultJson;
  } catch {
    return null;
  }
}

function stateOf(latest: Job, done: Job | null): StudyRow['state'] {
  if (latest.state !== 'done') return latest.state;
  const result = (done?.result ?? null) as AnalysisSummary | null;
  return result?.status === 'ok' ? 'measured' : 'not measured';
}

function verdictText(verdict: AnalysisSummary['verdict']): string | null {
  if (!verdict) return null;
  return verdict.lowMuscle ? 'low muscle' : 'not low';
}

export async function studyRow(studyInstanceUid: string, jobs: { latest: Job; done: Job | null }, records: ReviewRecord[], outputsDir: string): Promise<StudyRow> {
  const result = (jobs.done?.result ?? null) as AnalysisSummary | null;
  const doneAt = jobs.done?.updatedAt ?? null;
  const review = currentReview(records, doneAt);
  const correction = currentCorrection(records, doneAt);
  const corrected = correction?.detail.muscle as AnalysisSummary['muscle'] | undefined;
  const muscle = corrected ?? result?.muscle ?? null;
  const json = result?.status === 'ok' ? await readResultJson(outputsDir, studyInstanceUid) : null;
  return {
    studyInstanceUid,
    state: stateOf(jobs.latest, jobs.done),
    studyDate: json?.study.studyDate ?? null,
    level: result?.level?.name ?? null,
    sliceIndex: result?.level?.sliceIndex ?? null,
    areaCm2: muscle?.areaCm2 ?? null,
    smraHu: muscle?.meanHu ?? null,
    imatAreaCm2: muscle?.imatAreaCm2 ?? null,
    smiCm2PerM2: muscle?.smiCm2PerM2 ?? null,
    bodyAreaCm2: json?.body ? { ...json.body.areaCm2, slices: json.body.sliceCount } : null,
    verdict: verdictText(result?.verdict),
    flags: result?.flags ?? [],
    segmenter: result?.segmenter ? `${result.segmenter.id} ${result.segmenter.version}` : null,
    review: review ? REVIEW_STATUS[review.action] : 'not reviewed',
    reviewedBy: review?.who ?? null,
    message: jobs.latest.state === 'dead' ? `${jobs.latest.lastErrorCode}: ${jobs.latest.lastError}` : (result?.message ?? ''),
    updatedAt: jobs.latest.updatedAt,
  };
}

export async function listStudies(jobStore: JobStore, reviews: ReviewStore, outputsDir: string): Promise<StudyRow[]> {
  const byStudy = analysisJobs(await jobStore.list());
  const rows = await Promise.all([...byStudy].map(async ([uid, jobs]) => studyRow(uid, jobs, await reviews.forStudy(uid), outputsDir)));
  return rows.sort((a, b) => b.updatedAt - a.updatedAt);
}

export interface DeadLetter {
  id: JobId;
  kind: string;
  studyInstanceUid: string;
  code: string | null;
  reason: string | null;
  attempts: number;
  updatedAt: number;
}

export async function deadLetters(jobStore: JobStore): Promise<DeadLetter[]> {
  return (await jobStore.list('dead')).map((j) => ({ id: j.id, kind: j.kind, studyInstanceUid: j.key, code: j.lastErrorCode, reason: j.lastError, attempts: j.attempts, updatedAt: j.updatedAt }));
}

/** Queue a dead job again, as it was (its kind, study and payload). */
export async function queueAgain(jobStore: JobStore, id: JobId): Promise<Job> {
  const job = await jobStore.get(id);
  if (!job || job.state !== 'dead') throw new CtMuscleError('E_REVIEW_STATE', `Job ${id} is not a dead letter.`);
  return jobStore.enqueue(job.kind, job.key, job.payload);
}

/** A study UID as it may appear in a path: digits and dots only (never a path of its own). */
export function checkStudyUid(uid: string): string {
  if (!/^[0-9]+(\.[0-9]+)*$/.test(uid) || uid.length > 64) throw new CtMuscleError('E_STUDY_NOT_FOUND', `Not a study UID: ${uid.slice(0, 80)}`);
  return uid;
}
