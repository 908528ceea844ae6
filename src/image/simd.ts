/**
 * The WebAssembly SIMD kernels of simd.wat, one instance per thread (each decoding worker loads
 * its own). Each call copies its input into the instance's memory and its output back out: a
 * memcpy is ~0.1 ms a 512² slice, the kernels a few times less, the JavaScript loops they replace
 * ~1 ms. Where WebAssembly SIMD is missing (an x86 CPU without SSE4.1) or a call's values fall
 * outside what a kernel handles exactly, the functions answer false or null and the caller runs
 * its JavaScript loop, which gives the same values (test/simd-kernels.test.ts compares them).
 */
import { SIMD_MODULE_BASE64 } from './simd-module.ts';

/** The part of the WebAssembly API used here (the project's TypeScript libs declare none). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: WasmApi };

interface KernelExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  huFromInt32(src: number, dst: number, n: number, intercept: number, low: number, high: number): void;
  halve(src: number, dst: number, rows: number, columns: number, pad: number): void;
  gather(dst: number, src: number, idx: number, n: number): void;
}

/** undefined: not loaded yet; null: unavailable here (or switched off by a test). */
let kernels: KernelExports | null | undefined;

function loaded(): KernelExports | null {
  if (kernels !== undefined) return kernels;
  try {
    const module = new wasm.Module(Buffer.from(SIMD_MODULE_BASE64, 'base64'));
    kernels = new wasm.Instance(module).exports as KernelExports;
  } catch {
    kernels = null;
  }
  return kernels;
}

/** Switch the kernels off (false) or on again, on this thread: the tests compare both ways. True when they are in use. */
export function useSimdKernels(enabled: boolean): boolean {
  kernels = enabled ? undefined : null;
  residentIndex = null;
  return loaded() !== null;
}

/** The lookup table `gridOfHalvedSimd` last copied to the start of the memory (it stays there between slices). */
let residentIndex: Int32Array | null = null;

/** The instance's memory, grown to at least `bytes` (views made before a growth are detached: make them after). */
function memoryOf(k: KernelExports, bytes: number): ArrayBuffer {
  const have = k.memory.buffer.byteLength;
  if (have < bytes) k.memory.grow(Math.ceil((bytes - have) / 65536));
  return k.memory.buffer;
}

const align16 = (n: number) => (n + 15) & ~15;

/** Where the memory is free: after the resident lookup table. */
const residentEnd = () => align16((residentIndex?.length ?? 0) * 4);

/** The kernel keeps |intercept| below this (see simd.wat). */
const MAX_INTERCEPT = 2 ** 19;

/**
 * `out` = stored + intercept clamped to Int16, or −1024 where low ≤ stored ≤ high (padding; pass
 * low > high for none). False, with `out` untouched, where the kernel cannot give exactly that:
 * no SIMD here, a fractional or very large intercept or padding bound.
 */
export function huFromStoredSimd(stored: Int32Array, intercept: number, low: number, high: number, out: Int16Array): boolean {
  const k = loaded();
  if (!k || !Number.isInteger(intercept) || Math.abs(intercept) >= MAX_INTERCEPT || !Number.isFinite(low) || !Number.isFinite(high)) return false;
  // Stored values are whole numbers: the bounds rounded inwards match the same values, and bounds
  // beyond Int32 match what Int32's ends match.
  const lowI = Math.max(-(2 ** 31), Math.ceil(low));
  const highI = Math.min(2 ** 31 - 1, Math.floor(high));
  const none = lowI > highI;
  const n = out.length;
  const src = residentEnd();
  const dst = align16(src + n * 4);
  const buffer = memoryOf(k, dst + n * 2);
  new Int32Array(buffer, src, n).set(stored.length === n ? stored : stored.subarray(0, n));
  k.huFromInt32(src, dst, n, intercept, none ? 1 : lowI, none ? 0 : highI);
  out.set(new Int16Array(buffer, dst, n));
  return true;
}

/**
 * A slice on a grid of 2 × 2 blocks: `image[p]` = the mean of the block at `halvedIndex[p]` of
 * the halved slice (see `halveSimd`; −1: outside the image, −1000 HU), for `rows` × `columns`
 * pixels of `hu` from `base`. The table is copied in once and kept while the same array is given
 * (a series sends one grid with every slice). False, nothing written, without SIMD.
 */
export function gridOfHalvedSimd(hu: Int16Array, base: number, rows: number, columns: number, padding: number, halvedIndex: Int32Array, image: Int16Array): boolean {
  const k = loaded();
  if (!k || !Number.isInteger(padding) || padding < -32768 || padding > 32767) return false;
  const n = rows * columns;
  const src = align16(halvedIndex.length * 4);
  const halved = align16(src + n * 2);
  const out = align16(halved + (rows >> 1) * (columns >> 1) * 2);
  const buffer = memoryOf(k, out + image.length * 2);
  if (residentIndex !== halvedIndex) {
    new Int32Array(buffer, 0, halvedIndex.length).set(halvedIndex);
    residentIndex = halvedIndex;
  }
  new Int16Array(buffer, src, n).set(hu.subarray(base, base + n));
  k.halve(src, halved, rows, columns, padding);
  k.gather(out, halved, 0, image.length);
  image.set(new Int16Array(buffer, out, image.length));
  return true;
}

/**
 * The 2 × 2 block means (padding as −1000 HU, rounded half up) of `rows` × `columns` pixels of `hu`
 * from `base`: ⌊rows/2⌋ × ⌊columns/2⌋ values, a view into the kernels' memory that is valid until
 * the next kernel call on this thread. Null without SIMD.
 */
export function halveSimd(hu: Int16Array, base: number, rows: number, columns: number, padding: number): Int16Array | null {
  const k = loaded();
  // The kernel compares 16-bit lanes with the padding: one outside Int16 could only match wrongly.
  if (!k || !Number.isInteger(padding) || padding < -32768 || padding > 32767) return null;
  const n = rows * columns;
  const src = residentEnd();
  const dst = align16(src + n * 2);
  const outLength = (rows >> 1) * (columns >> 1);
  const buffer = memoryOf(k, dst + outLength * 2);
  new Int16Array(buffer, src, n).set(hu.subarray(base, base + n));
  k.halve(src, dst, rows, columns, padding);
  return new Int16Array(buffer, dst, outLength);
}
