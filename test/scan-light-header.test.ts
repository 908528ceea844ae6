/**
 * Issue #16: the scan decodes the attributes it needs of every slice from the structural walk
 * (src/dicom/light-header.ts) and leaves the full dataset to dcmjs until it is first read. The
 * header must be the one a full dcmjs parse gives, field for field, on real CT and on every
 * value the light reader declines; only a header dcmjs cannot read at all now fails where its
 * dataset is used, not in the scan.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lightDataset } from '../src/dicom/light-header.ts';
import { byteOrderOf, headerFromParsed, parseDicom, readInstanceHeader } from '../src/dicom/read.ts';
import { scanPaths } from '../src/dicom/scan.ts';
import { walkDataset } from '../src/dicom/well-formed.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { PHANTOM_TRANSFER_SYNTAXES as TS, generatePhantomStudy, writePhantomStudy } from '../src/phantom/index.ts';
import { dataPath, makeTempDir, pydicomTestFiles, requirePaths } from './support/env.ts';
import { datasetOffset, rewriteElement } from './support/fuzz.ts';

async function phantomInstance(transferSyntaxUid: string): Promise<Uint8Array> {
  const { files } = await generatePhantomStudy({ rows: 128, columns: 128, sliceCount: 1, fromLevel: 'T12', seed: 5, transferSyntaxUid });
  return files[0].bytes;
}

/** The light dataset of a Part 10 file, or null where the light reader leaves it to dcmjs. */
function lightOf(bytes: Uint8Array, transferSyntaxUid: string = TS.explicitVrLittleEndian) {
  const structure = walkDataset(bytes.subarray(datasetOffset(bytes)), byteOrderOf(transferSyntaxUid), { keep: ['00080060', '0008103E', '00280010', '00180050', '00200032', '00280120'], stopAtPixelData: true });
  return lightDataset(structure);
}

/** The file's header as the scan reads it, and as a full dcmjs parse of the whole file gives it. */
async function bothHeaders(path: string) {
  const scanned = await readInstanceHeader({ kind: 'file', path });
  const full = headerFromParsed(parseDicom(new Uint8Array(readFileSync(path)), { headerOnly: true }), { kind: 'file', path });
  return { scanned, full };
}

function lazy(header: object): boolean {
  return typeof Object.getOwnPropertyDescriptor(header, 'dataset')?.get === 'function';
}

