/**
 * Hostile and broken DICOM (issue #11, the DICOM-level half): lengths that lie, decompression
 * bombs, cut pixel data, invalid UIDs. Each case is built from a real phantom instance by the
 * same mutator the fuzzer uses (test/support/fuzz.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkInstance, compareCopies, mayReplaceCopy, pixelCompleteness } from '../src/dicom/check-instance.ts';
import { DEFAULT_DICOM_LIMITS } from '../src/dicom/limits.ts';
import { decodeFrame } from '../src/dicom/pixels.ts';
import { headerFromParsed, parseDicom, parseDicomAsync } from '../src/dicom/read.ts';
import { isValidUid, uidPathSegment } from '../src/dicom/uid.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { spooledPath } from '../src/intake/spool.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { makeTempDir, repoRoot } from './support/env.ts';
import { deepSequence, findElement, rewriteElement, toDeflated, truncate, truncateInPixelData } from './support/fuzz.ts';

const MIB = 1024 * 1024;

async function phantomInstance(transferSyntaxUid?: string): Promise<Uint8Array> {
  const { files } = await generatePhantomStudy({ rows: 256, columns: 256, sliceCount: 1, fromLevel: 'T12', seed: 3, ...(transferSyntaxUid ? { transferSyntaxUid } : {}) });
  return files[0].bytes;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return isCtMuscleError(error) ? error.code : `untyped: ${(error as Error).message}`;
  }
  return 'no error';
}

async function refusal(input: Uint8Array | string, limits = DEFAULT_DICOM_LIMITS): Promise<string> {
  const result = await checkInstance(input, limits);
  return result.ok ? 'accepted' : result.code;
}

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('hostile DICOM: lengths checked before anything is allocated', function () {
  let seed: Uint8Array;
  before(async () => (seed = await phantomInstance()));

  it('a 132 KB instance whose StudyDate is VR UN of length 0x7FFFFFFF is E_MALFORMED_DICOM, not a heap blow-up', async () => {
    const hostile = rewriteElement(seed, '00080020', { vr: 'UN', length: 0x7fffffff });
    assert.ok(hostile.length < 140_000, `the case is small (${hostile.length} bytes)`);
    const rssBefore = process.memoryUsage().rss;
    assert.equal(codeOf(() => parseDicom(hostile, { headerOnly: true })), 'E_MALFORMED_DICOM');
    assert.equal(codeOf(() => parseDicom(hostile)), 'E_MALFORMED_DICOM');
    const checked = await checkInstance(hostile);
    assert.equal(checked.ok, false);
    assert.ok(!checked.ok && /\(0008,0020\).*declares 2147483647 bytes/.test(checked.message), !checked.ok ? checked.message : '');
    assert.ok(process.memoryUsage().rss - rssBefore < 200 * MIB, 'nothing large was allocated');
  });

  it('`inspect` on it exits 0 and lists the file under errors', function () {
    const tmp = makeTempDir('ctmn-hostile-');
    try {
      const path = join(tmp.path, 'hostile.dcm');
      writeFileSync(path, rewriteElement(seed, '00080020', { vr: 'UN', length: 0x7fffffff }));
      const { code, stdout } = cli(['inspect', path]);
      assert.equal(code, 0);
      const report = JSON.parse(stdout);
      assert.deepEqual(report.series, []);
      assert.equal(report.errors.length, 1);
      assert.equal(report.errors[0].path, path);
      assert.equal(report.errors[0].code, 'E_MALFORMED_DICOM');
    } finally {
      tmp.remove();
    }
  });

  it('every other lying length is refused: past the end, undefined on a non-sequence, an item longer than its sequence', () => {
    assert.equal(codeOf(() => parseDicom(rewriteElement(seed, '00081030', { vr: 'LO', value: 'ABDOMEN', length: 60_000 }), { headerOnly: true })), 'E_MALFORMED_DICOM');
    assert.equal(codeOf(() => parseDicom(rewriteElement(seed, '00080020', { vr: 'UT', length: 0xffffffff }), { headerOnly: true })), 'E_MALFORMED_DICOM');
    // A defined-length sequence whose item claims more bytes than the sequence holds.
    const item = Uint8Array.from([0xfe, 0xff, 0x00, 0xe0, 0x00, 0x10, 0x00, 0x00]);
    assert.equal(codeOf(() => parseDicom(rewriteElement(seed, '00091002', { vr: 'SQ', value: item }), { headerOnly: true })), 'E_MALFORMED_DICOM');
    assert.equal(codeOf(() => parseDicom(rewriteElement(seed, '00080020', { vr: 'Q!' }), { headerOnly: true })), 'E_MALFORMED_DICOM');
    // A sequence sent as UN (implicit VR inside): its items are walked too, and an element in one lies.
    const lying = Buffer.from([0x08, 0x00, 0x50, 0x11, 0xf0, 0xff, 0xff, 0x7f, 0x31, 0x2e]);
    const unItem = Buffer.concat([Buffer.from([0xfe, 0xff, 0x00, 0xe0, lying.length, 0, 0, 0]), lying]);
    assert.equal(codeOf(() => parseDicom(rewriteElement(seed, '00081115', { vr: 'UN', value: unItem }), { headerOnly: true })), 'E_MALFORMED_DICOM');
  });

  it('undefined-length sequences and items are walked to their delimiters and parsed', () => {
    // (0009,1002) SQ, undefined length: one undefined-length item holding (0009,1003) LO, item delimiter, sequence delimiter.
    const lo = Uint8Array.from([0x09, 0x00, 0x03, 0x10, 0x4c, 0x4f, 0x04, 0x00, 0x41, 0x42, 0x43, 0x44]);
    const value = Buffer.concat([
      Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]),
      lo,
      Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]),
      Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]),
    ]);
    const withSequence = rewriteElement(rewriteElement(seed, '00090010', { vr: 'LO', value: 'CT-MUSCLE-TEST' }), '00091002', { vr: 'SQ', value, length: 0xffffffff });
    const parsed = parseDicom(withSequence, { headerOnly: true });
    assert.ok(parsed.structure!.elementCount > 20);
    // Without its item delimiter the item runs into the sequence delimiter: refused.
    const broken = Buffer.concat([value.subarray(0, 8 + lo.length), value.subarray(value.length - 8)]);
    assert.equal(codeOf(() => parseDicom(rewriteElement(seed, '00091002', { vr: 'SQ', value: broken, length: 0xffffffff }), { headerOnly: true })), 'E_MALFORMED_DICOM');
  });

  it('a value dcmjs cannot naturalize (PatientName re-declared as DS, found by the fuzzer) is a typed error', () => {
    assert.equal(codeOf(() => parseDicom(rewriteElement(seed, '00100010', { vr: 'DS' }), { headerOnly: true })), 'E_NOT_DICOM');
  });

  it('sequences nested 200 deep are refused (20 deep are read)', () => {
    assert.doesNotThrow(() => parseDicom(rewriteElement(seed, '00091002', { vr: 'SQ', value: deepSequence(20) }), { headerOnly: true }));
    assert.equal(codeOf(() => parseDicom(rewriteElement(seed, '00091002', { vr: 'SQ', value: deepSequence(200) }), { headerOnly: true })), 'E_MALFORMED_DICOM');
  });

  it('an instance over limits.maxInstanceMb is refused before parsing', async () => {
    assert.equal(await refusal(seed, { ...DEFAULT_DICOM_LIMITS, maxInstanceBytes: 100_000 }), 'E_INSTANCE_TOO_LARGE');
  });
});

describe('hostile DICOM: Deflated datasets are inflated within bounds, off the event loop', function () {
  let seed: Uint8Array;
  before(async () => (seed = await phantomInstance()));

  it('a valid Deflated instance reads back with the same header and pixels', async () => {
    const deflated = toDeflated(seed);
    assert.ok(deflated.length < seed.length);
    const original = parseDicom(seed);
    const inflated = await parseDicomAsync(deflated);
    assert.equal(inflated.transferSyntaxUid, '1.2.840.10008.1.2.1.99');
    assert.equal(inflated.dataset.SOPInstanceUID, original.dataset.SOPInstanceUID);
    assert.deepEqual(await decodeFrame(inflated), await decodeFrame(original));
    assert.deepEqual(await decodeFrame(parseDicom(deflated)), await decodeFrame(original));
    assert.equal(await refusal(deflated), 'accepted');
  });

  it('a bomb (40 MiB of zeros behind a 256² image) stops at image size + header allowance: E_INSTANCE_TOO_LARGE', async () => {
    const bomb = toDeflated(seed, 40 * MIB);
    assert.ok(bomb.length < 400_000, `the bomb is small (${bomb.length} bytes, 100× less than it inflates to)`);
    const result = await checkInstance(bomb);
    assert.ok(!result.ok && result.code === 'E_INSTANCE_TOO_LARGE', JSON.stringify(result));
    assert.match(!result.ok ? result.message : '', /header allowance/);
    assert.equal(codeOf(() => parseDicom(bomb)), 'E_INSTANCE_TOO_LARGE');
    // The zeros as PixelData itself: bounded by the 256² image the instance declares, plus the allowance.
    const pixelBomb = toDeflated(rewriteElement(seed, '7FE00010', { vr: 'OW', value: new Uint8Array(40 * MIB) }));
    const pixelResult = await checkInstance(pixelBomb);
    assert.ok(!pixelResult.ok && pixelResult.code === 'E_INSTANCE_TOO_LARGE' && /declared image size/.test(pixelResult.message), JSON.stringify(pixelResult));
  });

  it('the configured maximum (limits.maxInflatedMb) bounds inflation whatever the image declares', async () => {
    const limits = { ...DEFAULT_DICOM_LIMITS, maxInflatedBytes: 100_000, headerAllowanceBytes: 50_000 };
    const result = await checkInstance(toDeflated(seed), limits);
    assert.ok(!result.ok && result.code === 'E_INSTANCE_TOO_LARGE' && /limits\.maxInflatedMb/.test(result.message), JSON.stringify(result));
    assert.equal(codeOf(() => parseDicom(toDeflated(seed), { limits })), 'E_INSTANCE_TOO_LARGE');
  });

  it('inflation runs off the event loop: timers keep firing while a large allowed dataset inflates', async () => {
    const big = toDeflated(seed, 48 * MIB);
    const limits = { ...DEFAULT_DICOM_LIMITS, headerAllowanceBytes: 64 * MIB, maxInflatedBytes: 64 * MIB };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const result = await checkInstance(big, limits);
      assert.ok(result.ok, JSON.stringify(result));
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks >= 3, `the event loop ticked ${ticks} times during inflation`);
  });

  it('a cut or corrupt deflate stream is E_MALFORMED_DICOM', async () => {
    const deflated = toDeflated(seed);
    assert.equal(await refusal(truncate(deflated, deflated.length - 1000)), 'E_MALFORMED_DICOM');
    const start = deflated.length - (deflated.length - 400);
    const corrupt = new Uint8Array(deflated);
    corrupt.fill(0xff, start, start + 64);
    assert.equal(await refusal(corrupt), 'E_MALFORMED_DICOM');
  });
});

describe('hostile DICOM: pixel data complete for its declared size', function () {
  let native: Uint8Array;
  let j2k: Uint8Array;
  before(async () => {
    native = await phantomInstance();
    j2k = await phantomInstance('1.2.840.10008.1.2.4.90');
  });

  it('a complete instance is accepted; cut inside PixelData it is E_INCOMPLETE_PIXEL_DATA', async () => {
    const good = await checkInstance(native);
    assert.ok(good.ok && good.completeness.complete && good.completeness.presentBytes === 256 * 256 * 2);
    for (const fraction of [0.01, 0.5, 0.999]) assert.equal(await refusal(truncateInPixelData(native, fraction)), 'E_INCOMPLETE_PIXEL_DATA');
    // Cut in the header: a structural error, not an incomplete image.
    assert.equal(await refusal(truncate(native, 700)), 'E_MALFORMED_DICOM');
  });

  it('a PixelData whose own length is shorter than Rows × Columns × BitsAllocated needs is incomplete', async () => {
    const short = rewriteElement(native, '7FE00010', { vr: 'OW', value: new Uint8Array(1000) });
    assert.equal(await refusal(short), 'E_INCOMPLETE_PIXEL_DATA');
  });

  it('an image header without PixelData is E_NO_PIXEL_DATA', async () => {
    assert.equal(await refusal(truncate(native, findElement(native, '7FE00010')!.offset)), 'E_NO_PIXEL_DATA');
  });

  it('encapsulated: intact items and delimiter are accepted; a cut fragment or a missing delimiter is incomplete', async () => {
    assert.equal(await refusal(j2k), 'accepted');
    assert.equal(await refusal(truncate(j2k, j2k.length - 8)), 'E_INCOMPLETE_PIXEL_DATA');
    assert.equal(await refusal(truncate(j2k, j2k.length - 500)), 'E_INCOMPLETE_PIXEL_DATA');
    // A full parse never hands the cut value to dcmjs; decoding says what is wrong.
    await assert.rejects(decodeFrame(parseDicom(truncate(j2k, j2k.length - 500))), (e: unknown) => isCtMuscleError(e) && e.code === 'E_NO_PIXEL_DATA');
  });

  it('ranks copies of one instance: a truncated re-send never replaces a complete copy', async () => {
    const complete = pixelCompleteness(parseDicom(native, { headerOnly: true }));
    const half = pixelCompleteness(parseDicom(truncateInPixelData(native, 0.5), { headerOnly: true }));
    const tenth = pixelCompleteness(parseDicom(truncateInPixelData(native, 0.1), { headerOnly: true }));
    assert.ok(compareCopies(complete, half) > 0);
    assert.ok(compareCopies(half, complete) < 0);
    assert.ok(compareCopies(half, tenth) > 0);
    assert.equal(compareCopies(complete, complete), 0);
    assert.equal(await mayReplaceCopy(native, half), false);
    assert.equal(await mayReplaceCopy(truncateInPixelData(native, 0.5), complete), true);
    assert.equal(await mayReplaceCopy(native, complete), true);
    assert.equal(await mayReplaceCopy(new Uint8Array(10), half), true, 'an unreadable kept copy is replaceable');
  });
});

describe('hostile DICOM: UIDs are refused, never repaired', function () {
  let seed: Uint8Array;
  before(async () => (seed = await phantomInstance()));

  it('isValidUid follows PS3.5 9.1', () => {
    for (const uid of ['1.2.3', '0', '1.2.0.3', '2.25.329800735698586629295641978511506172918', `1.${'2'.repeat(62)}`]) assert.equal(isValidUid(uid), true, uid);
    for (const uid of ['', '.', '..', '1.2.', '.1.2', '1..2', '1.02.3', '01.2', '1.2.3\n4', '1.2.3 ', '1.2.a', `1.${'2'.repeat(63)}`, '../x']) assert.equal(isValidUid(uid), false, JSON.stringify(uid));
  });

  it('a Study UID "1.2.3\\n4" is E_INVALID_UID, not stored as 1.2.34', async () => {
    const bad = rewriteElement(seed, '0020000D', { vr: 'UI', value: '1.2.3\n4' });
    const result = await checkInstance(bad);
    assert.ok(!result.ok && result.code === 'E_INVALID_UID', JSON.stringify(result));
    assert.match(!result.ok ? result.message : '', /StudyInstanceUID.*"1\.2\.3\\n4".*characters other than digits and dots/);
  });

  it('over-long and leading-zero Series/SOP Instance UIDs are refused with a reason', async () => {
    assert.equal(await refusal(rewriteElement(seed, '0020000E', { vr: 'UI', value: `1.${'2'.repeat(70)}` })), 'E_INVALID_UID');
    assert.equal(await refusal(rewriteElement(seed, '00080018', { vr: 'UI', value: '1.2.03.4' })), 'E_INVALID_UID');
    assert.equal(await refusal(rewriteElement(seed, '0020000D', { vr: 'UI', value: '..' })), 'E_INVALID_UID');
    assert.equal(codeOf(() => headerFromParsed(parseDicom(rewriteElement(seed, '0020000D', { vr: 'UI', value: '..' }), { headerOnly: true }), { kind: 'memory', bytes: seed, label: 'x' })), 'E_INVALID_UID');
  });

  it('paths are built only from valid UIDs (spool and analyze --out)', () => {
    assert.equal(codeOf(() => spooledPath('/spool', '..', '1.2.3')), 'E_INVALID_UID');
    assert.equal(codeOf(() => spooledPath('/spool', '1.2.3', '../../x')), 'E_INVALID_UID');
    assert.equal(codeOf(() => uidPathSegment('1.2.3/..', 'StudyInstanceUID')), 'E_INVALID_UID');
    assert.equal(uidPathSegment('1.2.3', 'StudyInstanceUID'), '1.2.3');
  });

  it('`analyze --out DIR` on a file whose Study UID is ".." writes nothing into DIR\'s parent', function () {
    const tmp = makeTempDir('ctmn-hostile-');
    try {
      const input = join(tmp.path, 'in.dcm');
      const out = join(tmp.path, 'out');
      writeFileSync(input, rewriteElement(seed, '0020000D', { vr: 'UI', value: '..' }));
      const { code, stdout } = cli(['analyze', input, '--out', out]);
      assert.equal(code, 0);
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((l) => l.status), ['E_INVALID_UID']);
      assert.deepEqual(readdirSync(tmp.path).sort(), ['in.dcm']);
    } finally {
      tmp.remove();
    }
  });
});
