import { readFileSync } from 'node:fs';

/** This build's version (package.json): written into outputs, and part of what the node's caches are valid for. */
export const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
