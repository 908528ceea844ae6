/**
 * A seeded mutator of DICOM Part 10 instances (Explicit VR Little Endian seeds), for the
 * hostile-input tests here and for the node-level fuzzer (which sends the same cases to a
 * running node). Every case is reproducible from (seed, index): `fuzzCases(seeds, {seed})`.
 *
 * Mutations: element lengths (undefined, 0x7FFFFFFF, ±1, past the end), VRs (UN/OB/SQ/junk with
 * the header re-laid), truncation (anywhere, inside PixelData), Deflated syntax (valid, and
 * bombs that inflate far past the declared image), UIDs (characters, `..`, leading zeros, > 64
 * characters, empty), SOP Class (MR with Modality CT), tag order, byte flips, deep nesting.
 */
import { deflateRawSync } from 'node:zlib';

export interface TopElement {
  /** Offset of the element header. */
  offset: number;
  tag: number;
  vr: string;
  headerLength: number;
  /** Declared length (0xFFFFFFFF for undefined). */
  length: number;
  valueOffset: number;
  /** Offset just after the element, or the end of the input when it cannot be told. */
  end: number;
}

export interface FuzzCase {
  /** `<index>:<mutation>`; (seed, index) reproduces it. */
  name: string;
  mutation: string;
  /** The seed instance it came from (its index in the seeds given). */
  seedIndex: number;
  bytes: Uint8Array;
}

export const TS_EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const TS_DEFLATED = '1.2.840.10008.1.2.1.99';
export const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV']);
const UNDEFINED = 0xffffffff;

/** Small, fast, seedable PRNG (mulberry32): the same seed gives the same cases on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function tagOf(hex: string): number {
  return parseInt(hex, 16) >>> 0;
}

/**
 * The top-level elements of an Explicit VR LE Part 10 instance, meta group included (a tolerant
 * lister for test inputs the seeds are known to be well formed; undefined-length elements are
 * skipped to their sequence delimiter).
 */
export function topLevelElements(bytes: Uint8Array): TopElement[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: TopElement[] = [];
  let offset = 132;
  while (offset + 8 <= bytes.length) {
    const tag = ((view.getUint16(offset, true) << 16) | view.getUint16(offset + 2, true)) >>> 0;
    const vr = String.fromCharCode(bytes[offset + 4], bytes[offset + 5]);
    const long = LONG_VRS.has(vr);
    const headerLength = long ? 12 : 8;
    const length = long ? view.getUint32(offset + 8, true) : view.getUint16(offset + 6, true);
    const valueOffset = offset + headerLength;
    let end = length === UNDEFINED ? findSequenceDelimiter(bytes, valueOffset) : valueOffset + length;
    if (end > bytes.length) end = bytes.length;
    out.push({ offset, tag, vr, headerLength, length, valueOffset, end });
    offset = end;
  }
  return out;
}

function findSequenceDelimiter(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 8 <= bytes.length; i += 2) {
    if (bytes[i] === 0xfe && bytes[i + 1] === 0xff && bytes[i + 2] === 0xdd && bytes[i + 3] === 0xe0) return i + 8;
  }
  return bytes.length;
}

export function findElement(bytes: Uint8Array, tagHex: string): TopElement | undefined {
  const tag = tagOf(tagHex);
  return topLevelElements(bytes).find((e) => e.tag === tag);
}

