import type { RunningNode } from '../../src/server.ts';

/** A counter of a node's /metrics by its `outcome` label, e.g. { used: 300, absent: 0 } (outcomes not yet counted are absent). */
export async function countsByOutcome(node: Pick<RunningNode, 'url'>, name: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(new RegExp(`^${name}\\{outcome="([a-z-]+)"\\} (\\d+)`, 'gm'))].map((m) => [m[1], Number(m[2])]));
}
