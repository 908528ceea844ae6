/** The optional Secondary Capture overlay: attributes, pixels, validation, writeReport wiring and series selection. */
import assert from 'node:assert/strict';
import { readInstanceHeader } from '../src/dicom/read.ts';
import { groupIntoSeries, summarizeSeries } from '../src/dicom/series.ts';
import { selectSeries } from '../src/intake/select-series.ts';
import { captionLayout, orientationLetters, overlayCaption, SECONDARY_CAPTURE_SOP_CLASS_UID, writeOverlay, type OverlayOutput } from '../src/report/overlay.ts';
import { writeReport } from '../src/report/report.ts';
import { writeSeg } from '../src/report/seg.ts';
import { requireCommands, requirePaths } from './support/env.ts';
import {
  CREATED,
  MEASURED_INDEX,
  SHARED_LABELS_NIFTI,
  SHARED_SERIES_DIR,
  autochthonMask,
  commonFor,
  dciodvfy,
  loadSharedSeries,
  measureHu,
  naturalize,
  sliceHu,
  syntheticMask,
  withGeometry,
  type SharedSeries,
} from './support/report-fixtures.ts';

describe('report: Secondary Capture overlay', function () {
  let series: SharedSeries;
  let mask: Uint8Array;
  let hu: Int16Array;
  let overlay: OverlayOutput;
  let ds: Record<string, unknown>;

  before(async function () {
    requirePaths(this, SHARED_SERIES_DIR, SHARED_LABELS_NIFTI);
    series = await loadSharedSeries();
    mask = autochthonMask(MEASURED_INDEX);
    hu = await sliceHu(series.ordered, MEASURED_INDEX);
    overlay = writeOverlay({ ...commonFor(series.source), mask, hu, measurements: measureHu(hu, mask, series.source.pixelSpacing!) });
    ds = naturalize(overlay.bytes);
  });

  it('passes dciodvfy with no error', function () {
    requireCommands(this, 'dciodvfy');
    const report = dciodvfy(overlay.bytes);
    assert.deepEqual(report.errors, [], report.output);
    assert.equal(report.status, 0, report.output);
  });

  it('is an RGB Secondary Capture in Explicit VR LE, DERIVED\\SECONDARY, caption burned in, source referenced', () => {
    const meta = ds._meta as Record<string, unknown>;
    assert.equal(meta.TransferSyntaxUID, '1.2.840.10008.1.2.1');
    assert.equal(ds.SOPClassUID, SECONDARY_CAPTURE_SOP_CLASS_UID);
    assert.deepEqual(ds.ImageType, ['DERIVED', 'SECONDARY']);
    assert.equal(ds.PhotometricInterpretation, 'RGB');
    assert.equal(ds.SamplesPerPixel, 3);
    assert.equal(ds.PlanarConfiguration, 0);
    assert.equal(ds.BitsAllocated, 8);
    assert.equal(ds.Rows, 512);
    assert.equal(ds.Columns, 512);
    assert.equal((ds.PixelData as ArrayBuffer[])[0].byteLength, 512 * 512 * 3);
    assert.equal(ds.BurnedInAnnotation, 'YES');
    assert.equal(ds.ConversionType, 'WSD');
    assert.equal(ds.Manufacturer, 'ct-muscle-node');
    assert.deepEqual(JSON.parse(JSON.stringify(ds.SourceImageSequence, (k, v) => (k === '_vrMap' ? undefined : v))), [
      {
        ReferencedSOPClassUID: series.source.sopClassUid,
        ReferencedSOPInstanceUID: series.source.sopInstanceUid,
        PurposeOfReferenceCodeSequence: [{ CodeValue: '121322', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Source image for image processing operation' }],
      },
    ]);
    // The CT is HFS: rows run to the patient's left, columns to posterior.
    assert.deepEqual(ds.PatientOrientation, ['L', 'P']);
    assert.equal(overlay.caption, overlayCaption(commonFor(series.source), measureHu(hu, mask, series.source.pixelSpacing!)));
    assert.match(overlay.caption!, /^T12 {2}AREA \d+\.\d\d CM2 {2}MEAN -?\d+\.\d HU$/);
    assert.match(String(ds.ImageComments), /^Skeletal muscle at T12: area \d+\.\d\d cm2, mean -?\d+\.\d HU, SD \d+\.\d HU \(muscle-sam2 1\.2\.0\)/);
    assert.match(String(ds.DerivationDescription), /W400\/L40/);
  });

  it('lands in the CT study with the same patient, in its own deterministic series after the SEG and SR', () => {
    const seg = writeSeg({ ...commonFor(series.source), mask });
    const segDs = naturalize(seg.bytes);
    for (const key of ['StudyInstanceUID', 'PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyTime', 'StudyID', 'AccessionNumber']) {
      assert.deepEqual(ds[key], segDs[key], key);
    }
    assert.equal(ds.StudyInstanceUID, series.source.studyInstanceUid);
    assert.equal(overlay.seriesNumber, seg.seriesNumber + 2);
    assert.ok(![seg.sopInstanceUid, seg.seriesInstanceUid, series.source.seriesInstanceUid].includes(overlay.seriesInstanceUid));
    const again = writeOverlay({ ...commonFor(series.source), mask, hu, measurements: measureHu(hu, mask, series.source.pixelSpacing!) });
    assert.deepEqual(again.bytes, overlay.bytes);
    const other = writeOverlay({ ...commonFor(series.source), segmenter: { id: 'muscle-sam2', version: '1.3.0' }, mask, hu, measurements: measureHu(hu, mask, series.source.pixelSpacing!) });
    assert.notEqual(other.sopInstanceUid, overlay.sopInstanceUid);
    assert.notEqual(other.seriesInstanceUid, overlay.seriesInstanceUid);
  });

  it('pixels: windowed grey outside the mask, red on it, white caption on black at the top left', () => {
    const rgb = new Uint8Array((ds.PixelData as ArrayBuffer[])[0]);
    const columns = 512;
    const layout = captionLayout(overlay.caption!, 512, 512)!;
    const captionBottom = layout.margin + layout.boxHeight;
    let maskRed = 0;
    let maskCount = 0;
    let white = 0;
    for (let r = 0; r < 512; r++) {
      for (let c = 0; c < columns; c++) {
        const i = r * columns + c;
        const [red, green, blue] = [rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]];
        if (r < captionBottom) {
          if (red === 255 && green === 255 && blue === 255) white++;
          continue;
        }
        if (mask[i]) {
          maskCount++;
          if (red - Math.max(green, blue) > 40) maskRed++;
        } else {
          const expected = Math.round(Math.min(255, Math.max(0, ((hu[i] + 160) / 400) * 255)));
          assert.deepEqual([red, green, blue], [expected, expected, expected], `pixel ${r},${c}`);
        }
      }
    }
    assert.equal(maskRed, maskCount, 'every mask pixel is tinted');
    assert.ok(white > 200, `caption drawn (${white} white pixels)`);
  });

  it('leaves the caption out (BurnedInAnnotation NO) when the image is too narrow for it', () => {
    const small = withGeometry(series.source, { rows: 100, columns: 120 });
    const smallMask = syntheticMask(100, 120);
    const out = writeOverlay({ ...commonFor(small), mask: smallMask, hu: new Int16Array(100 * 120).fill(40), measurements: measureHu(new Int16Array(100 * 120).fill(40), smallMask, [1, 1]) });
    assert.equal(out.caption, null);
    assert.equal(naturalize(out.bytes).BurnedInAnnotation, 'NO');
    assert.match(out.comments, /area \d+\.\d\d cm2/);
  });

  it('refuses wrong HU length, an empty mask, a bad window and missing measurements', () => {
    const common = { ...commonFor(series.source), mask, measurements: measureHu(hu, mask, series.source.pixelSpacing!) };
    assert.throws(() => writeOverlay({ ...common, hu: new Int16Array(10) }), /HU values/);
    assert.throws(() => writeOverlay({ ...common, hu, mask: new Uint8Array(mask.length) }), (e: Error & { code?: string }) => e.code === 'E_EMPTY_MASK');
    assert.throws(() => writeOverlay({ ...common, hu, window: { center: 40, width: 0 } }), /window/);
    assert.throws(() => writeOverlay({ ...common, hu, measurements: null as never }), /measurements/);
  });

  it('orientation letters follow the direction cosines', () => {
    assert.equal(orientationLetters([1, 0, 0]), 'L');
    assert.equal(orientationLetters([-1, 0, 0]), 'R');
    assert.equal(orientationLetters([0, -1, 0]), 'A');
    assert.equal(orientationLetters([0.2, 0.97, 0.1]), 'PLH');
  });

  describe('writeReport', () => {
    it('writes no overlay by default; JSON outputs.overlay is null', () => {
      const out = writeReport({ ...commonFor(series.source), mask, hu, measurements: measureHu(hu, mask, series.source.pixelSpacing!) });
      assert.equal(out.overlay, null);
      assert.equal(out.result.outputs.overlay, null);
    });

    it('with options.overlay: the overlay, named in the JSON outputs', () => {
      const out = writeReport({
        ...commonFor(series.source),
        options: { created: CREATED, softwareVersion: '0.1.0', overlay: true },
        mask,
        hu,
        measurements: measureHu(hu, mask, series.source.pixelSpacing!),
      });
      assert.deepEqual(out.overlay!.bytes, overlay.bytes);
      assert.deepEqual(out.result.outputs.overlay, {
        sopClassUid: SECONDARY_CAPTURE_SOP_CLASS_UID,
        sopInstanceUid: overlay.sopInstanceUid,
        seriesInstanceUid: overlay.seriesInstanceUid,
        seriesNumber: overlay.seriesNumber,
      });
      assert.equal(out.overlay!.seriesNumber, out.sr.seriesNumber + 1);
    });

    it('with options.overlay: needs hu, and writes none for a not-measurable slice', () => {
      const options = { created: CREATED, overlay: true };
      const measurements = measureHu(hu, mask, series.source.pixelSpacing!);
      assert.throws(() => writeReport({ ...commonFor(series.source), options, mask, measurements }), /needs the HU/);
      const empty = writeReport({ ...commonFor(series.source), options, mask: new Uint8Array(mask.length), hu, measurements });
      assert.equal(empty.seg, null);
      assert.equal(empty.overlay, null);
      assert.equal(empty.result.outputs.overlay, null);
    });
  });

  describe('series selection skips the overlay', () => {
    async function selectionOf(bytes: Uint8Array) {
      const header = await readInstanceHeader({ kind: 'memory', bytes, label: 'overlay' });
      const [group] = groupIntoSeries([header]);
      const result = selectSeries([summarizeSeries(group)]);
      assert.equal(result.selected, null);
      assert.equal(result.candidates[0].eligible, false);
      return result.candidates[0].reasons;
    }

    it('as its own output (Manufacturer ct-muscle-node)', async () => {
      assert.deepEqual(await selectionOf(overlay.bytes), ['written by this node (Manufacturer "ct-muscle-node")']);
    });

    it('as a secondary capture when a site renamed the manufacturer', async () => {
      const renamed = writeOverlay({
        ...commonFor(series.source),
        options: { created: CREATED, manufacturer: 'Muscle Lab' },
        mask,
        hu,
        measurements: measureHu(hu, mask, series.source.pixelSpacing!),
      });
      const reasons = await selectionOf(renamed.bytes);
      assert.match(reasons[0], /^secondary capture \(SOP class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.7\)/);
    });
  });
});
