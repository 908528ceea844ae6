/**
 * Imports run one way along the data flow: no folder under src/ imports a folder that imports
 * it back, directly or through others. Files directly in src/ (config.ts, errors.ts, server.ts …)
 * count as their own nodes. Type-only imports count too: they tie the folders together as much.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g;

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The node a file belongs to: its top folder under src/, or the file itself when it sits in src/. */
function nodeOf(path: string): string {
  const parts = relative(SRC, path).split(sep);
  return parts.length > 1 ? `${parts[0]}/` : parts[0];
}

export function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(SRC)) {
    const from = nodeOf(file);
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(file), match[1]);
      if (!target.startsWith(SRC)) continue;
      const to = nodeOf(target);
      if (to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      // One example import per edge, to name in the failure.
      if (!edges.has(to)) edges.set(to, `${relative(SRC, file)} → ${match[1]}`);
      graph.set(from, edges);
    }
  }
  return graph;
}

/** Every cycle's nodes (strongly connected components with more than one node), by Tarjan's algorithm. */
export function cycles(graph: Map<string, Map<string, string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indices.get(next)!));
    }
    if (low.get(node) !== indices.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return found;
}

describe('architecture', () => {
  it('has no import cycle between folders of src/', () => {
    const graph = folderGraph();
    const found = cycles(graph);
    const explain = found.map((c) => c.flatMap((from) => c.filter((to) => graph.get(from)?.has(to)).map((to) => `${from} → ${to} (${graph.get(from)!.get(to)})`)).join('\n'));
    assert.deepEqual(found, [], explain.join('\n\n'));
  });

  it('finds a cycle when there is one (the check can fail)', () => {
    const graph = new Map([
      ['a/', new Map([['b/', 'a/x.ts → ../b/y.ts']])],
      ['b/', new Map([['c.ts', 'b/y.ts → ../c.ts']])],
      ['c.ts', new Map([['a/', 'c.ts → ./a/x.ts']])],
    ]);
    assert.deepEqual(cycles(graph), [['a/', 'b/', 'c.ts']]);
  });
});
