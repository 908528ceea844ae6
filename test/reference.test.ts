/** The reference reader for `validate`: case folders (DICOM + SEG, NIfTI + mask) and CSVs of reader areas. */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readReference, readReferenceCase, readReferenceCaseOutcome } from '../src/reference/read-reference.ts';
import { dataPath, makeTempDir, requirePaths } from './support/env.ts';
import { EXAMPLE_CT_SM, EXAMPLE_MUSCLE, linkExampleCase, writePhantomCase } from './support/reference-cases.ts';

const PHANTOM = { rows: 128, columns: 128, fromLevel: 'L1', toLevel: 'T11' } as const;
const count = (m: Uint8Array) => m.reduce((s, v) => s + v, 0);

async function failsWith(directory: string, code: string, pattern?: RegExp): Promise<void> {
  const outcome = await readReferenceCaseOutcome('case', directory);
  assert.equal(outcome.ok, false, 'the case should not read');
  if (outcome.ok) return;
  assert.equal(outcome.error.code, code, outcome.error.message);
  if (pattern) assert.match(outcome.error.message, pattern);
}

describe('reference reader', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('ctmn-reference-')));
  afterEach(() => tmp.remove());

  it('reads a DICOM case: the SEG frame placed on its CT slice, the mask and area as drawn', async () => {
    const dir = join(tmp.path, 'p1');
    const { truth, mask } = await writePhantomCase(dir, { ...PHANTOM, seed: 3 });
    const ref = await readReferenceCase(dir);
    assert.equal(ref.id, 'p1');
    assert.equal(ref.ctSource.kind, 'dicom');
    assert.equal(ref.maskSource.kind, 'seg');
    assert.equal(ref.sliceCount, truth.sliceCount);
    assert.equal(ref.sliceIndex, truth.t12.sliceIndex);
    assert.equal(ref.sliceSopInstanceUid, truth.t12.sopInstanceUid);
    assert.equal(ref.sliceChoice, 'only-mask-slice');
    assert.deepEqual(ref.mask, mask);
    assert.equal(ref.hu.length, 128 * 128);
    const [ry, rx] = truth.pixelSpacingMm;
    assert.ok(Math.abs(ref.readerAreaCm2 - (count(mask) * ry * rx) / 100) < 1e-9);
    assert.equal(ref.studyInstanceUid, truth.studyInstanceUid);
    assert.equal(ref.ctHeaders.length, truth.sliceCount);
    assert.equal((await ref.loadVolume()).slices.length, truth.sliceCount);
  });

  it('takes the slice case.json names, and refuses one where the reader drew nothing', async () => {
    const dir = join(tmp.path, 'p2');
    const { truth } = await writePhantomCase(dir, { ...PHANTOM, seed: 4 });
    writeFileSync(join(dir, 'case.json'), JSON.stringify({ sliceSopInstanceUid: truth.t12.sopInstanceUid, areaCm2: 101.5 }));
    const ref = await readReferenceCase(dir);
    assert.equal(ref.sliceChoice, 'case.json');
    assert.equal(ref.statedAreaCm2, 101.5);
    writeFileSync(join(dir, 'case.json'), JSON.stringify({ sliceIndex: truth.t12.sliceIndex! + 1 }));
    await failsWith(dir, 'E_REFERENCE_EMPTY_MASK', /slice named in case.json/);
    writeFileSync(join(dir, 'case.json'), JSON.stringify({ slice: 3 }));
    await failsWith(dir, 'E_REFERENCE_INVALID', /case.json/);
  });

  it('typed errors: no mask, no CT, SEG of another series, mask on another grid', async () => {
    const a = join(tmp.path, 'a');
    const { segPath } = await writePhantomCase(a, { ...PHANTOM, seed: 5 });
    rmSync(segPath);
    await failsWith(a, 'E_REFERENCE_NO_MASK');

    const b = join(tmp.path, 'b');
    await writePhantomCase(b, { ...PHANTOM, seed: 6 });
    rmSync(join(b, 'ct'), { recursive: true });
    await failsWith(b, 'E_REFERENCE_NO_CT');

    // The SEG drawn on seed 7's series, beside seed 8's CT.
    const c = join(tmp.path, 'c');
    const other = join(tmp.path, 'other');
    await writePhantomCase(c, { ...PHANTOM, seed: 8 });
    const { segPath: foreign } = await writePhantomCase(other, { ...PHANTOM, seed: 7, study: { studyInstanceUid: '1.2.3.4.777' } });
    rmSync(join(c, 'reader-seg.dcm'));
    writeFileSync(join(c, 'reader-seg.dcm'), readFileSync(foreign));
    await failsWith(c, 'E_REFERENCE_SEG_SERIES');

    // The same series drawn at another matrix (96×96): the SEG is not on the CT's grid.
    const d = join(tmp.path, 'd');
    const small = join(tmp.path, 'small');
    const series = { seriesInstanceUid: '1.2.3.4.999', frameOfReferenceUid: '1.2.3.4.998' };
    await writePhantomCase(d, { ...PHANTOM, seed: 9, series });
    const { segPath: smallSeg } = await writePhantomCase(small, { ...PHANTOM, rows: 96, columns: 96, seed: 9, series });
    writeFileSync(join(d, 'reader-seg.dcm'), readFileSync(smallSeg));
    await failsWith(d, 'E_REFERENCE_GRID_MISMATCH', /96×96/);
  });

  it('reads example_ct_sm (NIfTI) with TotalSegmentator\'s muscle mask: the slice, the largest when none is named, a label', async function () {
    requirePaths(this, EXAMPLE_CT_SM, EXAMPLE_MUSCLE);
    const named = join(tmp.path, 'sm25');
    linkExampleCase(named, { sliceIndex: 25 });
    const ref = await readReferenceCase(named);
    assert.equal(ref.ctSource.kind, 'nifti');
    assert.equal(ref.sliceIndex, 25);
    assert.equal(ref.sliceSopInstanceUid, undefined);
    assert.ok(Math.abs(ref.readerAreaCm2 - 84.0) < 0.05, `slice 25 area ${ref.readerAreaCm2} (README: 84.0 cm²)`);

    const largest = join(tmp.path, 'sm');
    linkExampleCase(largest);
    const guessed = await readReferenceCase(largest);
    assert.equal(guessed.sliceChoice, 'largest-mask-slice');
    assert.match(guessed.notes.join(' '), /covers 30 slices/);

    const labels = dataPath('totalsegmentator_example_ct_sm', 'example_seg.nii.gz');
    const erector = join(tmp.path, 'es');
    linkExampleCase(erector, { sliceIndex: 25, label: 86 }, labels);
    const es = await readReferenceCase(erector);
    assert.ok(es.readerAreaCm2 > 1 && es.readerAreaCm2 < 30, `one erector spinae: ${es.readerAreaCm2} cm²`);
  });

  it('refuses a NIfTI mask on another grid (E_REFERENCE_GRID_MISMATCH)', async function () {
    const full = dataPath('totalsegmentator_example_ct_full', 'spine_report', 'totalseg.nii.gz');
    requirePaths(this, EXAMPLE_CT_SM, full);
    const dir = join(tmp.path, 'mismatch');
    linkExampleCase(dir, undefined, full);
    await failsWith(dir, 'E_REFERENCE_GRID_MISMATCH', /112 slices, the CT 30/);
  });

  it('lists case folders, and reads a CSV of reader areas', async () => {
    mkdirSync(join(tmp.path, 'ref', 'b'), { recursive: true });
    mkdirSync(join(tmp.path, 'ref', 'a'));
    const listed = await readReference(join(tmp.path, 'ref'));
    assert.deepEqual(listed.kind === 'cases' && listed.cases.map((c) => c.id), ['a', 'b']);
    const csv = join(tmp.path, 'areas.csv');
    writeFileSync(csv, 'StudyInstanceUID,areaCm2,sliceSopInstanceUid\n1.2.3,120.5,1.2.3.4\n1.2.4,98\n');
    const areas = await readReference(csv);
    assert.deepEqual(areas.kind === 'areas' && areas.areas, [
      { studyInstanceUid: '1.2.3', areaCm2: 120.5, sliceSopInstanceUid: '1.2.3.4' },
      { studyInstanceUid: '1.2.4', areaCm2: 98 },
    ]);
    writeFileSync(csv, '1.2.3,-4\n');
    await assert.rejects(readReference(csv), { code: 'E_REFERENCE_INVALID' });
    await assert.rejects(readReference(join(tmp.path, 'nothing')), { code: 'E_REFERENCE_INVALID' });
  });
});
