/**
 * The warm-up as a node part (roles all and worker, `warmUp`): right after start, the pipeline
 * runs once on a generated phantom, in the background, with the site's configuration. V8 runs a
 * function interpreted until it has run a while, then compiles it; a node's first study used to
 * pay that for every stage (~0.5 s more in level finding and segmentation on a 2-core machine,
 * measured), later ones not. The results go to a temporary folder that is deleted; nothing is
 * queued, spooled or sent, and a failure is logged and changes nothing else.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config.ts';
import { scanBuffers } from '../dicom/scan.ts';
import { processGone } from '../io/process.ts';
import { errorLogFields, logger } from '../logging.ts';
import { generatePhantomStudy } from '../phantom/index.ts';
import { analyzeHeaders } from '../pipeline/index.ts';
import type { NodePart } from './part.ts';

export interface WarmUp extends NodePart {
  /** Resolves when the warm-up has run (or failed), with what it gave; null where it was off. */
  done(): Promise<WarmUpOutcome>;
}

/** What the warm-up gave: the study's status, or the error's code. */
export type WarmUpOutcome = { status: string; ms: number } | { error: string; ms: number } | null;

const FOLDER_PREFIX = 'ctmn-warm-up-';

/**
 * A warm-up's folder is named with its process's id, because a process killed during its warm-up
 * (SIGKILL, a crash, the machine's OOM killer) never deletes it: the next warm-up on the machine
 * deletes the folders whose process is gone. Another node's folder (its process still running) and
 * this process's own (another node in it may be warming up) are left alone.
 */
async function removeOrphanFolders(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(new RegExp(`^${FOLDER_PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (!pid || pid === process.pid || !processGone(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true }).catch((error: unknown) => logger.warn('could not delete a dead warm-up folder', errorLogFields(error)));
  }
}

/**
 * One analysis of a generated 512² phantom (5 mm slices from L3 to T9, ~40 instances, arms on the
 * table side as real trunks have them): 512² so that the same block size of the working grid runs.
 */
export async function warmUpPipeline(config: Config): Promise<WarmUpOutcome> {
  const started = performance.now();
  await removeOrphanFolders(tmpdir());
  const outDir = await mkdtemp(join(tmpdir(), `${FOLDER_PREFIX}${process.pid}-`));
  try {
    const study = await generatePhantomStudy({ seed: 1, rows: 512, columns: 512, sliceThicknessMm: 5, arms: true });
    const { headers } = scanBuffers(study.files.map((file) => ({ bytes: file.bytes, label: file.fileName })));
    const [result] = await analyzeHeaders(headers, { config, outDir, created: new Date(0) });
    return { status: result?.status ?? 'none', ms: performance.now() - started };
  } catch (error) {
    logger.warn('warm-up failed; the first study will run cold', errorLogFields(error));
    return { error: (error as { code?: string }).code ?? 'unknown', ms: performance.now() - started };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

export function createWarmUp(config: Config): WarmUp {
  let running: Promise<WarmUpOutcome> = Promise.resolve(null);
  return {
    name: 'warm-up',
    async start() {
      if (!config.warmUp) return;
      // Not awaited: the node listens and takes jobs meanwhile (a job then shares the core with it).
      running = new Promise((resolve) => setImmediate(resolve)).then(() => warmUpPipeline(config));
      void running.then((outcome) => outcome && logger.info('warm-up done', { ...outcome, ms: Math.round(outcome.ms) }));
    },
    async stop() {
      await running;
    },
    done: () => running,
  };
}