function elementHeader(tag: number, vr: string, length: number): Uint8Array {
  const long = LONG_VRS.has(vr);
  const header = new Uint8Array(long ? 12 : 8);
  const view = new DataView(header.buffer);
  view.setUint16(0, tag >>> 16, true);
  view.setUint16(2, tag & 0xffff, true);
  header[4] = vr.charCodeAt(0);
  header[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, length >>> 0, true);
  else view.setUint16(6, length & 0xffff, true);
  return header;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Pad a string value to even length (NUL for UI, space otherwise), as DICOM requires. */
export function paddedValue(text: string, vr: string): Uint8Array {
  const bytes = Buffer.from(text, 'latin1');
  return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
}

/** Keep the meta group length right after a meta element changed size (readers may rely on it). */
function fixMetaGroupLength(bytes: Uint8Array): Uint8Array {
  const elements = topLevelElements(bytes);
  const groupLength = elements.find((e) => e.tag === 0x00020000);
  const lastMeta = elements.filter((e) => e.tag >>> 16 === 0x0002).pop();
  if (!groupLength || !lastMeta) return bytes;
  const out = new Uint8Array(bytes);
  new DataView(out.buffer).setUint32(groupLength.valueOffset, lastMeta.end - groupLength.end, true);
  return out;
}

/**
 * Replace one top-level element: a new value (string or bytes), a new VR (header re-laid, the
 * old value bytes kept), and/or a forged declared length. Inserts the element when absent.
 */
export function rewriteElement(bytes: Uint8Array, tagHex: string, change: { vr?: string; value?: string | Uint8Array; length?: number }): Uint8Array {
  const tag = tagOf(tagHex);
  const elements = topLevelElements(bytes);
  const found = elements.find((e) => e.tag === tag);
  const vr = change.vr ?? found?.vr ?? 'UN';
  const oldValue = found ? bytes.subarray(found.valueOffset, found.end) : new Uint8Array();
  const value = change.value === undefined ? oldValue : typeof change.value === 'string' ? paddedValue(change.value, vr) : change.value;
  const element = concat([elementHeader(tag, vr, change.length ?? value.length), value]);
  let out: Uint8Array;
  if (found) out = concat([bytes.subarray(0, found.offset), element, bytes.subarray(found.end)]);
  else {
    const next = elements.find((e) => e.tag > tag);
    const at = next ? next.offset : bytes.length;
    out = concat([bytes.subarray(0, at), element, bytes.subarray(at)]);
  }
  return tag >>> 16 === 0x0002 ? fixMetaGroupLength(out) : out;
}

/** The offset where the dataset (after group 0002) begins. */
export function datasetOffset(bytes: Uint8Array): number {
  const meta = topLevelElements(bytes).filter((e) => e.tag >>> 16 === 0x0002);
  return meta.length > 0 ? meta[meta.length - 1].end : 132;
}

/**
 * The same instance in Deflated Explicit VR Little Endian. `extraZeroBytes` adds a private OB
 * element of zeros before PixelData first: a few KB of deflate that inflate to that many bytes
 * (a decompression bomb once it is far larger than the declared image).
 */
export function toDeflated(bytes: Uint8Array, extraZeroBytes = 0): Uint8Array {
  let source = rewriteElement(bytes, '00020010', { vr: 'UI', value: TS_DEFLATED });
  if (extraZeroBytes > 0) source = rewriteElement(source, '00090010', { vr: 'LO', value: 'CT-MUSCLE-FUZZ' });
  const start = datasetOffset(source);
  let dataset = source.subarray(start);
  if (extraZeroBytes > 0) {
    // Inserted after the private creator, before PixelData, as one concatenation (the zeros are large).
    const at = findElement(source, '00090010')!.end - start;
    const length = extraZeroBytes + (extraZeroBytes % 2);
    dataset = Buffer.concat([dataset.subarray(0, at), elementHeader(0x00091001, 'OB', length), new Uint8Array(length), dataset.subarray(at)]);
  }
  // Level 1: zeros deflate about 1000:1 at any level, and the bombs are built quickly.
  return concat([source.subarray(0, start), deflateRawSync(dataset, { level: 1 })]);
}

/** One cut: the first `length` bytes. */
export function truncate(bytes: Uint8Array, length: number): Uint8Array {
  return bytes.slice(0, Math.max(0, Math.min(bytes.length, length)));
}

/** The instance cut inside its PixelData value (fraction 0..1 of the value kept). */
export function truncateInPixelData(bytes: Uint8Array, keptFraction: number): Uint8Array {
  const pixels = findElement(bytes, '7FE00010');
  if (!pixels) throw new Error('seed has no PixelData');
  const valueLength = pixels.end - pixels.valueOffset;
  return truncate(bytes, pixels.valueOffset + Math.max(1, Math.floor(valueLength * keptFraction)));
}

export const HOSTILE_UIDS = ['..', '.', '1.2.3\n4', '1.2.3/4', '1.2.03.4', '1..2', '1.2.', `1.${'2'.repeat(70)}`, ' ', '1.2.3 4', '../../etc'] as const;
const UID_TAGS = ['0020000D', '0020000E', '00080018'] as const;

/** Nested sequences `depth` deep (defined lengths), as a private element: stack-depth attack. */
export function deepSequence(depth: number): Uint8Array {
  let inner: Uint8Array = new Uint8Array();
  for (let i = 0; i < depth; i++) {
    const item = concat([Uint8Array.from([0xfe, 0xff, 0x00, 0xe0]), u32(inner.length), inner]);
    inner = concat([elementHeader(0x00091002, 'SQ', item.length), item]);
  }
  return inner.subarray(12); // the caller's element header replaces the outermost one
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, true);
  return out;
}

/** Bombs take a while to deflate and depend only on (seed, size): built once per pair. */
const bombs = new WeakMap<Uint8Array, Map<number, Uint8Array>>();
function cachedBomb(bytes: Uint8Array, extra: number): Uint8Array {
  const bySize = bombs.get(bytes) ?? new Map<number, Uint8Array>();
  bombs.set(bytes, bySize);
  if (!bySize.has(extra)) bySize.set(extra, toDeflated(bytes, extra));
  return bySize.get(extra)!;
}

type Mutator = (bytes: Uint8Array, random: () => number) => { mutation: string; bytes: Uint8Array };

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length)];
}

/** A dataset element (not meta, not PixelData) chosen at random. */
function someElement(bytes: Uint8Array, random: () => number): TopElement {
  const candidates = topLevelElements(bytes).filter((e) => e.tag >>> 16 !== 0x0002 && e.tag !== 0x7fe00010);
  return pick(candidates, random);
}

function hex(tag: number): string {
  return tag.toString(16).toUpperCase().padStart(8, '0');
}

