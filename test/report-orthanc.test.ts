/**
 * The SEG and SR in a real PACS: STOW-RS the CT series, the SEG and the SR to a throwaway
 * Orthanc, confirm every SOP Instance UID in 00081199, find the outputs by QIDO-RS and read the
 * SEG back by WADO-RS to the same mask. The same for phantom series in four patient positions,
 * with the Secondary Capture overlay. One Orthanc for the file; skips when Orthanc is not
 * installed (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { maskForSlice, readSegMask } from '../src/report/read-seg.ts';
import { writeReport } from '../src/report/report.ts';
import type { ReportOutput } from '../src/report/report.ts';
import { requirePaths } from './support/env.ts';
import { firstString, type OrthancHandle, qido, requireOrthanc, startOrthanc, stow, unconfirmed, wadoInstance } from './support/orthanc.ts';
import { SECONDARY_CAPTURE_SOP_CLASS_UID } from '../src/report/overlay.ts';
import {
  PHANTOM_ORIENTATIONS,
  SHARED_SERIES_DIR,
  commonFor,
  loadSharedSeries,
  measurementsFor,
  phantomCase,
  phantomReport,
  syntheticMask,
  type SharedSeries,
} from './support/report-fixtures.ts';

describe('report: outputs stored in Orthanc (STOW-RS, QIDO-RS, WADO-RS)', function () {
  this.timeout(120000);
  let orthanc: OrthancHandle | null = null;

  before(async function () {
    requireOrthanc(this);
    orthanc = await startOrthanc();
  });

  after(async () => {
    if (!orthanc) return;
    const child = orthanc.process;
    await orthanc.stop();
    assert.ok(child.exitCode !== null || child.signalCode !== null, 'Orthanc still running after stop()');
  });

  describe('SEG and SR of the shared CT series', function () {
    let series: SharedSeries;
    let mask: Uint8Array;
    let report: ReportOutput;

    before(async function () {
      requirePaths(this, SHARED_SERIES_DIR);
      series = await loadSharedSeries();
      mask = syntheticMask(series.source.rows!, series.source.columns!);
      report = writeReport({ ...commonFor(series.source), mask, measurements: measurementsFor(mask, series.source.pixelSpacing!) });
    });

    it('stores all CT slices, the SEG and the SR: every sent UID is in 00081199', async () => {
      const ctParts = await Promise.all(series.ordered.map(async (h) => ({ bytes: new Uint8Array(await readFile((h.source as { path: string }).path)) })));
      const ct = await stow(orthanc!.dicomWebRoot, ctParts, series.source.studyInstanceUid);
      assert.equal(ct.status, 200, JSON.stringify(ct.body));
      assert.deepEqual(unconfirmed(ct, series.ordered.map((h) => h.sopInstanceUid)), [], orthanc!.logTail());

      const outputs = await stow(orthanc!.dicomWebRoot, [{ bytes: report.seg!.bytes }, { bytes: report.sr.bytes }]);
      assert.equal(outputs.status, 200, JSON.stringify(outputs.body));
      assert.deepEqual(outputs.failed, []);
      assert.deepEqual(unconfirmed(outputs, [report.seg!.sopInstanceUid, report.sr.sopInstanceUid]), [], orthanc!.logTail());
    });

    it('a re-run STOWs the identical files again without a failure (deterministic UIDs)', async () => {
      const again = await stow(orthanc!.dicomWebRoot, [{ bytes: report.seg!.bytes }, { bytes: report.sr.bytes }]);
      assert.equal(again.status, 200);
      assert.deepEqual(unconfirmed(again, [report.seg!.sopInstanceUid, report.sr.sopInstanceUid]), []);
      const instances = await qido(orthanc!.dicomWebRoot, `studies/${series.source.studyInstanceUid}/instances`);
      assert.equal(instances.length, series.ordered.length + 2);
    });

    it('detects a part Orthanc skipped silently (wrong Content-Type): its UID is not confirmed', async () => {
      const skipped = await stow(orthanc!.dicomWebRoot, [{ bytes: report.sr.bytes, contentType: 'application/octet-stream' }]);
      assert.deepEqual(unconfirmed(skipped, [report.sr.sopInstanceUid]), [report.sr.sopInstanceUid]);
    });

    it('QIDO-RS finds the SEG and the SR series in the CT study', async () => {
      const study = series.source.studyInstanceUid;
      const all = await qido(orthanc!.dicomWebRoot, `studies/${study}/series`);
      const byModality = new Map(all.map((s) => [firstString(s, '00080060'), firstString(s, '0020000E')]));
      assert.equal(byModality.get('CT'), series.source.seriesInstanceUid);
      assert.equal(byModality.get('SEG'), report.seg!.seriesInstanceUid);
      assert.equal(byModality.get('SR'), report.sr.seriesInstanceUid);
      const segSeries = await qido(orthanc!.dicomWebRoot, `studies/${study}/series`, { Modality: 'SEG' });
      assert.deepEqual(segSeries.map((s) => firstString(s, '0020000E')), [report.seg!.seriesInstanceUid]);
      const srInstances = await qido(orthanc!.dicomWebRoot, `studies/${study}/series/${report.sr.seriesInstanceUid}/instances`);
      assert.deepEqual(srInstances.map((i) => firstString(i, '00080018')), [report.sr.sopInstanceUid]);
    });

    it('WADO-RS gives back the SEG, which reads to the same mask on the same slice', async () => {
      const bytes = await wadoInstance(orthanc!.dicomWebRoot, series.source.studyInstanceUid, report.seg!.seriesInstanceUid, report.seg!.sopInstanceUid);
      const readout = await readSegMask(bytes);
      assert.equal(readout.sopInstanceUid, report.seg!.sopInstanceUid);
      assert.deepEqual(maskForSlice(readout, series.source.sopInstanceUid), mask);
    });
  });

  describe('phantom series in four patient positions, with the overlay', function () {
    for (const orientation of PHANTOM_ORIENTATIONS) {
      it(`${orientation}: CT, SEG, SR and overlay stored and found; the SEG reads back to the true mask`, async () => {
        const c = await phantomCase(orientation);
        const report = phantomReport(c);
        const outputs = [report.seg!, report.sr, report.overlay!];
        const stored = await stow(orthanc!.dicomWebRoot, [...c.files.map((bytes) => ({ bytes })), ...outputs.map((o) => ({ bytes: o.bytes }))]);
        assert.equal(stored.status, 200, JSON.stringify(stored.body));
        assert.deepEqual(unconfirmed(stored, [...c.ordered.map((h) => h.sopInstanceUid), ...outputs.map((o) => o.sopInstanceUid)]), [], orthanc!.logTail());

        const study = c.source.studyInstanceUid;
        const all = await qido(orthanc!.dicomWebRoot, `studies/${study}/series`);
        const byModality = Object.fromEntries(all.map((s) => [firstString(s, '00080060'), firstString(s, '0020000E')]));
        assert.deepEqual(byModality, {
          CT: c.source.seriesInstanceUid,
          SEG: report.seg!.seriesInstanceUid,
          SR: report.sr.seriesInstanceUid,
          OT: report.overlay!.seriesInstanceUid,
        });
        const [sc] = await qido(orthanc!.dicomWebRoot, `studies/${study}/series/${report.overlay!.seriesInstanceUid}/instances`);
        assert.equal(firstString(sc, '00080016'), SECONDARY_CAPTURE_SOP_CLASS_UID);
        assert.equal(firstString(sc, '00080018'), report.overlay!.sopInstanceUid);

        const bytes = await wadoInstance(orthanc!.dicomWebRoot, study, report.seg!.seriesInstanceUid, report.seg!.sopInstanceUid);
        assert.deepEqual(maskForSlice(await readSegMask(bytes), c.source.sopInstanceUid), c.mask);
      });
    }
  });
});
