/** `ct-muscle-node batch`: argument checks and Ctrl-C handling around src/batch (kept out of main.ts). */
import { availableParallelism } from 'node:os';
import type { Config } from '../config.ts';
import { defaultProgress } from '../batch/progress.ts';
import { runBatch, type BatchOptions, type BatchSummary } from '../batch/run-batch.ts';

export interface BatchCommandOptions {
  out: string;
  concurrency?: string;
  dicom?: boolean;
  retryFailed?: boolean;
  segmenter?: 'default' | 'sam';
  target?: 'T12' | 'L1' | 'L2' | 'L3';
  /** true: the configured poll.source; a string: that DICOMweb root. */
  fromPacs?: boolean | string;
  studyDate?: string;
  modality?: string;
  accession?: string;
  patientId?: string;
}

/** The PACS and QIDO-RS filters of --from-pacs, or undefined without it. */
function pacsOption(options: BatchCommandOptions, config: Config, usage: (message: string) => Error): BatchOptions['fromPacs'] {
  if (!options.fromPacs) {
    if (options.studyDate || options.modality || options.accession || options.patientId) throw usage('--study-date, --modality, --accession and --patient-id filter a PACS query: add --from-pacs.');
    return undefined;
  }
  const source = typeof options.fromPacs === 'string' ? { url: options.fromPacs } : config.poll.source;
  if (!source) throw usage('--from-pacs needs a DICOMweb root: --from-pacs URL, or poll.source in the configuration.');
  if (options.studyDate && !/^(\d{8})?-?(\d{8})?$/.test(options.studyDate)) throw usage(`--study-date must be YYYYMMDD or YYYYMMDD-YYYYMMDD, not ${options.studyDate}.`);
  return { source, filters: { studyDate: options.studyDate, modality: options.modality, accessionNumber: options.accession, patientId: options.patientId } };
}

/**
 * First Ctrl-C: no new study, the running ones finish. Second: the running ones are abandoned
 * (run again next time). Either way results.csv, errors.csv and index.html are written.
 */
export async function batchCommand(
  paths: string[],
  options: BatchCommandOptions,
  config: Config,
  parseConcurrency: (text: string | undefined) => number,
  usage: (message: string) => Error,
): Promise<BatchSummary> {
  const fromPacs = pacsOption(options, config, usage);
  if (paths.length === 0 && !fromPacs) throw usage('batch needs DICOM folders or --from-pacs.');
  const stop = new AbortController();
  const stopNow = new AbortController();
  const onSigint = () => {
    if (!stop.signal.aborted) {
      process.stderr.write('\nstopping after the studies in progress (Ctrl-C again to stop now)\n');
      stop.abort();
    } else stopNow.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await runBatch({
      paths,
      outDir: options.out,
      config,
      concurrency: parseConcurrency(options.concurrency) || Math.min(2, availableParallelism()),
      dicom: options.dicom,
      retryFailed: options.retryFailed,
      segmenter: options.segmenter,
      target: options.target,
      progress: defaultProgress(),
      stop: stop.signal,
      stopNow: stopNow.signal,
      fromPacs,
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
}
