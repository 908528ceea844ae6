// `npm ci` / `npm install` run this (the `prepare` script): compile src/ to dist/ so that the
// command starts from JavaScript. Skipped, with a line saying so, where there is nothing to
// compile yet (the Dockerfile installs dependencies before copying the sources, then builds).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = `${root}node_modules/typescript/bin/tsc`;
if (!existsSync(`${root}src`) || !existsSync(`${root}tsconfig.build.json`) || !existsSync(tsc)) {
  console.log('prepare: no sources or no TypeScript compiler here; dist/ not built (run `npm run build` later).');
} else {
  const result = spawnSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
  process.exitCode = result.status ?? 1;
}
