/**
 * Headers parsed once (issue #16): decoding a scanned instance walks its bytes again but does not
 * parse them with dcmjs a second time. The stored values must equal those of a full parse, for
 * files read from disk (a Buffer) and for bytes held in memory, in every transfer syntax the
 * phantom writes; where only a full parse will do, the fast path steps aside.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeFrame } from '../src/dicom/pixels.ts';
import { loadSourceBytes, parseDicom, pixelsOfScanned } from '../src/dicom/read.ts';
import { scanBuffers, scanPaths } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import type { InstanceHeader } from '../src/dicom/types.ts';
import { planVolume, sliceJobOf } from '../src/dicom/volume.ts';
import { PHANTOM_TRANSFER_SYNTAXES as TS, writePhantomStudy } from '../src/phantom/index.ts';
import { makeTempDir } from './support/env.ts';

const FULL_PARSE_ONLY: string[] = [TS.deflatedExplicitVrLittleEndian, TS.explicitVrBigEndian];

async function sameAsFullParse(header: InstanceHeader, bytes: Uint8Array): Promise<boolean> {
  const plan = planVolume(groupIntoSeries([header])[0]);
  const fast = pixelsOfScanned(bytes, sliceJobOf(header, plan.geometry));
  if (fast === null) return false;
  const [expected, actual] = [await decodeFrame(parseDicom(bytes)), await decodeFrame(fast)];
  assert.equal(actual.length, expected.length);
  assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength)), 'stored values');
  return true;
}

describe('decoding a scanned instance without parsing its header again', function () {
  this.timeout(120000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('ctmn-pixels-')));
  afterEach(() => tmp.remove());

  for (const [name, uid] of Object.entries(TS)) {
    it(`${name}: ${FULL_PARSE_ONLY.includes(uid) ? 'left to the full parse' : 'the same stored values as a full parse, from disk and from memory'}`, async () => {
      await writePhantomStudy(tmp.path, { rows: 64, columns: 64, fromLevel: 'T12', toLevel: 'T12', sliceThicknessMm: 10, transferSyntaxUid: uid, pixelPaddingValue: -2000, seed: 2 });
      const { headers, errors } = await scanPaths([tmp.path]);
      assert.deepEqual(errors.filter((e) => !e.path.endsWith('.json')), []);
      for (const header of headers.slice(0, 3)) {
        const fromDisk = await loadSourceBytes(header.source);
        assert.ok(Buffer.isBuffer(fromDisk), 'read from disk as a Buffer (whose slice() shares memory)');
        assert.equal(await sameAsFullParse(header, fromDisk), !FULL_PARSE_ONLY.includes(uid));
        const copy = new Uint8Array(fromDisk);
        const [inMemory] = scanBuffers([{ bytes: copy, label: 'copy' }]).headers;
        assert.equal(await sameAsFullParse(inMemory, copy), !FULL_PARSE_ONLY.includes(uid));
      }
    });
  }

  it('steps aside for bytes that are not the instance scanned', async () => {
    await writePhantomStudy(tmp.path, { rows: 64, columns: 64, fromLevel: 'L1', toLevel: 'T12', sliceThicknessMm: 10, seed: 2 });
    const { headers } = await scanPaths([tmp.path]);
    const plan = planVolume(groupIntoSeries(headers)[0]);
    const [a, b] = plan.ordered;
    const bytesOfB = new Uint8Array(readFileSync((b.source as { path: string }).path));
    assert.equal(pixelsOfScanned(bytesOfB, sliceJobOf(a, plan.geometry)), null, 'another SOP Instance UID');
    const job = sliceJobOf(b, plan.geometry);
    assert.equal(pixelsOfScanned(bytesOfB, { ...job, pixelAttributes: { ...job.pixelAttributes, Rows: 32 } }), null, 'another image size');
    assert.notEqual(pixelsOfScanned(bytesOfB, job), null);
  });
});
