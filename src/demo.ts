/**
 * `npm run demo`: the whole job on embedded defaults, with no PACS and no model files. It starts
 * the node on loopback (temporary spool, queue and output folder), sends it a seeded CT phantom
 * study over STOW-RS, waits for the study to be processed, and reports what came out.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config.ts';
import { stowInstances } from './dicomweb/client/stow-client.ts';
import { generatePhantomStudy } from './phantom/index.ts';
import { ANALYZE_STUDY, startNode, WRITE_BACK, type AnalyzeStudyResult } from './server.ts';

export interface DemoOptions {
  outDir?: string;
  config: Config;
}

export async function runDemo({ outDir, config }: DemoOptions): Promise<Record<string, unknown>> {
  const workDir = outDir ?? (await mkdtemp(join(tmpdir(), 'ct-muscle-node-demo-')));
  const demoConfig: Config = {
    ...config,
    spoolDir: join(workDir, 'spool'),
    output: { ...config.output, dir: join(workDir, 'results') },
    queue: { ...config.queue, path: join(workDir, 'jobs.sqlite'), maxAttempts: 1 },
    server: { ...config.server, host: '127.0.0.1', port: 0 },
    assembly: { quietPeriodSeconds: 1 },
    writeBack: { ...config.writeBack, destination: null },
  };
  const node = await startNode(demoConfig);
  try {
    const study = await generatePhantomStudy({ seed: 1, arms: true, fieldOfViewMm: 500 });
    const sent = study.files.map((file) => ({
      bytes: file.bytes,
      sopInstanceUid: study.truth.slices.find((s) => s.fileName === file.fileName)!.sopInstanceUid,
    }));
    const stow = await stowInstances({ url: `${node.url}/dicomweb` }, sent);
    await new Promise((resolve) => setTimeout(resolve, demoConfig.assembly.quietPeriodSeconds * 1000 + 200));
    await node.idle();
    const jobs = node.queue.list().filter((j) => j.key === study.truth.studyInstanceUid);
    const analysis = jobs.find((j) => j.kind === ANALYZE_STUDY);
    const result = analysis?.result as AnalyzeStudyResult | null | undefined;
    const t12 = study.truth.t12;
    return {
      node: { url: node.url, workDir },
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
  } finally {
    await node.stop();
  }
}
