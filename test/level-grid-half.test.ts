/**
 * Config `decode.levelGrid` "half" (issue #16): a reversible JPEG 2000 series is put on the level
 * finder's working grid from half-resolution decodes (the first wavelet level's low-pass band)
 * instead of 2 × 2 means of full decodes. The stack then differs a little from the full one, the
 * level found still lies in the right vertebral body, workers do as this thread does, the `level`
 * command finds the slice `analyze` measures, and every other encoding is untouched. "full", the
 * default, is what the other tests hold to.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { decodeEncapsulatedFrame, decodeJpeg2000Halved, jpeg2000MayHalve } from '../src/dicom/codecs.ts';
import { loadWasmModule } from '../src/dicom/wasm-modules.ts';
import { describeError } from '../src/errors.ts';
import { scanBuffers } from '../src/dicom/scan.ts';
import { groupIntoSeries, type SeriesGroup } from '../src/dicom/series.ts';
import { findLevel, type WorkStack } from '../src/level/index.ts';
import { generatePhantomStudy, PHANTOM_TRANSFER_SYNTAXES as TS, writePhantomStudy, type PhantomTruth } from '../src/phantom/index.ts';
import { analyzeHeaders, levelForPaths, scanInputs } from '../src/pipeline/index.ts';
import { DEFAULT_STAGES, type DecodedSeries } from '../src/pipeline/stages.ts';

/** 512² at about 0.8 mm: the working grid is made of 2 × 2 blocks, where "half" applies. */
async function phantomSeries(transferSyntaxUid: string): Promise<{ group: SeriesGroup; truth: PhantomTruth }> {
  const study = await generatePhantomStudy({ rows: 512, columns: 512, fromLevel: 'L2', toLevel: 'T11', sliceThicknessMm: 3, seed: 1, transferSyntaxUid });
  const { headers, errors } = scanBuffers(study.files.map((f) => ({ bytes: f.bytes, label: f.fileName })));
  assert.deepEqual(errors, []);
  return { group: groupIntoSeries(headers)[0], truth: study.truth };
}

const decoded = (group: SeriesGroup, levelGrid: 'full' | 'half', decodeWorkers = 1) =>
  DEFAULT_STAGES.buildVolume({ group, levelGrid, decodeWorkers }) as Promise<DecodedSeries>;

function stackOf(series: DecodedSeries): WorkStack {
  assert.ok(series.stack, 'the series has a working stack');
  return series.stack;
}

/** Where an instance's JPEG 2000 codestream starts: its SOC and SIZ markers (FF4F FF51). */
const codestreamStart = (bytes: Uint8Array) => bytes.findIndex((b, i) => b === 0xff && bytes[i + 1] === 0x4f && bytes[i + 2] === 0xff && bytes[i + 3] === 0x51);

/** The pixel format of a square 16-bit signed greyscale frame, as the phantom writes it. */
const greyscale16 = (size: number) =>
  ({ rows: size, columns: size, bitsAllocated: 16, bitsStored: 16, highBit: 15, pixelRepresentation: 1, samplesPerPixel: 1, photometricInterpretation: 'MONOCHROME2', planarConfiguration: 0, numberOfFrames: 1 }) as const;

