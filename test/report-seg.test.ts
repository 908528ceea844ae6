/** DICOM-SEG writer: validity, geometry copied from the source, exact bits, typed errors. */
import assert from 'node:assert/strict';
import dcmjs from 'dcmjs';
import { CtMuscleError } from '../src/errors.ts';
import type { InstanceHeader } from '../src/dicom/types.ts';
import { packBits, unpackBitsFrame } from '../src/report/bitpack.ts';
import { maskForSlice, readSegMask } from '../src/report/read-seg.ts';
import { SEG_SOP_CLASS_UID, anchorPixel, writeSeg } from '../src/report/seg.ts';
import type { SegOutput } from '../src/report/types.ts';
import { requireCommands, requirePaths } from './support/env.ts';
import {
  SHARED_SERIES_DIR,
  commonFor,
  dciodvfy,
  loadSharedSeries,
  naturalize,
  syntheticMask,
  withGeometry,
  type SharedSeries,
} from './support/report-fixtures.ts';

type Item = Record<string, unknown>;
const seq = (value: unknown): Item[] => (Array.isArray(value) ? (value as Item[]) : [value as Item]);
const numbers = (value: unknown): number[] => (Array.isArray(value) ? value : [value]).map(Number);

function assertTypedError(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => error instanceof CtMuscleError && error.code === code);
}

