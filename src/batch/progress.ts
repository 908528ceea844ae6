/**
 * Batch progress: a bar (cli-progress) when stdout is a terminal, one JSON line per event
 * otherwise (for scripts and logs). Both say how many studies are done, failed and left.
 */
import cliProgress from 'cli-progress';
import type { BatchEvent } from './types.ts';

export type ProgressSink = (event: BatchEvent) => void;

export function jsonLinesProgress(write: (line: string) => void = (l) => process.stdout.write(l)): ProgressSink {
  return (event) => write(`${JSON.stringify(event)}\n`);
}

export function barProgress(stream: NodeJS.WriteStream = process.stdout): ProgressSink {
  const bar = new cliProgress.SingleBar(
    { format: 'studies {bar} {value}/{total} | failed {failed} | skipped {skipped} | {eta_formatted} left | {last}', stream, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let failed = 0;
  return (event) => {
    if (event.event === 'start') bar.start(event.toRun, 0, { failed, skipped: event.skipped, last: '' });
    else if (event.event === 'study') {
      if (event.status !== 'ok') failed++;
      bar.update(event.done, { failed, last: `${event.studyInstanceUid.slice(-16)} ${event.status}` });
    } else {
      bar.stop();
      stream.write(`${event.stopped ? 'stopped' : 'done'}: ${event.done} studies run, ${event.failed} failed, ${event.skipped} skipped, ${event.seconds.toFixed(0)} s\n`);
    }
  };
}

export function defaultProgress(): ProgressSink {
  return process.stdout.isTTY ? barProgress() : jsonLinesProgress();
}
