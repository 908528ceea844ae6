#!/usr/bin/env node
// Runs the compiled CLI (dist/, built by `npm run build`, which `npm ci` runs through `prepare`):
// compiling TypeScript at every start costs seconds. The TypeScript sources run through tsx
// instead when there is no build, when the build is older than a source file (a checkout edited
// since the last build must not run stale code), or when CT_MUSCLE_NODE_FROM_SOURCE=1 (the test
// suite sets it so that its CLI runs exercise the sources themselves).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const compiled = `${root}dist/cli/main.js`;
const sources = `${root}src`;

/** True when some source file changed after the build (an installed package has no src/). */
function buildIsStale() {
  if (!existsSync(sources)) return false;
  const built = statSync(compiled).mtimeMs;
  return readdirSync(sources, { recursive: true }).some((name) => statSync(`${sources}/${name}`).mtimeMs > built);
}

let entry;
if (existsSync(compiled) && process.env.CT_MUSCLE_NODE_FROM_SOURCE !== '1' && !buildIsStale()) {
  entry = compiled;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = `${root}src/cli/main.ts`;
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
