/** Where tests find real data and tools; tests skip with a clear message when something is absent. */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** ../shared/data beside the checkout, or CT_MUSCLE_DATA. Never copied into the repository. */
export const sharedData = process.env.CT_MUSCLE_DATA ?? resolve(repoRoot, '../shared/data');

export const pydicomTestFiles = process.env.PYDICOM_TEST_FILES ?? '/usr/lib/python3/dist-packages/pydicom/data/test_files';

export function dataPath(...parts: string[]): string {
  return join(sharedData, ...parts);
}

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

const serverChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * A test run that dies or is interrupted must not leave server processes (Orthanc, PostgreSQL)
 * behind: they are killed when this process exits. Returns what forgets the child once it is stopped.
 */
export function killOnExit(child: ChildProcess): () => void {
  if (!exitHookInstalled) process.once('exit', () => serverChildren.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));
  exitHookInstalled = true;
  serverChildren.add(child);
  return () => forgetChild(child);
}

export function forgetChild(child: ChildProcess): void {
  serverChildren.delete(child);
}

/** Skip the current test (or hook's suite), saying why, when `reason` names something missing. */
export function skipFor(context: Mocha.Context, reason: string | null): void {
  if (reason) {
    console.log(`      skipped: ${reason}`);
    context.skip();
  }
}

/** Skip the current test (or hook's suite) unless every path exists. */
export function requirePaths(context: Mocha.Context, ...paths: string[]): void {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0) {
    console.log(`      skipped: missing ${missing.join(', ')} (set CT_MUSCLE_DATA or install python3-pydicom)`);
    context.skip();
  }
}

export function requireCommands(context: Mocha.Context, ...names: string[]): void {
  const missing = names.filter((n) => !hasCommand(n));
  if (missing.length > 0) {
    console.log(`      skipped: command(s) not installed: ${missing.join(', ')} (.ci/run installs them)`);
    context.skip();
  }
}

export function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function makeTempDir(prefix = 'ctmn-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
