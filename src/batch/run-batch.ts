/**
 * `ct-muscle-node batch`: every study under the inputs through the pipeline, several at a time
 * on worker threads, resumable (OUT/batch.sqlite), with results.csv, errors.csv, thumbnails and
 * index.html written at the end, also when the run is stopped.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import type { ScanError } from '../dicom/scan.ts';
import type { StowTarget } from '../dicomweb/client/stow-client.ts';
import { logger } from '../logging.ts';
import { ANATOMIC_SEGMENTER_ID, ANATOMIC_SEGMENTER_VERSION } from '../segment/anatomic.ts';
import { errorsCsv, resultsCsv } from './csv.ts';
import { discoverStudies } from './discover.ts';
import { fetchFromPacs, type PacsFilters } from './pacs-source.ts';
import { indexHtml } from './index-html.ts';
import type { ProgressSink } from './progress.ts';
import { canSkip, ResumeStore } from './resume-store.ts';
import type { BatchRow, BatchStudy, StudyTask } from './types.ts';
import { WorkerPool } from './worker-pool.ts';

export interface BatchOptions {
  paths: string[];
  outDir: string;
  config: Config;
  /** Studies at a time (worker threads); default 2. */
  concurrency?: number;
  dicom?: boolean;
  retryFailed?: boolean;
  segmenter?: 'default' | 'sam';
  target?: StudyTask['target'];
  progress?: ProgressSink;
  /** Aborted: take no new study, finish the running ones. */
  stop?: AbortSignal;
  /** Aborted: abandon the running studies too (they are run again next time). */
  stopNow?: AbortSignal;
  /** Studies from a PACS (QIDO-RS filters; WADO-RS of the chosen series into OUT/pacs/), besides `paths`. */
  fromPacs?: { source: StowTarget; filters: PacsFilters };
}

export interface BatchSummary {
  studies: number;
  ran: number;
  failed: number;
  skipped: number;
  stopped: boolean;
  seconds: number;
  results: string;
  errors: string;
  index: string;
}

/**
 * What, besides the inputs, makes a stored result reusable: the segmenter (the default one's
 * id/version; for the model path its configuration) and the target level.
 */
