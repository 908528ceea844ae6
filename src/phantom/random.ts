/**
 * Seeded randomness for the phantom. Everything derives from small integer keys hashed together,
 * so any slice (or any anatomical detail) can be produced on its own, in any order, and come out
 * the same: that is what lets a 1,000-slice series stream slice by slice and stay reproducible.
 */
import { createHash } from 'node:crypto';

/** 32-bit mix of several integers (murmur3 finaliser per step): cheap, well spread, deterministic. */
export function hashInts(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const value of values) {
    let k = Math.imul(value | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number;
  /** Standard normal. */
  normal(): number;
}

/**
 * sfc32: fast, small state, passes PractRand far beyond what a phantom needs. Returns raw unsigned
 * 32-bit draws; the first 12 are discarded so nearby seeds decorrelate.
 */
function sfc32(seed: number): () => number {
  let a = hashInts(seed, 1);
  let b = hashInts(seed, 2);
  let c = hashInts(seed, 3);
  let d = hashInts(seed, 4);
  const draw = (): number => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) draw();
  return draw;
}

export function createRng(seed: number): Rng {
  const draw = sfc32(seed);
  const next = (): number => draw() / 4294967296;
  let spare: number | null = null;
  return {
    next,
    range: (lo, hi) => lo + (hi - lo) * next(),
    normal: () => {
      if (spare !== null) {
        const value = spare;
        spare = null;
        return value;
      }
      const u = 1 - next();
      const v = next();
      const radius = Math.sqrt(-2 * Math.log(u));
      spare = radius * Math.sin(2 * Math.PI * v);
      return radius * Math.cos(2 * Math.PI * v);
    },
  };
}

/** Fill `out` with independent standard normals (Box–Muller in pairs: half the logs of one at a time). */
export function fillNormal(rng: Rng, out: Float32Array): void {
  const n = out.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const u = 1 - rng.next();
    const v = rng.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * v;
    out[i] = radius * Math.cos(angle);
    out[i + 1] = radius * Math.sin(angle);
  }
  if (i < n) out[i] = rng.normal();
}

let normalTable: Float32Array | null = null;

/**
 * Fill `out` with standard normals fast: each 32-bit draw picks two entries of a fixed table of
 * 65,536 normals. Image noise needs speed (a 512×512 slice is 262,144 draws) far more than
 * a continuous distribution.
 */
export function fillNormalFast(seed: number, out: Float32Array): void {
  if (!normalTable) {
    normalTable = new Float32Array(65536);
    fillNormal(createRng(0x5eed), normalTable);
  }
  const table = normalTable;
  const draw = sfc32(seed);
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    const t = draw();
    out[i] = table[t >>> 16];
    if (i + 1 < n) out[i + 1] = table[t & 0xffff];
  }
}

/** A '2.25.' UID (ISO/IEC 9834-8 style UUID-derived OID) from a hash of the given text. */
export function uidFromText(text: string): string {
  const digest = createHash('sha256').update(text).digest();
  let value = 0n;
  // 128 bits: the range a 2.25 UID is defined over, and short enough for the 64-character limit.
  for (let i = 0; i < 16; i++) value = (value << 8n) | BigInt(digest[i]);
  return `2.25.${value.toString(10)}`;
}
