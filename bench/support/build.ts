/**
 * Whether the installed command would run the compiled build: dist/ exists and no source file
 * changed after it was built (bin/ct-muscle-node.js falls back to the sources through tsx
 * otherwise). The benchmarks that measure the command as deployed say which code they ran.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../test/support/env.ts';

export const compiledMain = join(repoRoot, 'dist', 'cli', 'main.js');

/** dist/ exists and no source changed after it was built. */
export function freshBuild(): boolean {
  if (!existsSync(compiledMain)) return false;
  const built = statSync(compiledMain).mtimeMs;
  return !readdirSync(join(repoRoot, 'src'), { recursive: true }).some((name) => statSync(join(repoRoot, 'src', String(name))).mtimeMs > built);
}
