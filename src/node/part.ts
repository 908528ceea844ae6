/**
 * The contract of a node part: something that runs while the node runs (an HTTP listener, a
 * receiver, a worker pool, a cron poller). Parts get their dependencies passed in when they are
 * made; `server.ts` makes them, starts them in order and stops them in reverse.
 */
export interface NodePart {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Start parts in order; if one fails, stop the ones already started (reverse order) and rethrow. */
export async function startParts(parts: readonly NodePart[]): Promise<void> {
  const started: NodePart[] = [];
  try {
    for (const part of parts) {
      await part.start();
      started.push(part);
    }
  } catch (error) {
    await stopParts(started);
    throw error;
  }
}

/** Stop parts in reverse order of starting: a part stops before what it depends on. */
export async function stopParts(parts: readonly NodePart[]): Promise<void> {
  for (const part of [...parts].reverse()) await part.stop();
}