export function runKeyOf(config: Config, segmenter: 'default' | 'sam' | undefined, target: string | undefined): string {
  const chosen = segmenter ?? config.segmentation.segmenter;
  const model = chosen === 'sam' ? `sam:${createHash('sha256').update(JSON.stringify(config.segmentation)).digest('hex').slice(0, 16)}` : '';
  // "body" measures more and writes more: a study done with "mid" runs again (the mid key is unchanged).
  const slices = config.measurement.slices === 'body' ? 'slices=body' : '';
  return [`${ANATOMIC_SEGMENTER_ID}@${ANATOMIC_SEGMENTER_VERSION}`, model, `level=${target ?? config.level.target}`, slices].filter(Boolean).join('|');
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/** Studies from the PACS into OUT/pacs/ (its fetch errors go to errors.csv); the folder to scan, if any. */
async function pacsInputs(options: BatchOptions): Promise<{ paths: string[]; errors: ScanError[] }> {
  if (!options.fromPacs) return { paths: [], errors: [] };
  const { config } = options;
  const report = await fetchFromPacs(options.fromPacs.source, options.fromPacs.filters, options.outDir, {
    selection: config.selection,
    pageSize: config.poll.pageSize,
    maxPages: config.poll.maxPages,
    maxInstanceBytes: config.server.maxInstanceMb * 1024 * 1024,
  });
  logger.info('batch: PACS query done', { found: report.studiesFound, retrieved: report.studiesRetrieved, instances: report.instancesRetrieved, capped: report.capped });
  const errors = report.errors.map((e) => ({ path: `PACS study ${e.studyInstanceUid}`, code: e.code, message: e.message }));
  if (report.capped) errors.push({ path: 'PACS query', code: 'E_PACS_CAPPED', message: 'The PACS capped the QIDO-RS results; narrow the filters (e.g. --study-date) to be sure no study is missed.' });
  return { paths: existsSync(report.directory) ? [report.directory] : [], errors };
}

async function writeOutputs(outDir: string, rows: BatchRow[], scanErrors: ScanError[], stopped: boolean): Promise<Pick<BatchSummary, 'results' | 'errors' | 'index'>> {
  const paths = { results: join(outDir, 'results.csv'), errors: join(outDir, 'errors.csv'), index: join(outDir, 'index.html') };
  await writeFile(paths.results, resultsCsv(rows));
  await writeFile(paths.errors, errorsCsv(rows, scanErrors));
  await writeFile(paths.index, indexHtml(rows, { failed: rows.filter((r) => r.status !== 'ok').length, stopped }));
  return paths;
}

interface RunState {
  next: number;
  ran: number;
  failed: number;
  stopped: boolean;
}

async function runStudies(toRun: BatchStudy[], options: BatchOptions, store: ResumeStore, runKey: string, state: RunState, started: number): Promise<void> {
  const size = Math.max(1, Math.min(options.concurrency ?? 2, toRun.length));
  const pool = new WorkerPool(size, options.config);
  const onStopNow = () => {
    state.stopped = true;
    void pool.close();
  };
  options.stopNow?.addEventListener('abort', onStopNow, { once: true });
  const lane = async () => {
    while (!state.stopped && !options.stop?.aborted && state.next < toRun.length) {
      const study = toRun[state.next++];
      const task: StudyTask = { study, outDir: options.outDir, dicom: options.dicom ?? false, segmenter: options.segmenter, target: options.target };
      const t0 = Date.now();
      const row = await pool.run(task);
      if (state.stopped) return; // abandoned by Ctrl-C twice: not recorded, run again next time
      store.put(row, study.inputHash, runKey);
      state.ran++;
      if (row.status !== 'ok') state.failed++;
      options.progress?.({ event: 'study', done: state.ran, total: toRun.length, studyInstanceUid: study.studyInstanceUid, status: row.status, seconds: (Date.now() - t0) / 1000 });
    }
  };
  try {
    await Promise.all(Array.from({ length: size }, lane));
  } finally {
    options.stopNow?.removeEventListener('abort', onStopNow);
    await pool.close();
  }
  if (options.stop?.aborted) state.stopped = true;
  logger.info('batch studies run', { ran: state.ran, failed: state.failed, seconds: (Date.now() - started) / 1000 });
}

export async function runBatch(options: BatchOptions): Promise<BatchSummary> {
  const started = Date.now();
  await mkdir(options.outDir, { recursive: true });
  const pacs = await pacsInputs(options);
  const paths = [...options.paths, ...pacs.paths];
  const discovered = paths.length > 0 ? await discoverStudies(paths, fileSize) : { studies: [], errors: [] };
  const { studies } = discovered;
  const errors = [...pacs.errors, ...discovered.errors];
  const store = new ResumeStore(join(options.outDir, 'batch.sqlite'));
  const state: RunState = { next: 0, ran: 0, failed: 0, stopped: false };
  try {
    const runKey = runKeyOf(options.config, options.segmenter, options.target);
    const toRun = studies.filter((s) => !canSkip(store.get(s.studyInstanceUid), s.inputHash, runKey, options.retryFailed ?? false));
    const skipped = studies.length - toRun.length;
    options.progress?.({ event: 'start', total: studies.length, skipped, toRun: toRun.length, concurrency: options.concurrency ?? 2 });
    if (toRun.length > 0) await runStudies(toRun, options, store, runKey, state, started);
    const rows = studies.map((s) => store.get(s.studyInstanceUid)?.row).filter((r): r is BatchRow => r !== undefined);
    const written = await writeOutputs(options.outDir, rows, errors, state.stopped);
    const seconds = (Date.now() - started) / 1000;
    const failed = rows.filter((r) => r.status !== 'ok').length;
    options.progress?.({ event: 'end', done: state.ran, failed: state.failed, skipped, stopped: state.stopped, seconds });
    return { studies: studies.length, ran: state.ran, failed, skipped, stopped: state.stopped, seconds, ...written };
  } finally {
    store.close();
  }
}
