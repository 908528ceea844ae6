/** `ct-muscle-node batch`: argument checks and Ctrl-C handling around src/batch (kept out of main.ts). */
import { availableParallelism } from 'node:os';
import type { Config } from '../config.ts';
import { defaultProgress } from '../batch/progress.ts';
import { runBatch, type BatchSummary } from '../batch/run-batch.ts';

export interface BatchCommandOptions {
  out: string;
  concurrency?: string;
  dicom?: boolean;
  retryFailed?: boolean;
  segmenter?: 'default' | 'sam';
  target?: 'T12' | 'L1' | 'L2' | 'L3';
}

/**
 * First Ctrl-C: no new study, the running ones finish. Second: the running ones are abandoned
 * (run again next time). Either way results.csv, errors.csv and index.html are written.
 */
export async function batchCommand(paths: string[], options: BatchCommandOptions, config: Config, parseConcurrency: (text: string | undefined) => number): Promise<BatchSummary> {
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
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
}
