/**
 * Decoding matrix over Debian's pydicom test files: every supported syntax decodes identically
 * to its uncompressed twin (lossless) or within a stated tolerance (lossy). Twins are pydicom's
 * own pairs, or made at test time by independent decoders/encoders: dcmtk (dcmdrle, dcmdjpeg,
 * dcmdjpls, dcmconv, dcmcjpeg, dcmcjpls, dcmcrle) and GDCM's gdcmconv for JPEG 2000.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDicom } from '../src/dicom/read.ts';
import { decodeFrame, pixelFormatOf, type StoredSamples } from '../src/dicom/pixels.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { makeTempDir, pydicomTestFiles, requireCommands, requirePaths, run } from './support/env.ts';

const src = (name: string) => join(pydicomTestFiles, name);

async function allFrames(path: string): Promise<{ frames: StoredSamples[]; syntax: string }> {
  const parsed = parseDicom(readFileSync(path));
  const { numberOfFrames } = pixelFormatOf(parsed.dataset);
  const frames: StoredSamples[] = [];
  for (let k = 0; k < numberOfFrames; k++) frames.push(await decodeFrame(parsed, k));
  return { frames, syntax: parsed.transferSyntaxUid };
}

function differences(a: StoredSamples, b: StoredSamples): { maxAbs: number; mean: number } {
  assert.equal(a.length, b.length, 'sample counts differ');
  let maxAbs = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > maxAbs) maxAbs = d;
  }
  return { maxAbs, mean: sum / a.length };
}

async function compare(path: string, referencePath: string, tolerance: { maxAbs: number; mean: number }) {
  const actual = await allFrames(path);
  const reference = await allFrames(referencePath);
  assert.equal(actual.frames.length, reference.frames.length, 'frame counts differ');
  for (let k = 0; k < actual.frames.length; k++) {
    const d = differences(actual.frames[k], reference.frames[k]);
    assert.ok(d.maxAbs <= tolerance.maxAbs, `frame ${k + 1}: max |difference| ${d.maxAbs} > ${tolerance.maxAbs}`);
    assert.ok(d.mean <= tolerance.mean, `frame ${k + 1}: mean |difference| ${d.mean.toFixed(3)} > ${tolerance.mean}`);
  }
  return actual;
}

const EXACT = { maxAbs: 0, mean: 0 };

describe('decoding matrix (pydicom test files from python3-pydicom)', function () {
  let tmp: ReturnType<typeof makeTempDir>;
  const made = (name: string) => join(tmp.path, name);

  before(function () {
    requirePaths(this, pydicomTestFiles);
    requireCommands(this, 'dcmdrle', 'dcmdjpeg', 'dcmcjpeg', 'dcmcjpls', 'dcmcrle', 'dcmconv');
    tmp = makeTempDir('ctmn-decode-');
    for (const base of ['CT_small', 'MR_small']) {
      const input = src(`${base}.dcm`);
      run('dcmcjpeg', ['+e1', input, made(`${base}_jpeg70.dcm`)]);
      run('dcmcjpeg', ['+el', input, made(`${base}_jpeg57.dcm`)]);
      run('dcmcjpls', ['+el', input, made(`${base}_jpegls80.dcm`)]);
      run('dcmcrle', [input, made(`${base}_rle.dcm`)]);
      run('dcmconv', ['+td', input, made(`${base}_deflated.dcm`)]);
      run('dcmconv', ['+tb', input, made(`${base}_bigendian.dcm`)]);
      run('dcmconv', ['+ti', input, made(`${base}_implicit.dcm`)]);
    }
    run('dcmcjpls', ['+en', '+md', '2', src('image_dfl.dcm'), made('image_jpegls81_near2.dcm')]);
  });

  after(() => tmp?.remove());

  describe('lossless syntaxes decode identically to the uncompressed twin', () => {
    const pydicomPairs: Array<[string, string]> = [
      ['MR_small_RLE.dcm', 'MR_small.dcm'],
      ['MR_small_bigendian.dcm', 'MR_small.dcm'],
      ['MR_small_expb.dcm', 'MR_small.dcm'],
      ['MR_small_implicit.dcm', 'MR_small.dcm'],
      ['MR_small_jp2klossless.dcm', 'MR_small.dcm'],
      ['MR_small_jpeg_ls_lossless.dcm', 'MR_small.dcm'],
      ['MR_small_padded.dcm', 'MR_small.dcm'],
      ['rtdose_expb.dcm', 'rtdose.dcm'],
      ['rtdose_expb_1frame.dcm', 'rtdose_1frame.dcm'],
      ['liver_expb_1frame.dcm', 'liver_1frame.dcm'],
    ];
    for (const [file, twin] of pydicomPairs) {
      it(`${file} = ${twin}`, async () => {
        await compare(src(file), src(twin), EXACT);
      });
    }

    for (const base of ['CT_small', 'MR_small']) {
      for (const variant of ['jpeg70', 'jpeg57', 'jpegls80', 'rle', 'deflated', 'bigendian', 'implicit']) {
        it(`${base} encoded by dcmtk as ${variant} = ${base}.dcm`, async function () {
          const decoded = await compare(made(`${base}_${variant}.dcm`), src(`${base}.dcm`), EXACT);
          assert.notEqual(decoded.syntax, '1.2.840.10008.1.2.1', 'the variant must not be Explicit VR LE');
        });
      }
    }

    const decompressedByDcmtk: Array<[string, string]> = [
      ['SC_rgb_rle.dcm', 'dcmdrle'],
      ['SC_rgb_rle_2frame.dcm', 'dcmdrle'],
      ['SC_rgb_jpeg_gdcm.dcm', 'dcmdjpeg'],
      ['image_dfl.dcm', 'dcmconv'],
      ['ExplVR_BigEnd.dcm', 'dcmconv'],
    ];
    for (const [file, tool] of decompressedByDcmtk) {
      it(`${file} = its decompression by ${tool}`, async () => {
        const reference = made(`ref_${file}`);
        run(tool, tool === 'dcmconv' ? ['+te', src(file), reference] : [src(file), reference]);
        await compare(src(file), reference, EXACT);
      });
    }

    for (const file of ['GDCMJ2K_TextGBR.dcm', 'J2K_pixelrep_mismatch.dcm']) {
      it(`${file} (JPEG 2000 lossless) = its decompression by GDCM`, async function () {
        requireCommands(this, 'gdcmconv');
        const reference = made(`ref_${file}`);
        run('gdcmconv', ['--raw', src(file), reference]);
        await compare(src(file), reference, EXACT);
      });
    }
  });

  describe('lossy syntaxes decode within the stated tolerance', () => {
    // Two IJG-derived decoders (libjpeg-turbo here, IJG 6b in dcmtk) differ by rounding in the
    // IDCT and colour conversion: at most a few grey levels, well under one on average.
    const jpegBaseline = [
      'SC_rgb_dcmtk_+eb+cr.dcm',
      'SC_rgb_dcmtk_+eb+cy+n1.dcm',
      'SC_rgb_dcmtk_+eb+cy+n2.dcm',
      'SC_rgb_dcmtk_+eb+cy+np.dcm',
      'SC_rgb_dcmtk_+eb+cy+s2.dcm',
      'SC_rgb_dcmtk_+eb+cy+s4.dcm',
      'SC_rgb_jpeg_dcmtk.dcm',
      'SC_rgb_small_odd_jpeg.dcm',
      'SC_jpeg_no_color_transform_2.dcm',
      'SC_rgb_jpeg_app14_dcmd.dcm',
    ];
    for (const file of jpegBaseline) {
      it(`${file} (JPEG Baseline) ≈ dcmdjpeg within 4 levels, mean < 1`, async () => {
        const reference = made(`ref_${file}`);
        run('dcmdjpeg', [src(file), reference]);
        await compare(src(file), reference, { maxAbs: 4, mean: 1 });
      });
    }

    it('JPEG-LS near-lossless (NEAR=2, encoded by dcmtk) stays within ±2 of the original', async () => {
      await compare(made('image_jpegls81_near2.dcm'), src('image_dfl.dcm'), { maxAbs: 2, mean: 2 });
    });

    for (const file of ['JPEG2000.dcm', '693_J2KI.dcm', 'SC_rgb_gdcm_KY.dcm']) {
      it(`${file} (JPEG 2000) ≈ GDCM's decompression within 1`, async function () {
        requireCommands(this, 'gdcmconv');
        const reference = made(`ref_${file}`);
        run('gdcmconv', ['--raw', src(file), reference]);
        await compare(src(file), reference, { maxAbs: 1, mean: 0.01 });
      });
    }
  });

  describe('unsupported or broken inputs give typed errors', () => {
    async function expectCode(path: string | Uint8Array, code: string) {
      await assert.rejects(
        async () => {
          const parsed = parseDicom(typeof path === 'string' ? readFileSync(path) : path);
          await decodeFrame(parsed, 0);
        },
        (error: unknown) => isCtMuscleError(error) && error.code === code && error.message.length > 10,
      );
    }

    it('JPEG Extended 12-bit (1.2.840.10008.1.2.4.51) → E_UNSUPPORTED_TRANSFER_SYNTAX', async () => {
      await expectCode(src('JPGExtended.dcm'), 'E_UNSUPPORTED_TRANSFER_SYNTAX');
      await expectCode(src('JPEG-lossy.dcm'), 'E_UNSUPPORTED_TRANSFER_SYNTAX');
    });

    it('JPEG 2000 Part 2 (…4.92, relabelled file) → E_UNSUPPORTED_TRANSFER_SYNTAX', async () => {
      const bytes = readFileSync(src('MR_small_jp2klossless.dcm'));
      const text = Buffer.from('1.2.840.10008.1.2.4.90');
      const at = bytes.indexOf(text);
      assert.ok(at > 0 && at < 400, 'transfer syntax found in the file meta');
      const relabelled = Buffer.from(bytes);
      relabelled.write('1.2.840.10008.1.2.4.92', at, 'latin1');
      writeFileSync(made('part2.dcm'), relabelled);
      await expectCode(made('part2.dcm'), 'E_UNSUPPORTED_TRANSFER_SYNTAX');
    });

    it('32-bit RLE → E_UNSUPPORTED_PIXEL_FORMAT', async () => {
      await expectCode(src('rtdose_rle_1frame.dcm'), 'E_UNSUPPORTED_PIXEL_FORMAT');
    });

    it('16-bit colour RLE → E_UNSUPPORTED_PIXEL_FORMAT (the RLE decoder does 16-bit greyscale only)', async () => {
      await expectCode(src('SC_rgb_rle_16bit.dcm'), 'E_UNSUPPORTED_PIXEL_FORMAT');
    });

    it('colour JPEG whose stream does not declare the RGB the dataset claims → E_UNSUPPORTED_PIXEL_FORMAT', async () => {
      await expectCode(src('SC_rgb_jpeg_lossy_gdcm.dcm'), 'E_UNSUPPORTED_PIXEL_FORMAT');
      await expectCode(src('SC_jpeg_no_color_transform.dcm'), 'E_UNSUPPORTED_PIXEL_FORMAT');
    });

    it('truncated PixelData → E_NO_PIXEL_DATA (dcmjs would zero-fill it)', async () => {
      await expectCode(src('MR_truncated.dcm'), 'E_NO_PIXEL_DATA');
    });

    it('no PixelData (RT Plan) → E_NO_PIXEL_DATA', async () => {
      await expectCode(src('rtplan.dcm'), 'E_NO_PIXEL_DATA');
    });

    it('random bytes → E_NOT_DICOM', async () => {
      const junk = new Uint8Array(300).map((_, i) => (i * 37) % 251);
      await expectCode(junk, 'E_NOT_DICOM');
    });
  });
});
