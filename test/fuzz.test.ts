/**
 * Seeded fuzzing of the DICOM intake (issue #11): ~2,000 mutated instances by default
 * (CT_MUSCLE_FUZZ_CASES for more) from phantom instances (native and JPEG 2000) and, when
 * present, real CT (shared data). Each case goes through the receiver's check (checkInstance),
 * the full parse and decode, a sample through `inspect`'s scanning and the pipeline entry.
 * Asserted: typed errors only (never E_INTERNAL, never a throw), each case time-bounded, RSS
 * bounded. A failure names the case; (seed, index) reproduces it with test/support/fuzz.ts.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { checkInstance } from '../src/dicom/check-instance.ts';
import type { DicomLimits } from '../src/dicom/limits.ts';
import { decodeFrame } from '../src/dicom/pixels.ts';
import { parseDicomAsync } from '../src/dicom/read.ts';
import { scanPaths } from '../src/dicom/scan.ts';
import { ERROR_CODES, isCtMuscleError } from '../src/errors.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { analyzeHeaders, inspectPaths } from '../src/pipeline/index.ts';
import { dataPath, makeTempDir } from './support/env.ts';
import { fuzzCaseCount, fuzzCases } from './support/fuzz.ts';

const MIB = 1024 * 1024;
const FUZZ_SEED = Number(process.env.CT_MUSCLE_FUZZ_SEED ?? 11);
const CASE_TIME_LIMIT_MS = 20_000;
const RSS_LIMIT = 1.5 * 1024 * MIB;
/** Small limits so bombs are refused at a few MiB (the defaults are tested in hostile-dicom.test.ts). */
const LIMITS: DicomLimits = { maxInstanceBytes: 64 * MIB, maxInflatedBytes: 64 * MIB, headerAllowanceBytes: 2 * MIB };
const TYPED = new Set(Object.keys(ERROR_CODES));

async function seedInstances(): Promise<Uint8Array[]> {
  const native = await generatePhantomStudy({ rows: 128, columns: 128, sliceCount: 1, fromLevel: 'T12', seed: 21 });
  const j2k = await generatePhantomStudy({ rows: 128, columns: 128, sliceCount: 1, fromLevel: 'T12', seed: 22, transferSyntaxUid: '1.2.840.10008.1.2.4.90' });
  const seeds = [native.files[0].bytes, j2k.files[0].bytes];
  const real = dataPath('totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_uncompressed');
  try {
    seeds.push(...readdirSync(real).sort().slice(0, 2).map((name) => new Uint8Array(readFileSync(join(real, name)))));
  } catch {
    console.log(`      (real CT seeds skipped: ${real} is absent; set CT_MUSCLE_DATA)`);
  }
  return seeds;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: over ${CASE_TIME_LIMIT_MS} ms`)), CASE_TIME_LIMIT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A typed error is fine; anything else (an untyped throw, E_INTERNAL) fails the case. */
async function typedOnly(what: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await withTimeout(run(), what);
  } catch (error) {
    if (isCtMuscleError(error) && TYPED.has(error.code)) return;
    throw new Error(`${what}: untyped failure ${(error as Error).stack ?? String(error)}`, { cause: error });
  }
}

describe('fuzzing the DICOM intake (seeded mutator)', function () {
  this.timeout(0);
  let tmp: ReturnType<typeof makeTempDir>;
  before(() => (tmp = makeTempDir('ctmn-fuzz-')));
  after(() => tmp.remove());

  it(`typed errors only, each case bounded in time, RSS below 1.5 GB (${fuzzCaseCount()} cases, seed ${FUZZ_SEED})`, async () => {
    const seeds = await seedInstances();
    const counts = new Map<string, number>();
    let maxRss = 0;
    let sampled = 0;
    for (const fuzzCase of fuzzCases(seeds, { seed: FUZZ_SEED })) {
      const checked = await withTimeout(checkInstance(fuzzCase.bytes, LIMITS), fuzzCase.name);
      const code = checked.ok ? 'accepted' : checked.code;
      assert.ok(checked.ok || TYPED.has(checked.code), `${fuzzCase.name}: ${code} ${checked.ok ? '' : checked.message}`);
      counts.set(code, (counts.get(code) ?? 0) + 1);
      await typedOnly(`${fuzzCase.name} (full parse + decode)`, async () => decodeFrame(await parseDicomAsync(fuzzCase.bytes, { limits: LIMITS })));
      if (Number(fuzzCase.name.split(':')[0]) % 20 === 0) {
        writeFileSync(join(tmp.path, `case-${String(sampled++).padStart(5, '0')}.dcm`), fuzzCase.bytes);
      }
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
      assert.ok(maxRss < RSS_LIMIT, `${fuzzCase.name}: RSS ${Math.round(maxRss / MIB)} MiB`);
    }
    console.log(`      outcomes: ${JSON.stringify(Object.fromEntries([...counts].sort()))}; max RSS ${Math.round(maxRss / MIB)} MiB`);
    assert.ok((counts.get('accepted') ?? 0) > 0 && counts.size > 4, 'the corpus mixes accepted and refused cases');
  });

  it('`inspect` scanning and the pipeline entry over a sample of the corpus: typed statuses only', async () => {
    const report = await inspectPaths([tmp.path], undefined, { limits: LIMITS });
    for (const error of report.errors) assert.ok(TYPED.has(error.code), `${error.path}: ${error.code} ${error.message}`);
    assert.ok(report.errors.length > 0 && report.series.length > 0, 'the sample holds refused and readable files');
    const { headers } = await scanPaths([tmp.path], { limits: LIMITS });
    const results = await analyzeHeaders(headers, { config: loadConfig({ env: {} }), outDir: join(tmp.path, 'out') });
    for (const result of results) assert.ok(result.status === 'ok' || TYPED.has(result.status), `${result.studyInstanceUid}: ${result.status} ${result.message}`);
    console.log(`      sample: ${readdirSync(tmp.path).length - 1} files, ${report.errors.length} refused, ${results.length} studies: ${results.map((r) => r.status).join(', ')}`);
  });
});
