/**
 * The code a worker thread is started with (`new Worker(code, { eval: true })`): it loads a module
 * that lies beside the caller. Under tsx (the sources, the tests) the worker must register tsx
 * itself; the built dist/ runs plain JavaScript.
 */
export function workerEntrySource(callerUrl: string, moduleName: string): string {
  const fromSources = callerUrl.endsWith('.ts');
  const target = new URL(`./${moduleName}${fromSources ? '.ts' : '.js'}`, callerUrl).href;
  const load = `import(${JSON.stringify(target)})`;
  return fromSources ? `import('tsx/esm/api').then((tsx) => { tsx.register(); return ${load}; })` : load;
}