describe('report: DICOM-SEG from a real CT slice', function () {
  let series: SharedSeries;
  let mask: Uint8Array;
  let seg: SegOutput;

  before(async function () {
    requirePaths(this, SHARED_SERIES_DIR);
    series = await loadSharedSeries();
    mask = syntheticMask(series.source.rows!, series.source.columns!);
    seg = writeSeg({ ...commonFor(series.source), mask });
  });

  it('passes dciodvfy with no error and no warning', function () {
    requireCommands(this, 'dciodvfy');
    const report = dciodvfy(seg.bytes);
    assert.deepEqual(report.errors, [], report.output);
    assert.equal(report.status, 0, report.output);
    assert.deepEqual(report.warnings, [], report.output);
  });

  it('is BINARY Segmentation Storage in Explicit VR Little Endian, research-qualified by default', () => {
    const ds = naturalize(seg.bytes);
    const meta = ds._meta as Item;
    assert.equal(meta.TransferSyntaxUID, '1.2.840.10008.1.2.1');
    assert.equal(ds.SOPClassUID, SEG_SOP_CLASS_UID);
    assert.equal(ds.SegmentationType, 'BINARY');
    assert.equal(ds.BitsAllocated, 1);
    assert.equal(ds.ContentQualification, 'RESEARCH');
    assert.equal(ds.Manufacturer, 'ct-muscle-node');
    assert.equal(ds.Modality, 'SEG');
    assert.equal(ds.NumberOfFrames, 1);
  });

  it('names one AUTOMATIC "Skeletal muscle" segment with SCT codes and the model as algorithm', () => {
    const ds = naturalize(seg.bytes);
    const [segment] = seq(ds.SegmentSequence);
    assert.equal(seq(ds.SegmentSequence).length, 1);
    assert.equal(segment.SegmentNumber, 1);
    assert.equal(segment.SegmentLabel, 'Skeletal muscle');
    assert.equal(segment.SegmentAlgorithmType, 'AUTOMATIC');
    assert.equal(segment.SegmentAlgorithmName, 'muscle-sam2');
    const [algorithm] = seq(segment.SegmentationAlgorithmIdentificationSequence);
    assert.equal(algorithm.AlgorithmName, 'muscle-sam2');
    assert.equal(algorithm.AlgorithmVersion, '1.2.0');
    const [category] = seq(segment.SegmentedPropertyCategoryCodeSequence);
    const [type] = seq(segment.SegmentedPropertyTypeCodeSequence);
    assert.deepEqual([category.CodeValue, category.CodingSchemeDesignator], ['91723000', 'SCT']);
    assert.deepEqual([type.CodeValue, type.CodingSchemeDesignator, type.CodeMeaning], ['127954009', 'SCT', 'Skeletal muscle']);
  });

  it('copies study, patient, frame of reference and geometry from the source slice', () => {
    const ds = naturalize(seg.bytes);
    const src = series.source;
    assert.equal(ds.StudyInstanceUID, src.studyInstanceUid);
    assert.equal(ds.FrameOfReferenceUID, src.frameOfReferenceUid);
    assert.deepEqual(ds.PatientID, src.dataset.PatientID);
    assert.deepEqual(ds.PatientName, src.dataset.PatientName);
    assert.equal(ds.Rows, src.rows);
    assert.equal(ds.Columns, src.columns);
    const [shared] = seq(ds.SharedFunctionalGroupsSequence);
    const [measures] = seq(shared.PixelMeasuresSequence);
    assert.deepEqual(numbers(measures.PixelSpacing), src.pixelSpacing);
    assert.equal(Number(measures.SliceThickness), src.sliceThickness);
    assert.ok(Number(measures.SpacingBetweenSlices) > 0);
    const [orientation] = seq(shared.PlaneOrientationSequence);
    assert.deepEqual(numbers(orientation.ImageOrientationPatient), src.imageOrientationPatient);
    const [frame] = seq(ds.PerFrameFunctionalGroupsSequence);
    const [position] = seq(frame.PlanePositionSequence);
    assert.deepEqual(numbers(position.ImagePositionPatient), src.imagePositionPatient);
    const [derivation] = seq(frame.DerivationImageSequence);
    const [sourceImage] = seq(derivation.SourceImageSequence);
    assert.equal(sourceImage.ReferencedSOPInstanceUID, src.sopInstanceUid);
    assert.equal(seq(frame.SegmentIdentificationSequence)[0].ReferencedSegmentNumber, 1);
    const [referencedSeries] = seq(ds.ReferencedSeriesSequence);
    assert.equal(referencedSeries.SeriesInstanceUID, src.seriesInstanceUid);
    assert.deepEqual(
      seq(referencedSeries.ReferencedInstanceSequence).map((i) => i.ReferencedSOPInstanceUID),
      [src.sopInstanceUid],
    );
  });

  it('reads back (node reader and dcmjs) to the same mask bits', async () => {
    const readout = await readSegMask(seg.bytes);
    assert.equal(readout.frames.length, 1);
    assert.deepEqual(readout.referencedSopInstanceUids, [series.source.sopInstanceUid]);
    assert.equal(readout.frames[0].segmentNumber, 1);
    assert.deepEqual(readout.frames[0].mask, mask);
    assert.deepEqual(maskForSlice(readout, series.source.sopInstanceUid), mask);
    const ds = naturalize(seg.bytes);
    const pixelData = new Uint8Array((ds.PixelData as ArrayBuffer[])[0]);
    const unpacked = dcmjs.data.BitArray.unpack(pixelData).subarray(0, mask.length);
    assert.deepEqual(Uint8Array.from(unpacked, (v) => (v ? 1 : 0)), mask);
  });

  it('ContentQualification PRODUCT when asked', () => {
    const product = writeSeg({ ...commonFor(series.source, { options: { contentQualification: 'PRODUCT' } }), mask });
    assert.equal(naturalize(product.bytes).ContentQualification, 'PRODUCT');
  });

  it('full stack: one frame per slice, in order, empty except the measured one', async function () {
    requireCommands(this, 'dciodvfy');
    const full = writeSeg({ ...commonFor(series.source, { seriesSlices: series.ordered }), mask, options: { ...commonFor(series.source).options, fullStack: true } });
    assert.equal(full.numberOfFrames, series.ordered.length);
    const report = dciodvfy(full.bytes);
    assert.deepEqual(report.errors, [], report.output);
    const readout = await readSegMask(full.bytes);
    assert.deepEqual(
      readout.frames.map((f) => f.referencedSopInstanceUid),
      series.ordered.map((s) => s.sopInstanceUid),
    );
    readout.frames.forEach((frame, k) => {
      assert.deepEqual(frame.imagePositionPatient, series.ordered[k].imagePositionPatient);
      assert.equal(frame.pixelCount, series.ordered[k] === series.source ? mask.reduce((a, b) => a + b, 0) : 0);
    });
    assert.equal(full.ref.frameNumber, series.ordered.indexOf(series.source) + 1);
    assert.deepEqual(maskForSlice(readout, series.source.sopInstanceUid), mask);
    const measures = seq(seq(naturalize(full.bytes).SharedFunctionalGroupsSequence)[0].PixelMeasuresSequence)[0];
    assert.equal(Number(measures.SpacingBetweenSlices), 2);
  });

  it('an all-zero mask throws E_EMPTY_MASK (never an empty SEG)', () => {
    assertTypedError(() => writeSeg({ ...commonFor(series.source), mask: new Uint8Array(mask.length) }), 'E_EMPTY_MASK');
  });

  it('rejects a mask of the wrong size, a 0/255 mask and a missing series for fullStack', () => {
    assertTypedError(() => writeSeg({ ...commonFor(series.source), mask: new Uint8Array(10).fill(1) }), 'E_REPORT_INVALID');
    assertTypedError(() => writeSeg({ ...commonFor(series.source), mask: Uint8Array.from(mask, (v) => v * 255) }), 'E_REPORT_INVALID');
    assertTypedError(() => writeSeg({ ...commonFor(series.source), mask, options: { fullStack: true } }), 'E_REPORT_INVALID');
  });

  it('rejects a source without geometry or a level naming another slice', () => {
    const noPosition = { ...series.source, imagePositionPatient: undefined };
    assertTypedError(() => writeSeg({ ...commonFor(series.source), source: noPosition, mask }), 'E_MISSING_ATTRIBUTE');
    const other = series.ordered.find((s) => s !== series.source)!;
    assertTypedError(() => writeSeg({ ...commonFor(series.source), level: { ...commonFor(series.source).level, sopInstanceUid: other.sopInstanceUid }, mask }), 'E_REPORT_INVALID');
  });

  describe('source orientations keep their IPP/IOP and the mask is never flipped', () => {
    const cases: Array<[string, [number, number, number, number, number, number], [number, number, number]]> = [
      ['head-first supine', [1, 0, 0, 0, 1, 0], [-249.51171875, -437.51171875, -790.5]],
      ['feet-first supine', [-1, 0, 0, 0, 1, 0], [249.51171875, -437.51171875, -790.5]],
      ['head-first prone', [-1, 0, 0, 0, -1, 0], [249.51171875, 62.48828125, -790.5]],
      ['feet-first prone', [1, 0, 0, 0, -1, 0], [-249.51171875, 62.48828125, -790.5]],
      ['oblique (5° tilt)', [1, 0, 0, 0, 0.996194698, -0.087155743], [-249.51171875, -437.51171875, -790.5]],
    ];
    for (const [name, iop, ipp] of cases) {
      it(name, async function () {
        const source = withGeometry(series.source, { imageOrientationPatient: iop, imagePositionPatient: ipp });
        const out = writeSeg({ ...commonFor(source), mask });
        const ds = naturalize(out.bytes);
        const [shared] = seq(ds.SharedFunctionalGroupsSequence);
        assert.deepEqual(numbers(seq(shared.PlaneOrientationSequence)[0].ImageOrientationPatient), iop);
        const [frame] = seq(ds.PerFrameFunctionalGroupsSequence);
        assert.deepEqual(numbers(seq(frame.PlanePositionSequence)[0].ImagePositionPatient), ipp);
        const readout = await readSegMask(out.bytes);
        assert.deepEqual(readout.frames[0].mask, mask);
        requireCommands(this, 'dciodvfy');
        assert.deepEqual(dciodvfy(out.bytes).errors, []);
      });
    }
  });
});

