/** The per-study JSON result and the one-call report (empty mask → SR "not measurable", no SEG). */
import assert from 'node:assert/strict';
import { EMPTY_MASK_REASON, writeReport } from '../src/report/report.ts';
import { buildResultJson, RESULT_SCHEMA } from '../src/report/result-json.ts';
import { requirePaths } from './support/env.ts';
import { CREATED, SHARED_SERIES_DIR, commonFor, loadSharedSeries, measurementsFor, naturalize, syntheticMask, type SharedSeries } from './support/report-fixtures.ts';

describe('report: JSON result and writeReport', function () {
  let series: SharedSeries;
  let mask: Uint8Array;

  before(async function () {
    requirePaths(this, SHARED_SERIES_DIR);
    series = await loadSharedSeries();
    mask = syntheticMask(series.source.rows!, series.source.columns!);
  });

  it('a measured slice: SEG + SR + JSON that agree, full-precision numbers, no NaN', () => {
    const measurements = { ...measurementsFor(mask, series.source.pixelSpacing!), smiCm2PerM2: NaN };
    const out = writeReport({ ...commonFor(series.source), mask, measurements });
    const { result } = out;
    assert.equal(result.schema, RESULT_SCHEMA);
    assert.equal(result.status, 'measured');
    assert.equal(result.reason, null);
    assert.equal(result.created, CREATED.toISOString());
    assert.equal(result.measurements!.areaCm2, measurements.areaCm2);
    assert.equal(result.measurements!.smiCm2PerM2, null);
    assert.equal(result.measurements!.pixelCount, mask.reduce((a, b) => a + b, 0));
    assert.equal(result.outputs.seg!.sopInstanceUid, out.seg!.sopInstanceUid);
    assert.equal(result.outputs.sr!.sopInstanceUid, out.sr.sopInstanceUid);
    assert.equal(result.slice.sopInstanceUid, series.source.sopInstanceUid);
    assert.equal(result.study.studyInstanceUid, series.source.studyInstanceUid);
    assert.equal(result.level.name, 'T12');
    assert.equal(result.level.confidence, 0.87);
    assert.deepEqual(result.flags, ['iv-contrast']);
    const text = JSON.stringify(result);
    assert.ok(!text.includes('NaN'));
    assert.deepEqual(JSON.parse(text), result);
  });

  it('an empty mask: no SEG, an SR that says not measurable, a JSON with the reason', () => {
    const out = writeReport({ ...commonFor(series.source), mask: new Uint8Array(mask.length), measurements: measurementsFor(mask, series.source.pixelSpacing!) });
    assert.equal(out.seg, null);
    assert.equal(out.result.status, 'not-measurable');
    assert.equal(out.result.reason, EMPTY_MASK_REASON);
    assert.equal(out.result.measurements, null);
    assert.equal(out.result.outputs.seg, null);
    const ds = naturalize(out.sr.bytes);
    assert.ok(JSON.stringify(ds.ContentSequence).includes(EMPTY_MASK_REASON));
  });

  it('the ONNX runtime (provider used, providers skipped) is written beside the segmenter when known, and left out otherwise', () => {
    const runtime = { executionProvider: 'cpu', skipped: [{ model: 'muscle-sam2-encoder', provider: 'webgpu', reason: 'no-adapter' }] };
    const common = commonFor(series.source);
    const withRuntime = writeReport({ ...common, segmenter: { ...common.segmenter, runtime }, mask, measurements: measurementsFor(mask, series.source.pixelSpacing!) });
    assert.deepEqual(withRuntime.result.segmenter.runtime, runtime);
    const without = writeReport({ ...common, mask, measurements: measurementsFor(mask, series.source.pixelSpacing!) });
    assert.equal('runtime' in without.result.segmenter, false);
    // The runtime is not part of the DICOM identity: same UIDs with and without it.
    assert.equal(withRuntime.sr.sopInstanceUid, without.sr.sopInstanceUid);
  });

  it('other writer errors are not swallowed', () => {
    assert.throws(() => writeReport({ ...commonFor(series.source), mask: new Uint8Array(3), measurements: measurementsFor(mask, series.source.pixelSpacing!) }), /values; the slice is/);
  });

  it('buildResultJson needs a reason when there are no measurements', () => {
    const common = commonFor(series.source);
    assert.throws(() => buildResultJson({ ...common, measurements: null, seg: null, sr: null, created: CREATED }), /notMeasurableReason/);
  });
});
