/**
 * The Python side of the adaptation (tools/adapt, Debian's PyTorch): find an interpreter that has
 * torch and onnx, run a module of tools.adapt from the repository root, relay its JSON-lines
 * progress. Python is started as a child process; its failure never takes the node down.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { CtMuscleError } from '../errors.ts';

/** The folder that holds tools/adapt (the repository or package root). */
export const TOOLS_ROOT = resolve(import.meta.dirname, '..', '..');

export const DEFAULT_PYTHON = '/usr/bin/python3';

export interface PythonInfo {
  python: string;
  version: string;
  torch: string;
  onnx: string;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(python: string, args: string[], onLine?: (line: string) => void, threads?: number): Promise<RunResult> {
  // One thread budget for every pool (PyTorch's, OpenMP's, the BLAS library's): without it a
  // multithreaded BLAS starts one thread per core on top of PyTorch's and they fight.
  const pools = threads ? { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) } : {};
  return new Promise((resolvePromise) => {
    const child = spawn(python, args, { cwd: TOOLS_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...pools } });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine?.(line);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      // Keep the tail only: a long run's warnings must not grow without bound.
      stderr = (stderr + chunk).slice(-8000);
    });
    child.on('error', (error) => resolvePromise({ code: null, stdout, stderr: `${stderr}${error.message}` }));
    child.on('close', (code) => {
      if (pending.trim()) onLine?.(pending);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Checks that `python` runs and imports torch, onnx and numpy; E_ADAPT_PYTHON otherwise. */
export async function findPython(python = DEFAULT_PYTHON): Promise<PythonInfo> {
  const probe = 'import json, sys, torch, onnx, numpy; print(json.dumps({"version": sys.version.split()[0], "torch": torch.__version__, "onnx": onnx.__version__}))';
  const result = await run(python, ['-c', probe]);
  if (result.code !== 0) {
    const reason = result.stderr.trim().split('\n').pop() ?? 'no output';
    throw new CtMuscleError('E_ADAPT_PYTHON', `${python} cannot run the training step: ${reason}. Install Debian's python3-torch, python3-onnx and python3-numpy, or set --python.`, { python });
  }
  const info = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as Omit<PythonInfo, 'python'>;
  return { python, ...info };
}

/** Runs `python -m module args…`; each stdout line that is a JSON object goes to `onEvent`. */
export async function runPythonModule(python: string, module: string, args: string[], onEvent?: (event: Record<string, unknown>) => void, threads?: number): Promise<Array<Record<string, unknown>>> {
  const events: Array<Record<string, unknown>> = [];
  const result = await run(python, ['-m', module, ...args], (line) => {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return; // not a progress line (a library printed something)
    }
    if (event && typeof event === 'object') {
      events.push(event as Record<string, unknown>);
      onEvent?.(event as Record<string, unknown>);
    }
  }, threads);
  if (result.code !== 0) {
    const tail = result.stderr.trim().split('\n').slice(-6).join(' | ');
    throw new CtMuscleError('E_ADAPT_TRAINING', `python -m ${module} exited with ${result.code ?? 'an error'}: ${tail}`, { module });
  }
  return events;
}
