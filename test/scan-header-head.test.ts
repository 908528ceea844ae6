/**
 * Issue #16: the scan reads a file's first HEADER_READ_BYTES and parses its header from them when
 * that can be told to give what reading the whole file gives; otherwise (a longer header,
 * encapsulated or Deflated data, anything odd) it reads the whole file as before. Compared here
 * with the whole file parsed in memory: the same headers, the same typed errors.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HEADER_READ_BYTES, parseDicom, parseHeaderOfHead, parseHeaderOnly } from '../src/dicom/read.ts';
import { scanBuffers, scanPaths, type ScanResult } from '../src/dicom/scan.ts';
import { PHANTOM_TRANSFER_SYNTAXES as TS, writePhantomStudy } from '../src/phantom/index.ts';
import { makeTempDir } from './support/env.ts';

/** The first slice file of a small phantom study of this size and transfer syntax. */
async function phantomSlice(dir: string, size: number, transferSyntaxUid: string): Promise<Uint8Array> {
  await writePhantomStudy(dir, { rows: size, columns: size, fromLevel: 'T12', toLevel: 'T12', sliceThicknessMm: 10, transferSyntaxUid, seed: 4 });
  const name = readdirSync(dir).filter((n) => n.endsWith('.dcm')).sort()[0];
  return new Uint8Array(readFileSync(join(dir, name)));
}

/** Where the top-level PixelData element (its tag) starts in a Part 10 file. */
function pixelDataElementOffset(bytes: Uint8Array): number {
  const parsed = parseDicom(bytes, { headerOnly: true });
  return datasetOffset(bytes) + parsed.structure!.pixelData!.valueOffset - 12;
}

function datasetOffset(bytes: Uint8Array): number {
  // Group 0002 ends where the first element of another group starts (explicit VR LE, from byte 132).
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 132;
  while (view.getUint16(offset, true) === 0x0002) {
    const vr = String.fromCharCode(bytes[offset + 4], bytes[offset + 5]);
    offset += ['OB', 'UN', 'OW', 'SQ', 'UT'].includes(vr) ? 12 + view.getUint32(offset + 8, true) : 8 + view.getUint16(offset + 6, true);
  }
  return offset;
}

/** The file with a private OB element of `length` bytes inserted before PixelData (so the header grows). */
function withLongHeader(bytes: Uint8Array, length: number): Uint8Array {
  const at = pixelDataElementOffset(bytes);
  const creator = Buffer.concat([Buffer.from([0x09, 0x00, 0x10, 0x00]), Buffer.from('LO'), Buffer.from([10, 0]), Buffer.from('CTMN TEST ')]);
  const header = Buffer.alloc(12);
  header.writeUInt16LE(0x0009, 0);
  header.writeUInt16LE(0x1001, 2);
  header.write('OB', 4, 'latin1');
  header.writeUInt32LE(length, 8);
  return Buffer.concat([bytes.subarray(0, at), creator, header, Buffer.alloc(length, 0x41), bytes.subarray(at)]);
}

/** What scanning the files read whole, in memory, gives (the reference). */
function scanWhole(paths: string[]): ScanResult {
  return scanBuffers(paths.map((path) => ({ bytes: new Uint8Array(readFileSync(path)), label: path })));
}

function comparable(result: ScanResult) {
  return { headers: result.headers.map(({ source, ...rest }) => ({ ...rest, path: source.kind === 'file' ? source.path : source.label })), errors: result.errors };
}

