/**
 * ONNX Runtime sessions, created once per (file, providers, threads) and reused. onnxruntime-node
 * throws when a requested execution provider is unavailable instead of falling back, so a failed
 * creation is logged and retried on the CPU provider: a site that configures ['cuda', 'cpu'] on a
 * machine without CUDA still runs.
 */
import * as ort from 'onnxruntime-node';
import { CtMuscleError } from '../errors.ts';
import { logger } from '../logging.ts';

export interface SessionOptions {
  /** e.g. ['cuda', 'cpu']; default ['cpu']. */
  executionProviders?: string[];
  /** Intra-op threads (0 or absent: the runtime's default). */
  threads?: number;
}

export interface LoadedSession {
  session: ort.InferenceSession;
  /** The provider list the session was finally created with. */
  executionProviders: string[];
  /** True when the requested providers failed and the CPU was used instead. */
  fellBack: boolean;
  path: string;
}

const cache = new Map<string, Promise<LoadedSession>>();

async function create(path: string, providers: string[], threads: number | undefined): Promise<LoadedSession> {
  const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
  if (threads && threads > 0) {
    base.intraOpNumThreads = threads;
    base.interOpNumThreads = 1;
  }
  try {
    const session = await ort.InferenceSession.create(path, { ...base, executionProviders: providers });
    return { session, executionProviders: providers, fellBack: false, path };
  } catch (error) {
    const onlyCpu = providers.length === 1 && providers[0] === 'cpu';
    if (onlyCpu) throw new CtMuscleError('E_MODEL_LOAD', `Cannot load ONNX model ${path}: ${(error as Error).message}`);
    logger.warn('ONNX execution providers unavailable; falling back to CPU', { path, requested: providers, reason: (error as Error).message });
    try {
      const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
      return { session, executionProviders: ['cpu'], fellBack: true, path };
    } catch (cpuError) {
      throw new CtMuscleError('E_MODEL_LOAD', `Cannot load ONNX model ${path}: ${(cpuError as Error).message}`);
    }
  }
}

export function loadSession(path: string, options: SessionOptions = {}): Promise<LoadedSession> {
  const providers = options.executionProviders && options.executionProviders.length > 0 ? options.executionProviders : ['cpu'];
  const key = JSON.stringify([path, providers, options.threads ?? 0]);
  let pending = cache.get(key);
  if (!pending) {
    pending = create(path, providers, options.threads);
    // A failed load must not poison the cache: the next call retries.
    pending.catch(() => cache.delete(key));
    cache.set(key, pending);
  }
  return pending;
}

/** Release every cached session (tests, shutdown). */
export async function releaseSessions(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  for (const pending of all) {
    try {
      await (await pending).session.release();
    } catch {
      // already failed or released
    }
  }
}

export function inputMeta(session: ort.InferenceSession, name: string): { shape: Array<number | string>; type: string } | null {
  const index = session.inputNames.indexOf(name);
  if (index < 0) return null;
  const meta = session.inputMetadata[index] as { isTensor: boolean; shape?: Array<number | string>; type?: string };
  return meta.isTensor ? { shape: meta.shape ?? [], type: meta.type ?? 'float32' } : null;
}

export { ort };
