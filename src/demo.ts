/**
 * `npm run demo`: the whole job on embedded defaults, with no PACS and no model files. It starts
 * the node on loopback (temporary spool, queue and output folder), sends it a seeded CT phantom
 * study over STOW-RS, waits for the study to be processed, and reports what came out; then it
 * keeps the node up so the review page shows the result (`--once`: stop there, for scripts).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config.ts';
import { stowInstances } from './dicomweb/client/stow-client.ts';
import { generatePhantomStudy } from './phantom/index.ts';
import { ANALYZE_STUDY, startNode, WRITE_BACK, type AnalyzeStudyResult, type RunningNode } from './server.ts';

export interface DemoOptions {
  outDir?: string;
  config: Config;
  /** Stop the node when the study is done (scripts, tests); otherwise the caller gets it running, to stop. */
  once?: boolean;
}

export interface DemoRun {
  summary: Record<string, unknown>;
  /** The review page; the node keeps serving it until `node.stop()` (null with `once`). */
  pageUrl: string;
  node: RunningNode | null;
}

/** Kept running, the demo node listens on the configured port when free, else on any. */
async function startDemoNode(config: Config, once: boolean): Promise<RunningNode> {
  if (once) return startNode(config);
  try {
    return await startNode(config);
  } catch {
    return startNode({ ...config, server: { ...config.server, port: 0 } });
  }
}

export async function runDemo({ outDir, config, once = false }: DemoOptions): Promise<DemoRun> {
  const workDir = outDir ?? (await mkdtemp(join(tmpdir(), 'ct-muscle-node-demo-')));
  const demoConfig: Config = {
    ...config,
    spoolDir: join(workDir, 'spool'),
    output: { ...config.output, dir: join(workDir, 'results') },
    queue: { ...config.queue, path: join(workDir, 'jobs.sqlite'), maxAttempts: 1 },
    server: { ...config.server, host: '127.0.0.1', port: once ? 0 : config.server.port },
    assembly: { quietPeriodSeconds: 1 },
    // The demo's study arrives at once: it would share the core with a warm-up that gains it nothing.
    warmUp: false,
    writeBack: { ...config.writeBack, destination: null },
  };
  const node = await startDemoNode(demoConfig, once);
  let keep = false;
  try {
    const study = await generatePhantomStudy({ seed: 1, arms: true, fieldOfViewMm: 500 });
    const sent = study.files.map((file) => ({
      bytes: file.bytes,
      sopInstanceUid: study.truth.slices.find((s) => s.fileName === file.fileName)!.sopInstanceUid,
    }));
    const stow = await stowInstances({ url: `${node.url}/dicomweb` }, sent);
    await new Promise((resolve) => setTimeout(resolve, demoConfig.assembly.quietPeriodSeconds * 1000 + 200));
    await node.idle();
    const jobs = (await node.queue.list()).filter((j) => j.key === study.truth.studyInstanceUid);
    const analysis = jobs.find((j) => j.kind === ANALYZE_STUDY);
    const result = analysis?.result as AnalyzeStudyResult | null | undefined;
    const t12 = study.truth.t12;
    const summary = {
      node: { url: node.url, workDir },
      page: `${node.url}/studies/${study.truth.studyInstanceUid}`,
      sent: { studyInstanceUid: study.truth.studyInstanceUid, instances: sent.length, storedAcknowledged: stow.stored.length },
      status: result?.status ?? analysis?.lastErrorCode ?? 'no job',
      message: result?.message ?? analysis?.lastError ?? '',
      level: result?.level ?? null,
      muscle: result?.muscle ?? null,
      segmenter: result?.segmenter ?? null,
      flags: result?.flags ?? [],
      // What the generator drew, to compare with: the phantom's own T12 mid-body and muscle area.
      phantomTruth: { t12MidBodyZMm: t12.midBodyMm, t12Slice: t12.sopInstanceUid, muscleAreaCm2AtT12: t12.muscleAreaCm2 },
      outputs: result?.outputs ?? null,
      job: analysis
        ? { state: analysis.state, attempts: analysis.attempts, error: analysis.lastErrorCode ? { code: analysis.lastErrorCode, message: analysis.lastError } : null }
        : null,
      writeBack: jobs.find((j) => j.kind === WRITE_BACK)?.result ?? null,
    };
    keep = !once;
    return { summary, pageUrl: `${node.url}/`, node: keep ? node : null };
  } finally {
    if (!keep) await node.stop();
  }
}