describe('scan: the header of every slice without dcmjs (issue #16)', function () {
  this.timeout(120000);
  let tmp: ReturnType<typeof makeTempDir>;
  let explicit: Uint8Array;
  const write = (name: string, bytes: Uint8Array) => {
    const path = join(tmp.path, name);
    writeFileSync(path, bytes);
    return path;
  };
  before(async () => {
    tmp = makeTempDir('ctmn-light-');
    explicit = await phantomInstance(TS.explicitVrLittleEndian);
  });
  after(() => tmp.remove());

  for (const [name, syntax] of [
    ['Explicit VR Little Endian', TS.explicitVrLittleEndian],
    ['Implicit VR Little Endian', TS.implicitVrLittleEndian],
    ['JPEG 2000 (the whole file is read)', TS.jpeg2000Lossless],
  ] as const) {
    it(`${name}: read from the walk (dataset parsed on first use), equal to dcmjs's header`, async () => {
      const path = write(`phantom-${syntax}.dcm`, await phantomInstance(syntax));
      const { scanned, full } = await bothHeaders(path);
      assert.ok(lazy(scanned), 'the light path was taken');
      assert.deepEqual(scanned, full);
    });
  }

  it('real CT (example_ct T11-T12, uncompressed and JPEG 2000; pydicom CT_small): every field equal to dcmjs\'s', async function () {
    const folders = ['uid_repaired_uncompressed', 'uid_repaired_j2k'].map((f) => dataPath('totalsegmentator_example_ct_dicom_T11-T12', f));
    const ctSmall = join(pydicomTestFiles, 'CT_small.dcm');
    requirePaths(this, ...folders, ctSmall);
    const paths = [ctSmall, ...folders.flatMap((folder) => readdirSync(folder).sort().slice(0, 5).map((name) => join(folder, name)))];
    for (const path of paths) {
      const { scanned, full } = await bothHeaders(path);
      assert.ok(lazy(scanned), `${path}: the light path was taken`);
      assert.deepEqual(scanned, full, path);
    }
  });

  it('a scan reading one head after another into one buffer: every slice keeps its own header bytes', async () => {
    const folder = join(tmp.path, 'series');
    mkdirSync(folder);
    // 256²: each file is longer than the 64 KiB head, so the heads go through the lane's one buffer.
    await writePhantomStudy(folder, { rows: 256, columns: 256, fromLevel: 'L1', toLevel: 'T12', sliceThicknessMm: 10, seed: 6 });
    const files = readdirSync(folder).filter((name) => name.endsWith('.dcm')).map((name) => join(folder, name));
    const { headers, errors } = await scanPaths(files, { concurrency: 1 });
    assert.deepEqual(errors, []);
    assert.ok(headers.length >= 4, `${headers.length} slices`);
    for (const header of headers) {
      const path = (header.source as { path: string }).path;
      assert.ok(lazy(header), path);
      // The lazy dataset is parsed only now, after every later file was read into the same buffer.
      assert.deepEqual(header, headerFromParsed(parseDicom(new Uint8Array(readFileSync(path)), { headerOnly: true }), header.source), path);
    }
  });

  it('values whose reading could differ from dcmjs\'s are left to it, and the header is still dcmjs\'s', async () => {
    const cases: Array<[string, Uint8Array]> = [
      // Non-ASCII text: its decoding depends on SpecificCharacterSet.
      ['a non-ASCII SeriesDescription', rewriteElement(rewriteElement(explicit, '00080005', { vr: 'CS', value: 'ISO_IR 192' }), '0008103E', { vr: 'LO', value: new Uint8Array(Buffer.from('Thorax Æ ')) })],
      // A VR other than the dictionary's: dcmjs reads Rows as a signed number then.
      ['Rows stated as SS', rewriteElement(explicit, '00280010', { vr: 'SS' })],
      // Number strings dcmjs cleans up before converting ("1.5mm" → 1.5) or reads as null.
      ['SliceThickness "1.5mm"', rewriteElement(explicit, '00180050', { vr: 'DS', value: '1.5mm' })],
      ['ImagePositionPatient with an empty value', rewriteElement(explicit, '00200032', { vr: 'DS', value: '-100\\\\-120' })],
    ];
    for (const [label, bytes] of cases) {
      assert.equal(lightOf(bytes), null, `${label}: the light reader declines`);
      const { scanned, full } = await bothHeaders(write(`${label}.dcm`, bytes));
      assert.ok(!lazy(scanned), `${label}: parsed by dcmjs in the scan`);
      assert.deepEqual(scanned, full, label);
    }
    // The untouched instance is read by the light reader: the cases above decline for their change alone.
    assert.notEqual(lightOf(explicit), null);
    // PixelPaddingValue: US or SS as stated; in Implicit VR only PixelRepresentation tells, so dcmjs reads it.
    assert.deepEqual(lightOf(rewriteElement(explicit, '00280120', { vr: 'SS', value: new Uint8Array([0x18, 0xfc]) }))?.PixelPaddingValue, -1000);
    assert.equal(lightOf(await phantomInstance(TS.implicitVrLittleEndian), TS.implicitVrLittleEndian)?.Rows, 128);
  });

  it('a header dcmjs cannot read (PatientName as DS) passes the scan; its dataset, when read, is E_NOT_DICOM naming the file', async () => {
    const path = write('bad-pn.dcm', rewriteElement(explicit, '00100010', { vr: 'DS' }));
    const { headers, errors } = await scanPaths([path]);
    assert.deepEqual(errors, []);
    assert.equal(headers[0].rows, 128, 'identity, geometry and pixel format come from the walk');
    assert.throws(
      () => headers[0].dataset,
      (error: unknown) => isCtMuscleError(error) && error.code === 'E_NOT_DICOM' && error.message.includes(path),
    );
  });
});
