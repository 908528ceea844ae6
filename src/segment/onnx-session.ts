/**
 * ONNX Runtime sessions, created once per (file, providers, threads) and reused. onnxruntime-node
 * throws when a requested execution provider cannot start (no WebGPU adapter, no CUDA libraries)
 * instead of falling back, so the fallback is ours: the configured list is tried from each
 * preferred provider in turn (['webgpu', 'cuda', 'cpu'] → that list, then ['cuda', 'cpu'], then
 * ['cpu']), and the CPU is always the last resort. Which provider a session runs on, and why a
 * preferred one was skipped, is kept for the segmenter's diagnostics, the logs and /metrics.
 */
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { CtMuscleError } from '../errors.ts';
import { logger } from '../logging.ts';
import type { ProviderChoice, ProviderSkipReason, SkippedProvider } from './types.ts';

export interface SessionOptions {
  /** Preferred providers in order, e.g. ['webgpu', 'cpu']; default ['cpu']. */
  executionProviders?: string[];
  /** Intra-op threads (0 or absent: the runtime's default). */
  threads?: number;
}

export interface LoadedSession extends ProviderChoice {
  session: ort.InferenceSession;
  /** The provider list the session was finally created with. */
  executionProviders: string[];
  /** True when a preferred provider was skipped. */
  fellBack: boolean;
  path: string;
  /** Model label for logs and metrics (the manifest id, or the file name). */
  model: string;
}

const cache = new Map<string, Promise<LoadedSession>>();
/** Sessions that finished loading, by cache key (what /metrics counts without waiting on a load). */
const open = new Map<string, LoadedSession>();
/** Skipped providers since the process started, by model/provider/reason (never reset: a counter). */
const skipCounts = new Map<string, { model: string; provider: string; reason: ProviderSkipReason; count: number }>();

/** The runtime's message tells the cause apart; the code is what dashboards and tests match on. */
export function classifyProviderError(message: string): ProviderSkipReason {
  if (/WebGPU adapter|No supported adapters/i.test(message)) return 'no-adapter';
  if (/Failed to load (shared )?library|cannot open shared object/i.test(message)) return 'library-missing';
  if (/backend not found|not (supported|enabled) in this build/i.test(message)) return 'not-in-build';
  return 'error';
}

/** ['webgpu', 'cuda', 'cpu'] → [['webgpu', 'cuda', 'cpu'], ['cuda', 'cpu'], ['cpu']]; ['webgpu'] → [['webgpu'], ['cpu']]. */
export function providerAttempts(providers: string[]): string[][] {
  const attempts: string[][] = [];
  for (let i = 0; i < providers.length; i++) {
    attempts.push(providers.slice(i));
    if (providers[i] === 'cpu') return attempts;
  }
  attempts.push(['cpu']);
  return attempts;
}

function sessionOptions(providers: string[], threads: number | undefined): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionProviders: providers };
  if (threads && threads > 0) {
    options.intraOpNumThreads = threads;
    options.interOpNumThreads = 1;
  }
  return options;
}

function countSkip(model: string, skipped: SkippedProvider): void {
  const key = JSON.stringify([model, skipped.provider, skipped.reason]);
  const entry = skipCounts.get(key) ?? { model, provider: skipped.provider, reason: skipped.reason, count: 0 };
  entry.count++;
  skipCounts.set(key, entry);
}

async function create(path: string, model: string, requested: string[], threads: number | undefined): Promise<LoadedSession> {
  const skipped: SkippedProvider[] = [];
  for (const providers of providerAttempts(requested)) {
    try {
      const session = await ort.InferenceSession.create(path, sessionOptions(providers, threads));
      const used = providers[0];
      if (skipped.length > 0) {
        logger.warn(`ONNX execution provider ${skipped.map((s) => `${s.provider} (${s.reason})`).join(', ')} unavailable for ${model}; using ${used}`, {
          model,
          requested,
          used,
          skipped,
        });
      }
      return { session, executionProviders: providers, fellBack: skipped.length > 0, path, model, requested, used, skipped };
    } catch (error) {
      const message = (error as Error).message;
      if (providers[0] === 'cpu') throw new CtMuscleError('E_MODEL_LOAD', `Cannot load ONNX model ${path}: ${message}`, { model, skipped });
      const skip: SkippedProvider = { provider: providers[0], reason: classifyProviderError(message), message: message.trim() };
      skipped.push(skip);
      countSkip(model, skip);
    }
  }
  // providerAttempts always ends with a CPU attempt, which returns or throws above.
  throw new CtMuscleError('E_MODEL_LOAD', `Cannot load ONNX model ${path}: no execution provider started.`);
}

/** One session per (file, providers, threads); `model` labels logs and metrics (default: the file name). */
export function loadSession(path: string, options: SessionOptions = {}, model: string = basename(path)): Promise<LoadedSession> {
  const providers = options.executionProviders && options.executionProviders.length > 0 ? options.executionProviders : ['cpu'];
  const key = JSON.stringify([path, providers, options.threads ?? 0]);
  let pending = cache.get(key);
  if (!pending) {
    pending = create(path, model, providers, options.threads);
    // A failed load must not poison the cache: the next call retries.
    const loading = pending;
    loading.then(
      (loaded) => {
        if (cache.get(key) === loading) open.set(key, loaded);
      },
      () => cache.delete(key),
    );
    cache.set(key, pending);
  }
  return pending;
}

/** What /metrics reports: the open sessions by model and provider, and the providers skipped so far. */
export function sessionStats(): {
  sessions: Array<{ model: string; provider: string }>;
  skipped: Array<{ model: string; provider: string; reason: ProviderSkipReason; count: number }>;
} {
  const sessions = [...open.values()].map((loaded) => ({ model: loaded.model, provider: loaded.used }));
  return { sessions, skipped: [...skipCounts.values()].map((entry) => ({ ...entry })) };
}

/** Release every cached session (tests, shutdown). */
export async function releaseSessions(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  open.clear();
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
