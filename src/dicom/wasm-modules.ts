/**
 * The cornerstone codec packages are Emscripten modules: a factory that resolves to classes
 * (J2KDecoder, JpegLSEncoder, …). Each loads once per process, with `print` silenced because
 * OpenJPEG logs every decode to stdout, where the commands' JSON goes.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type WasmFactory<M> = (overrides: Record<string, unknown>) => Promise<M>;

const modules = new Map<string, Promise<unknown>>();

export function loadWasmModule<M>(specifier: string): Promise<M> {
  let loading = modules.get(specifier);
  if (!loading) {
    const factory = require(specifier) as WasmFactory<M>;
    const silent = () => undefined;
    loading = factory({ print: silent, printErr: silent });
    modules.set(specifier, loading);
  }
  return loading as Promise<M>;
}