describe('scan: headers from the first bytes of a file (issue #16)', function () {
  this.timeout(120000);
  let tmp: ReturnType<typeof makeTempDir>;
  const files = new Map<string, Uint8Array>();
  before(async () => {
    tmp = makeTempDir('ctmn-scan-head-');
    const make = async (name: string, size: number, syntax: string) => {
      const work = makeTempDir('ctmn-scan-head-src-');
      try {
        files.set(name, await phantomSlice(work.path, size, syntax));
      } finally {
        work.remove();
      }
    };
    await make('native-512', 512, TS.explicitVrLittleEndian);
    await make('native-64', 64, TS.explicitVrLittleEndian);
    await make('j2k-512', 512, TS.jpeg2000Lossless);
    await make('deflated-512', 512, TS.deflatedExplicitVrLittleEndian);
    const native = files.get('native-512')!;
    files.set('long-header-512', withLongHeader(native, HEADER_READ_BYTES + 5000));
    // Cut inside the pixel data: the scan does not judge completeness, whole or from the head.
    files.set('cut-pixels-512', native.subarray(0, 200_000));
    // A broken VR inside the head: the same typed error either way.
    const badVr = Uint8Array.from(native);
    badVr[pixelDataElementOffset(native) - 40 + 4] = 0x01;
    files.set('bad-vr-512', badVr);
    // Encapsulated data whose sequence delimiter (beyond the head) is garbage: only the whole file shows it.
    const j2k = Uint8Array.from(files.get('j2k-512')!);
    j2k.fill(0x42, j2k.length - 8, j2k.length - 4);
    files.set('bad-delimiter-j2k-512', j2k);
    // A cut element after the head, no PixelData: the same error as read whole.
    const cut = withLongHeader(native, HEADER_READ_BYTES + 5000);
    files.set('cut-long-header', cut.subarray(0, HEADER_READ_BYTES + 3000));
    for (const [name, bytes] of files) writeFileSync(join(tmp.path, `${name}.dcm`), bytes);
  });
  after(() => tmp.remove());

  it('the test files are what they should be: longer than the head except the small one', () => {
    for (const [name, bytes] of files) assert.equal(bytes.length > HEADER_READ_BYTES, name !== 'native-64', name);
  });

  it('a native slice is parsed from its head; a longer header, encapsulated or Deflated data and a cut header are not', () => {
    const fromHead = (name: string) => parseHeaderOfHead(files.get(name)!.subarray(0, HEADER_READ_BYTES));
    assert.notEqual(fromHead('native-512'), null);
    assert.notEqual(fromHead('cut-pixels-512'), null);
    for (const name of ['long-header-512', 'j2k-512', 'deflated-512', 'bad-vr-512', 'cut-long-header']) assert.equal(fromHead(name), null, name);
  });

  it('the header parsed from the head equals the one from the whole file', () => {
    const bytes = files.get('native-512')!;
    const head = parseHeaderOfHead(bytes.subarray(0, HEADER_READ_BYTES))!;
    const whole = parseDicom(bytes, { headerOnly: true });
    assert.deepEqual(head.dataset, whole.dataset);
    assert.deepEqual(head.meta, whole.meta);
    assert.deepEqual(head.structure!.rawValues, whole.structure!.rawValues);
  });

  it('a whole JPEG 2000 instance: dcmjs is handed only its header (stopped at PixelData), the same header as parsing all of it', async () => {
    for (const name of ['j2k-512', 'long-header-512']) {
      const bytes = files.get(name)!;
      const fast = await parseHeaderOnly(bytes);
      const whole = parseDicom(bytes, { headerOnly: true });
      assert.equal(fast.stoppedAtPixelData, true, name);
      assert.deepEqual(fast.dataset, whole.dataset, name);
      assert.deepEqual(fast.meta, whole.meta, name);
      assert.deepEqual(fast.structure, whole.structure, name);
    }
    // Deflated data is parsed whole (inflated first), errors are those of the whole parse.
    assert.deepEqual((await parseHeaderOnly(files.get('deflated-512')!)).dataset, parseDicom(files.get('deflated-512')!, { headerOnly: true }).dataset);
    await assert.rejects(parseHeaderOnly(files.get('bad-delimiter-j2k-512')!), { code: 'E_MALFORMED_DICOM' });
  });

  it('scanning the folder gives the headers and errors of the files read whole', async () => {
    const paths = readdirSync(tmp.path).sort().map((n) => join(tmp.path, n));
    const scanned = await scanPaths([tmp.path]);
    const reference = scanWhole(paths);
    assert.deepEqual(comparable(scanned), comparable(reference));
    assert.deepEqual(scanned.errors.map((e) => [e.path.slice(tmp.path.length + 1), e.code]), [
      ['bad-delimiter-j2k-512.dcm', 'E_MALFORMED_DICOM'],
      ['bad-vr-512.dcm', 'E_MALFORMED_DICOM'],
      ['cut-long-header.dcm', 'E_MALFORMED_DICOM'],
    ]);
    assert.equal(scanned.headers.length, files.size - 3);
  });
});
