/**
 * `ct-muscle-node serve --role …` as a real child process (bin/ct-muscle-node.js, the sources
 * through tsx as in every test), for the tests and the benchmark that run several processes
 * against one queue: started, waited for ("listening on"), killed with SIGKILL, paused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { killOnExit, repoRoot } from './env.ts';

export type ServeRole = 'all' | 'intake' | 'worker';

export interface ServeProcess {
  role: ServeRole;
  child: ChildProcess;
  /** Where it listens (STOW-RS under /dicomweb for intake and all; health and metrics for every role). */
  url: string;
  /** Everything it wrote, for failure messages. */
  output(): string;
}

export async function startServe(role: ServeRole, configPath: string, options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), '--config', configPath, 'serve', '--role', role], {
    cwd: repoRoot,
    env: { ...process.env, CT_MUSCLE_NODE_FROM_SOURCE: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A test run that dies must not leave node processes behind.
  const forget = killOnExit(child);
  child.once('exit', forget);
  const chunks: string[] = [];
  const output = () => chunks.join('').slice(-20_000);
  child.stdout!.on('data', (d: Buffer) => chunks.push(d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve --role ${role} did not start:\n${output()}`)), options.timeoutMs ?? 60_000);
    child.stderr!.on('data', (d: Buffer) => {
      chunks.push(d.toString());
      const match = /listening on (\S+)/.exec(chunks.join('').slice(-4_000));
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serve --role ${role} exited (${code ?? signal}):\n${output()}`));
    });
  });
  return { role, child, url, output };
}

/** kill -9, resolved once the process is gone. */
export function kill9(process: ServeProcess): Promise<void> {
  return signalAndWait(process, 'SIGKILL');
}

/** SIGTERM (the node stops its parts in order), resolved once the process is gone. */
export function stopServe(process: ServeProcess): Promise<void> {
  return signalAndWait(process, 'SIGTERM');
}

function signalAndWait(process: ServeProcess, signal: NodeJS.Signals): Promise<void> {
  const { child } = process;
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}
