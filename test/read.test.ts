/** Reading Part 10 files and raw datasets (no preamble, no file meta). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { headerFromParsed, parseDicom } from '../src/dicom/read.ts';
import { stringValue } from '../src/dicom/dataset-values.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { pydicomTestFiles, requireCommands, requirePaths } from './support/env.ts';

function dcmdumpValue(path: string, tag: string): string {
  const line = execFileSync('dcmdump', ['-q', '+P', tag, path], { encoding: 'utf8' });
  return /\[([^\]]*)\]/.exec(line)?.[1] ?? '';
}

describe('reading raw datasets without a preamble', () => {
  for (const [file, syntax] of [
    ['ExplVR_LitEndNoMeta.dcm', '1.2.840.10008.1.2.1'],
    ['ExplVR_BigEndNoMeta.dcm', '1.2.840.10008.1.2.2'],
  ]) {
    it(`${file}: guesses ${syntax} and reads the same SOP Instance UID and Modality as dcmdump`, function () {
      const path = join(pydicomTestFiles, file);
      requirePaths(this, path);
      requireCommands(this, 'dcmdump');
      const parsed = parseDicom(readFileSync(path));
      assert.equal(parsed.transferSyntaxUid, syntax);
      assert.equal(stringValue(parsed.dataset, 'SOPInstanceUID'), dcmdumpValue(path, '0008,0018'));
      assert.equal(stringValue(parsed.dataset, 'Modality'), dcmdumpValue(path, '0008,0060'));
    });
  }

  it('an unreadable leading byte is refused as E_NOT_DICOM, as dcmdump refuses it (pydicom no_meta.dcm)', function () {
    const path = join(pydicomTestFiles, 'no_meta.dcm');
    requirePaths(this, path);
    assert.throws(() => parseDicom(readFileSync(path)), (e: unknown) => isCtMuscleError(e) && e.code === 'E_NOT_DICOM');
  });

  it('a Part 10 CT header carries the parsed fields the node relies on', function () {
    const path = join(pydicomTestFiles, 'CT_small.dcm');
    requirePaths(this, path);
    const header = headerFromParsed(parseDicom(readFileSync(path), { headerOnly: true }), { kind: 'file', path });
    assert.equal(header.modality, 'CT');
    assert.equal(header.hasPixelData, true);
    assert.equal(header.dataset.PixelData, undefined, 'header-only parses keep no pixels');
    assert.deepEqual(header.imageOrientationPatient, [1, 0, 0, 0, 1, 0]);
    assert.equal(header.imagePositionPatient?.length, 3);
    assert.deepEqual(header.imageType.slice(0, 2), ['ORIGINAL', 'PRIMARY']);
    assert.equal(header.rows, 128);
  });
});