const MUTATORS: ReadonlyArray<[weight: number, mutator: Mutator]> = [
  [3, (b, r) => {
    const e = someElement(b, r);
    const length = pick([0xffffffff, 0x7fffffff, 0xfffffffe, e.length + 1, e.length + 1001, Math.floor(r() * 2 ** 32)], r);
    const vr = LONG_VRS.has(e.vr) ? e.vr : pick(['UN', 'OB', 'UT'], r);
    return { mutation: `length ${hex(e.tag)} as ${vr} = ${length}`, bytes: rewriteElement(b, hex(e.tag), { vr, length }) };
  }],
  [2, (b, r) => {
    const e = someElement(b, r);
    const vr = pick(['UN', 'OB', 'SQ', 'UT', 'XX', 'ab', 'US', 'DS'], r);
    return { mutation: `vr ${hex(e.tag)} ${e.vr}→${vr}`, bytes: rewriteElement(b, hex(e.tag), { vr }) };
  }],
  [3, (b, r) => {
    const at = Math.floor(r() * b.length);
    return { mutation: `truncate at ${at}/${b.length}`, bytes: truncate(b, at) };
  }],
  [2, (b, r) => {
    const fraction = r();
    return { mutation: `truncate in PixelData at ${fraction.toFixed(3)}`, bytes: truncateInPixelData(b, fraction) };
  }],
  [1, (b) => ({ mutation: 'deflate', bytes: toDeflated(b) })],
  [1, (b, r) => {
    const extra = pick([4, 8, 24], r) * 1024 * 1024;
    return { mutation: `deflate bomb +${extra / 1048576} MiB`, bytes: cachedBomb(b, extra) };
  }],
  [2, (b, r) => {
    const tag = pick(UID_TAGS, r);
    const uid = pick(HOSTILE_UIDS, r);
    return { mutation: `uid ${tag} = ${JSON.stringify(uid)}`, bytes: rewriteElement(b, tag, { vr: 'UI', value: uid }) };
  }],
  [1, (b) => ({ mutation: 'sop class MR with Modality CT', bytes: rewriteElement(b, '00080016', { vr: 'UI', value: MR_IMAGE_STORAGE }) })],
  [1, (b, r) => {
    // Tag order: swap two neighbouring dataset elements.
    const elements = topLevelElements(b).filter((e) => e.tag >>> 16 !== 0x0002 && e.tag !== 0x7fe00010);
    const i = Math.floor(r() * (elements.length - 1));
    const [x, y] = [elements[i], elements[i + 1]];
    const swapped = concat([b.subarray(0, x.offset), b.subarray(y.offset, y.end), b.subarray(x.offset, x.end), b.subarray(y.end)]);
    return { mutation: `swap ${hex(x.tag)}/${hex(y.tag)}`, bytes: swapped };
  }],
  [2, (b, r) => {
    const out = new Uint8Array(b);
    const count = 1 + Math.floor(r() * 8);
    const header = Math.min(out.length, datasetOffset(b) + 2048);
    for (let i = 0; i < count; i++) out[Math.floor(r() * header)] = Math.floor(r() * 256);
    return { mutation: `flip ${count} header bytes`, bytes: out };
  }],
  [1, (b, r) => {
    const depth = pick([20, 200, 2000], r);
    return { mutation: `nested sequences ${depth} deep`, bytes: rewriteElement(b, '00091002', { vr: 'SQ', value: deepSequence(depth) }) };
  }],
];

const TOTAL_WEIGHT = MUTATORS.reduce((sum, [w]) => sum + w, 0);

function chooseMutator(random: () => number): Mutator {
  let x = random() * TOTAL_WEIGHT;
  for (const [weight, mutator] of MUTATORS) {
    if ((x -= weight) < 0) return mutator;
  }
  return MUTATORS[MUTATORS.length - 1][1];
}

/** Default case count (CT_MUSCLE_FUZZ_CASES overrides). */
export function fuzzCaseCount(defaultCount = 2000): number {
  const fromEnv = Number(process.env.CT_MUSCLE_FUZZ_CASES);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : defaultCount;
}

/**
 * `count` mutated cases from the seed instances (Explicit VR LE Part 10 with PixelData). Each
 * case applies one or two mutations; the same (seeds, seed, count) always give the same cases.
 */
export function* fuzzCases(seeds: readonly Uint8Array[], options: { seed?: number; count?: number } = {}): Generator<FuzzCase> {
  const random = seededRandom(options.seed ?? 11);
  const count = options.count ?? fuzzCaseCount();
  for (let index = 0; index < count; index++) {
    const seedIndex = Math.floor(random() * seeds.length);
    let bytes = seeds[seedIndex];
    const applied: string[] = [];
    const rounds = random() < 0.2 ? 2 : 1;
    for (let round = 0; round < rounds; round++) {
      try {
        const result = chooseMutator(random)(bytes, random);
        bytes = result.bytes;
        applied.push(result.mutation);
      } catch {
        break; // a second mutation may find nothing to mutate in an already broken instance
      }
    }
    yield { name: `${index}:${applied.join(' + ')}`, mutation: applied.join(' + '), seedIndex, bytes };
  }
}
