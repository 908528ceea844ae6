/** Deterministic UIDs, series numbers, dates and byte-identical re-runs. */
import assert from 'node:assert/strict';
import { formatDs } from '../src/report/format.ts';
import { writeReport } from '../src/report/report.ts';
import { writeSeg } from '../src/report/seg.ts';
import { writeSr } from '../src/report/sr.ts';
import { deriveSeriesNumber, deriveUid, dicomDateTime, uidFromParts, type UidSeed } from '../src/report/uids.ts';
import { requirePaths } from './support/env.ts';
import { CREATED, SHARED_SERIES_DIR, commonFor, loadSharedSeries, measurementsFor, naturalize, syntheticMask, type SharedSeries } from './support/report-fixtures.ts';

const seed: UidSeed = { sourceSopInstanceUid: '1.2.3.4.5', modelId: 'muscle-sam2', modelVersion: '1.2.0' };

describe('report: UID scheme', () => {
  it('is 2.25 + a decimal 128-bit integer, ≤ 64 characters, valid UID syntax', () => {
    for (const kind of ['seg', 'sr', 'series-seg', 'series-sr', 'overlay', 'series-overlay', 'tracking', 'dimension-organization'] as const) {
      const uid = deriveUid(seed, kind);
      assert.match(uid, /^2\.25\.(0|[1-9][0-9]*)$/);
      assert.ok(uid.length <= 64, uid);
      assert.ok(BigInt(uid.slice(5)) < 2n ** 128n);
    }
  });

  it('the same seed and kind give the same UID; anything else gives another', () => {
    assert.equal(deriveUid(seed, 'seg'), deriveUid({ ...seed }, 'seg'));
    const variants = [
      deriveUid(seed, 'seg'),
      deriveUid(seed, 'sr'),
      deriveUid(seed, 'series-seg'),
      deriveUid({ ...seed, modelVersion: '1.2.1' }, 'seg'),
      deriveUid({ ...seed, modelId: 'other' }, 'seg'),
      deriveUid({ ...seed, sourceSopInstanceUid: '1.2.3.4.6' }, 'seg'),
      deriveUid({ ...seed, revision: 'correction-1' }, 'seg'),
    ];
    assert.equal(new Set(variants).size, variants.length);
    // An empty revision is no revision.
    assert.equal(deriveUid({ ...seed, revision: '' }, 'seg'), deriveUid(seed, 'seg'));
    // Part boundaries matter.
    assert.notEqual(uidFromParts(['a', 'bc']), uidFromParts(['ab', 'c']));
  });

  it('series numbers: configured, or 9000..9890 by model version, inside the IS range', () => {
    assert.equal(deriveSeriesNumber('m', '1', 42), 42);
    const derived = deriveSeriesNumber('muscle-sam2', '1.2.0');
    assert.equal(derived, deriveSeriesNumber('muscle-sam2', '1.2.0'));
    assert.ok(derived >= 9000 && derived <= 9890 && derived % 10 === 0);
    const numbers = new Set(['1.0', '1.1', '1.2', '2.0', '2.1'].map((v) => deriveSeriesNumber('muscle-sam2', v)));
    assert.ok(numbers.size >= 4, 'versions should mostly land on different numbers');
  });

  it('dates: UTC DA/TM with +0000 whatever the local time zone', () => {
    assert.deepEqual(dicomDateTime(new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6))), { date: '20250102', time: '030405.006', timezoneOffset: '+0000' });
    assert.throws(() => dicomDateTime(new Date(NaN)));
  });

  it('decimal strings fit 16 characters', () => {
    assert.equal(formatDs(-249.51171875), '-249.51171875');
    assert.equal(formatDs(0.1 + 0.2), '0.3');
    assert.equal(formatDs(-0), '0');
    for (const v of [1 / 3, -437.51171875 - 3e-14, 123456789 + 1 / 9, 1e-20, -6.02e23]) {
      const text = formatDs(v);
      assert.ok(text.length <= 16, text);
      assert.ok(Math.abs(Number(text) - v) <= Math.abs(v) * 1e-9, `${text} vs ${v}`);
    }
    assert.throws(() => formatDs(NaN));
  });
});

describe('report: determinism of the written files', function () {
  let series: SharedSeries;
  let mask: Uint8Array;

  before(async function () {
    requirePaths(this, SHARED_SERIES_DIR);
    series = await loadSharedSeries();
    mask = syntheticMask(series.source.rows!, series.source.columns!);
  });

  function run(version = '1.2.0', created = CREATED) {
    const common = commonFor(series.source, { segmenter: { id: 'muscle-sam2', version, prompt: null }, options: { created } });
    const seg = writeSeg({ ...common, mask });
    const sr = writeSr({ ...common, measurements: measurementsFor(mask, series.source.pixelSpacing!), seg: seg.ref });
    return { seg, sr };
  }

  it('the same input and timestamp give byte-identical SEG and SR with identical UIDs', () => {
    const a = run();
    const b = run();
    assert.deepEqual(a.seg.bytes, b.seg.bytes);
    assert.deepEqual(a.sr.bytes, b.sr.bytes);
    assert.equal(a.seg.sopInstanceUid, b.seg.sopInstanceUid);
    assert.equal(a.sr.seriesInstanceUid, b.sr.seriesInstanceUid);
    assert.equal(naturalize(a.seg.bytes).SOPInstanceUID, a.seg.sopInstanceUid);
  });

  it('another timestamp changes the content dates but not the UIDs', () => {
    const a = run();
    const b = run('1.2.0', new Date(Date.UTC(2026, 0, 1)));
    assert.notDeepEqual(a.seg.bytes, b.seg.bytes);
    assert.equal(a.seg.sopInstanceUid, b.seg.sopInstanceUid);
    assert.equal(naturalize(b.seg.bytes).ContentDate, '20260101');
  });

  it('a new model version gives new SOP and Series Instance UIDs for both SEG and SR', () => {
    const a = run('1.2.0');
    const b = run('1.3.0');
    assert.notEqual(a.seg.seriesInstanceUid, b.seg.seriesInstanceUid);
    assert.notEqual(a.sr.seriesInstanceUid, b.sr.seriesInstanceUid);
    assert.notEqual(a.seg.sopInstanceUid, b.seg.sopInstanceUid);
    assert.notEqual(a.sr.sopInstanceUid, b.sr.sopInstanceUid);
    assert.notEqual(a.seg.seriesInstanceUid, a.sr.seriesInstanceUid);
    assert.equal(a.sr.seriesNumber, a.seg.seriesNumber + 1);
  });

  it('writeReport uses one timestamp for SEG, SR and JSON when none is given', () => {
    const common = commonFor(series.source);
    const out = writeReport({ ...common, options: { softwareVersion: '0.1.0' }, mask, measurements: measurementsFor(mask, series.source.pixelSpacing!) });
    const segDs = naturalize(out.seg!.bytes);
    const srDs = naturalize(out.sr.bytes);
    assert.equal(segDs.ContentDate, srDs.ContentDate);
    assert.equal(segDs.ContentTime, srDs.ContentTime);
    assert.equal(out.result.created.slice(0, 10).replace(/-/g, ''), segDs.ContentDate);
  });
});
