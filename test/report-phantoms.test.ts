/**
 * SEG, SR and overlay for phantom series in every patient position (HFS, FFS, HFP, FFP): the
 * phantom's true T12 muscle mask on the stored grid, valid for dciodvfy, read back unchanged,
 * with the CT's own orientation and position copied. ~1 s in all.
 */
import assert from 'node:assert/strict';
import { maskForSlice, readSegMask } from '../src/report/read-seg.ts';
import type { ReportOutput } from '../src/report/report.ts';
import { requireCommands } from './support/env.ts';
import { PHANTOM_ORIENTATIONS, dciodvfy, naturalize, phantomCase, phantomReport, type PhantomCase } from './support/report-fixtures.ts';

/** Row and column directions of each position's stored grid (PatientOrientation of the overlay). */
const EXPECTED_ORIENTATION: Record<string, [string, string]> = {
  HFS: ['L', 'P'],
  FFS: ['R', 'P'],
  HFP: ['R', 'A'],
  FFP: ['L', 'A'],
};

describe('report: phantom series in four patient positions', function () {
  for (const orientation of PHANTOM_ORIENTATIONS) {
    describe(orientation, () => {
      let c: PhantomCase;
      let report: ReportOutput;

      before(async () => {
        c = await phantomCase(orientation);
        report = phantomReport(c);
      });

      it('SEG, SR and overlay pass dciodvfy with no error', function () {
        requireCommands(this, 'dciodvfy');
        const seg = dciodvfy(report.seg!.bytes);
        assert.deepEqual(seg.errors, [], seg.output);
        assert.deepEqual(seg.warnings, [], seg.output);
        const sr = dciodvfy(report.sr.bytes);
        assert.deepEqual(sr.errors, [], sr.output);
        assert.ok(sr.warnings.every((w) => w.includes('<99CTMN>')), sr.output);
        const overlay = dciodvfy(report.overlay!.bytes);
        assert.deepEqual(overlay.errors, [], overlay.output);
        assert.deepEqual(overlay.warnings, [], overlay.output);
      });

      it('the SEG copies the slice geometry and reads back to the true mask', async () => {
        const ds = naturalize(report.seg!.bytes);
        const shared = (ds.SharedFunctionalGroupsSequence as Array<Record<string, Array<Record<string, unknown>>>>)[0];
        assert.deepEqual(shared.PlaneOrientationSequence[0].ImageOrientationPatient, c.source.imageOrientationPatient);
        const readout = await readSegMask(report.seg!.bytes);
        assert.deepEqual(readout.frames[0].imagePositionPatient, c.source.imagePositionPatient);
        assert.deepEqual(maskForSlice(readout, c.source.sopInstanceUid), c.mask);
      });

      it('the overlay is tinted exactly on the mask and labels the sides of the stored grid', () => {
        const ds = naturalize(report.overlay!.bytes);
        assert.deepEqual(ds.PatientOrientation, EXPECTED_ORIENTATION[orientation]);
        const rgb = new Uint8Array((ds.PixelData as ArrayBuffer[])[0]);
        const top = 30; // below the caption
        for (let i = top * 256; i < c.mask.length; i++) {
          const tinted = rgb[i * 3] !== rgb[i * 3 + 1] || rgb[i * 3] !== rgb[i * 3 + 2];
          assert.equal(tinted, c.mask[i] === 1, `pixel ${i}`);
        }
        assert.equal(report.result.outputs.overlay!.sopInstanceUid, report.overlay!.sopInstanceUid);
        assert.equal(report.overlay!.caption, `T12  AREA ${c.measurements.areaCm2.toFixed(2)} CM2  MEAN ${c.measurements.meanHu.toFixed(1)} HU`);
      });
    });
  }

  it('each position is its own study and the outputs never share UIDs', async () => {
    const reports = await Promise.all(PHANTOM_ORIENTATIONS.map(async (o) => phantomReport(await phantomCase(o))));
    const studies = new Set(reports.map((r) => r.sr.studyInstanceUid));
    assert.equal(studies.size, PHANTOM_ORIENTATIONS.length);
    const uids = reports.flatMap((r) => [r.seg!.sopInstanceUid, r.seg!.seriesInstanceUid, r.sr.sopInstanceUid, r.sr.seriesInstanceUid, r.overlay!.sopInstanceUid, r.overlay!.seriesInstanceUid]);
    assert.equal(new Set(uids).size, uids.length);
    assert.ok(reports.every((r) => r.seg!.seriesNumber === reports[0].seg!.seriesNumber), 'series numbers depend on the model only');
  });
});
