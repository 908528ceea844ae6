import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.ts';

/** A node configuration for tests: everything under `dir`, any free port, a short quiet period and fast retries, no warm-up. */
export function nodeConfig(dir: string, overrides: Partial<Config> = {}): Config {
  const base = loadConfig({ env: {} });
  return {
    ...base,
    logLevel: 'warn',
    spoolDir: join(dir, 'spool'),
    output: { dir: join(dir, 'out'), overlay: false, notMeasuredSr: true },
    server: { ...base.server, port: 0 },
    queue: { ...base.queue, path: join(dir, 'jobs.sqlite'), baseDelayMs: 50, maxDelayMs: 200, maxAttempts: 3 },
    assembly: { quietPeriodSeconds: 0.2 },
    warmUp: false,
    ...overrides,
  };
}