describe('report: the anchor point the SR points at', () => {
  it('lies deep inside the mask, also for a ring whose centroid is outside it', () => {
    const rows = 41;
    const columns = 41;
    const ring = new Uint8Array(rows * columns);
    for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) {
      const d = Math.hypot(r - 20, c - 20);
      if (d >= 10 && d <= 16) ring[r * columns + c] = 1;
    }
    const { row, column } = anchorPixel(ring, rows, columns);
    assert.equal(ring[row * columns + column], 1);
    const d = Math.hypot(row - 20, column - 20);
    assert.ok(d >= 12 && d <= 14, `anchor at radius ${d}, not mid-ring`);
    assert.deepEqual(anchorPixel(ring, rows, columns), { row, column }, 'deterministic');
    const single = new Uint8Array(rows * columns);
    single[5 * columns + 7] = 1;
    assert.deepEqual(anchorPixel(single, rows, columns), { row: 5, column: 7 });
  });
});

describe('report: 1-bit packing when rows × columns is not a multiple of 8', () => {
  const rows = 7;
  const columns = 9;
  let base: InstanceHeader;
  const frameA = Uint8Array.from({ length: 63 }, (_, i) => (i % 3 === 0 || i === 62 ? 1 : 0));

  before(async function () {
    requirePaths(this, SHARED_SERIES_DIR);
    base = (await loadSharedSeries()).source;
  });

  const slice = (k: number) =>
    withGeometry(base, {
      sopInstanceUid: `${base.sopInstanceUid}.${k}`,
      rows,
      columns,
      imagePositionPatient: [-10, -20, -100 + 2 * k],
      imageOrientationPatient: [1, 0, 0, 0, 1, 0],
    });

  it('packs frames back to back (frame 2 starts at bit 63) and unpacks them exactly', () => {
    const frameB = Uint8Array.from({ length: 63 }, (_, i) => (i < 5 || i > 60 ? 1 : 0));
    const packed = packBits([frameA, frameB], 63);
    assert.equal(packed.length, 16); // ceil(126 / 8) = 16, already even
    assert.deepEqual(unpackBitsFrame(packed, 63, 0), frameA);
    assert.deepEqual(unpackBitsFrame(packed, 63, 1), frameB);
    // Bit 63 (last bit of byte 7) is frame B's first pixel.
    assert.equal((packed[7] >> 7) & 1, 1);
    // dcmjs packs the same continuous bit stream.
    const concatenated = new Uint8Array(126);
    concatenated.set(frameA, 0);
    concatenated.set(frameB, 63);
    assert.deepEqual(packed.subarray(0, 16), dcmjs.data.BitArray.pack(concatenated));
    // One 63-pixel frame: 8 bytes, even.
    assert.equal(packBits([frameA], 63).length, 8);
  });

  it('a 7×9 three-frame SEG reads back bit-exact through the node reader (decodeFrame)', async () => {
    const slices = [slice(0), slice(1), slice(2)];
    const source = slices[1];
    const common = commonFor(source, { seriesSlices: slices });
    const out = writeSeg({ ...common, mask: frameA, options: { ...common.options, fullStack: true } });
    const ds = naturalize(out.bytes);
    assert.equal(ds.Rows, 7);
    assert.equal(ds.Columns, 9);
    assert.equal(ds.NumberOfFrames, 3);
    assert.equal(new Uint8Array((ds.PixelData as ArrayBuffer[])[0]).length, 24); // ceil(189 / 8) = 24
    const readout = await readSegMask(out.bytes);
    assert.deepEqual(readout.frames[0].mask, new Uint8Array(63));
    assert.deepEqual(readout.frames[1].mask, frameA);
    assert.deepEqual(readout.frames[2].mask, new Uint8Array(63));
    assert.deepEqual(readout.referencedSopInstanceUids, slices.map((s) => s.sopInstanceUid));
  });
});