const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('decode.levelGrid "half": JPEG 2000 slices on the working grid from half-resolution decodes', function () {
  this.timeout(180000);
  let j2k: { group: SeriesGroup; truth: PhantomTruth };
  before(async () => {
    j2k = await phantomSeries(TS.jpeg2000Lossless);
  });

  it('makes a stack close to, but not the same as, the full decode’s', async () => {
    const full = stackOf(await decoded(j2k.group, 'full'));
    const half = stackOf(await decoded(j2k.group, 'half'));
    assert.equal(half.hu.length, full.hu.length);
    assert.ok(!sameBytes(half.hu, full.hu), 'the half-resolution path ran (a full decode gives the full stack exactly)');
    // A low-pass filter of unit gain centred half a pixel away from the 2 × 2 mean: noise and
    // edges differ pixel by pixel, but not the level of any tissue (no offset, no scaling).
    const differences: number[] = [];
    for (let i = 0; i < full.hu.length; i++) if (full.hu[i] > -500) differences.push(half.hu[i] - full.hu[i]);
    differences.sort((a, b) => a - b);
    const at = (q: number) => differences[Math.floor(q * (differences.length - 1))];
    assert.ok(Math.abs(at(0.5)) <= 1, `median difference inside the body ${at(0.5)} HU`);
    // …and pixel by pixel the same place (a transposed or shifted slice would differ by tissue contrasts).
    assert.ok(at(0.25) >= -15 && at(0.75) <= 15, `interquartile range of the differences ${at(0.25)}..${at(0.75)} HU`);
  });

  it('still finds T12 and L1 inside their vertebral bodies', async () => {
    const series = await decoded(j2k.group, 'half');
    for (const target of ['T12', 'L1'] as const) {
      const result = findLevel(series.volume, { target }, series.stack);
      const body = j2k.truth.vertebrae.find((v) => v.name === target)!;
      assert.ok(result.zMm >= body.bodyInferiorMm && result.zMm <= body.bodySuperiorMm, `${target}: z ${result.zMm} outside ${body.bodyInferiorMm}..${body.bodySuperiorMm}`);
      assert.ok(Math.abs(result.zMm - body.midBodyMm) <= 5, `${target}: z ${result.zMm} is ${Math.abs(result.zMm - body.midBodyMm).toFixed(1)} mm from mid-body`);
    }
  });

  it('gives the same stack on decoding workers as on this thread', async () => {
    const here = stackOf(await decoded(j2k.group, 'half', 1));
    const pooled = stackOf(await decoded(j2k.group, 'half', 2));
    for (const key of ['hu', 'body', 'centreX', 'centreY'] as const) assert.ok(sameBytes(pooled[key], here[key]), key);
  });

  it('leaves an uncompressed series as "full" makes it', async () => {
    const { group } = await phantomSeries(TS.explicitVrLittleEndian);
    const full = stackOf(await decoded(group, 'full'));
    const half = stackOf(await decoded(group, 'half'));
    for (const key of ['hu', 'body', 'centreX', 'centreY'] as const) assert.ok(sameBytes(half[key], full[key]), key);
  });

  // A phantom on which "half" and "full" choose neighbouring slices (3 mm, L3 → T11, seed 2, arms): the
  // `level` command must then follow the configuration as analyze does.
  it('gives the `level` command the slice `analyze` measures, where "half" and "full" differ', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ctmn-level-grid-'));
    try {
      const { files } = await writePhantomStudy(dir, { rows: 512, columns: 512, fromLevel: 'L3', toLevel: 'T11', sliceThicknessMm: 3, seed: 2, arms: true, transferSyntaxUid: TS.jpeg2000Lossless });
      const defaults = loadConfig({ env: {} });
      const { headers } = await scanInputs(files);
      const slices: Record<string, string | undefined> = {};
      for (const levelGrid of ['full', 'half'] as const) {
        const [found] = await levelForPaths(files, { target: 'T12', levelGrid });
        assert.ok(found.ok, JSON.stringify(found));
        const [measured] = await analyzeHeaders(headers, { config: { ...defaults, decode: { ...defaults.decode, levelGrid } }, target: 'T12' });
        assert.equal(measured.status, 'ok', measured.message);
        assert.equal(found.result.sopInstanceUid, measured.level?.sopInstanceUid, `${levelGrid}: level and analyze agree`);
        slices[levelGrid] = measured.level?.sopInstanceUid;
      }
      assert.notEqual(slices.half, slices.full, 'on this phantom the two choose neighbouring slices');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails a cut codestream with the typed error a full decode gives', async () => {
    const study = await generatePhantomStudy({ rows: 512, columns: 512, fromLevel: 'T12', toLevel: 'T12', sliceThicknessMm: 10, seed: 1, transferSyntaxUid: TS.jpeg2000Lossless });
    const bytes = study.files[0].bytes;
    const start = codestreamStart(bytes);
    assert.ok(start > 0);
    const format = greyscale16(512);
    const whole = await decodeJpeg2000Halved(bytes.subarray(start), format);
    assert.equal(whole?.rows, 256, 'the whole codestream decodes at half resolution');
    const cut = bytes.subarray(start, start + 200);
    const failure = (decode: () => Promise<unknown>) => decode().then(() => assert.fail('a cut codestream decoded'), (error: unknown) => describeError(error));
    const full = await failure(() => decodeEncapsulatedFrame(cut, format, TS.jpeg2000Lossless));
    assert.equal(full.code, 'E_DECODE_FAILED');
    assert.deepEqual(await failure(() => decodeJpeg2000Halved(cut, format)), full);
  });

  it('reads the main header first: a frame it rules out (9/7 wavelet, no level, an image offset) is not decoded at half resolution', async () => {
    const study = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'T12', toLevel: 'T12', sliceThicknessMm: 10, seed: 1, transferSyntaxUid: TS.jpeg2000Lossless });
    const bytes = study.files[0].bytes;
    const start = codestreamStart(bytes);
    const stream = bytes.slice(start);
    /** Where marker segment `marker`'s parameters begin (after its length), in the main header. */
    const segment = (marker: number) => {
      for (let at = 2; stream[at] === 0xff && stream[at + 1] !== 0x90; at += 2 + ((stream[at + 2] << 8) | stream[at + 3])) if (stream[at + 1] === marker) return at + 4;
      return assert.fail(`no marker FF${marker.toString(16)}`);
    };
    const changed = (at: number, value: number) => {
      const copy = stream.slice();
      copy[at] = value;
      return copy;
    };
    const cod = segment(0x52);
    const siz = segment(0x51);
    const ruledOut = { irreversible: changed(cod + 9, 0), 'no decomposition level': changed(cod + 5, 0), 'an image offset': changed(siz + 13, 1) };
    assert.equal(jpeg2000MayHalve(stream), true, 'a reversible codestream with levels and no offset');
    assert.equal(jpeg2000MayHalve(stream.subarray(0, 30)), true, 'a header it cannot read: the decoder judges');
    const format = greyscale16(64);
    // Count the decoder's half-resolution decodes.
    const module = await loadWasmModule<Record<string, { prototype: { decodeSubResolution(level: number, layer: number): void } }>>('@cornerstonejs/codec-openjpeg/decodewasmjs');
    const prototype = module.J2KDecoder.prototype;
    const original = prototype.decodeSubResolution;
    let decodes = 0;
    prototype.decodeSubResolution = function (this: unknown, level: number, layer: number) {
      decodes += 1;
      return original.call(this, level, layer);
    };
    try {
      assert.equal((await decodeJpeg2000Halved(stream, format))?.rows, 32);
      assert.equal(decodes, 1, 'the reversible frame was decoded at half resolution');
      for (const [what, ruled] of Object.entries(ruledOut)) {
        assert.equal(jpeg2000MayHalve(ruled), false, what);
        assert.equal(await decodeJpeg2000Halved(ruled, format), null, what);
      }
      assert.equal(decodes, 1, 'none of the frames ruled out was decoded at half resolution');
    } finally {
      prototype.decodeSubResolution = original;
    }
  });
});
