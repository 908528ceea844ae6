/** TID 1500 SR writer: validity, the tree dsrdump prints, numbers read back, no NaN, not-measurable. */
import assert from 'node:assert/strict';
import { CtMuscleError } from '../src/errors.ts';
import { writeSeg } from '../src/report/seg.ts';
import { COMPREHENSIVE_3D_SR_SOP_CLASS_UID, writeNotMeasuredSr, writeSr } from '../src/report/sr.ts';
import type { MuscleMeasurements } from '../src/model/index.ts';
import type { SegOutput, SrInput, SrOutput } from '../src/report/types.ts';
import { requireCommands, requirePaths } from './support/env.ts';
import {
  SHARED_SERIES_DIR,
  commonFor,
  dciodvfy,
  dsrdump,
  levelFor,
  loadSharedSeries,
  measurementsFor,
  naturalize,
  syntheticMask,
  type SharedSeries,
} from './support/report-fixtures.ts';

type Item = Record<string, unknown>;
const seq = (value: unknown): Item[] => (value === undefined ? [] : Array.isArray(value) ? (value as Item[]) : [value as Item]);
const concept = (item: Item) => seq(item.ConceptNameCodeSequence)[0] ?? {};
const conceptValue = (item: Item) => seq(item.ConceptCodeSequence)[0] ?? {};

/** Depth-first list of every content item under the root. */
function allItems(root: Item): Item[] {
  const out: Item[] = [];
  const walk = (item: Item) => {
    for (const child of seq(item.ContentSequence)) {
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

function numValues(ds: Item, codeValue: string): Array<{ value: number; unit: string; derivation?: string }> {
  return allItems(ds)
    .filter((i) => i.ValueType === 'NUM' && concept(i).CodeValue === codeValue)
    .map((i) => {
      const measured = seq(i.MeasuredValueSequence)[0];
      const derivation = seq(i.ContentSequence).find((c) => concept(c).CodeValue === '121401');
      return {
        value: Number(measured.NumericValue),
        unit: String(seq(measured.MeasurementUnitsCodeSequence)[0].CodeValue),
        derivation: derivation ? String(conceptValue(derivation).CodeValue) : undefined,
      };
    });
}

function assertTypedError(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => error instanceof CtMuscleError && error.code === code);
}

describe('report: TID 1500 SR from a real CT slice', function () {
  let series: SharedSeries;
  let measurements: MuscleMeasurements;
  let seg: SegOutput;
  let sr: SrOutput;
  let srInput: SrInput;
  let mask: Uint8Array;

  before(async function () {
    requirePaths(this, SHARED_SERIES_DIR);
    series = await loadSharedSeries();
    mask = syntheticMask(series.source.rows!, series.source.columns!);
    measurements = measurementsFor(mask, series.source.pixelSpacing!);
    seg = writeSeg({ ...commonFor(series.source), mask });
    srInput = { ...commonFor(series.source), measurements, seg: seg.ref };
    sr = writeSr(srInput);
  });

  it('passes dciodvfy with no error; its only warnings name the private coding scheme 99CTMN', function () {
    requireCommands(this, 'dciodvfy');
    const report = dciodvfy(sr.bytes);
    assert.deepEqual(report.errors, [], report.output);
    assert.equal(report.status, 0, report.output);
    for (const warning of report.warnings) assert.match(warning, /Unrecognized defined term <99CTMN>/, report.output);
  });

  it('dsrdump prints the TID 1500 tree with our concept names and values', function () {
    requireCommands(this, 'dsrdump');
    const tree = dsrdump(sr.bytes);
    const expected = [
      'Comprehensive 3D SR Document',
      'Completion Flag     : PARTIAL',
      'Verification Flag   : UNVERIFIED',
      '<CONTAINER:(126000,DCM,"Imaging Measurement Report")=SEPARATE>',
      '<has concept mod CODE:(121049,DCM,"Language of Content Item and Descendants")=(eng,RFC5646,"English")>',
      '<has concept mod CODE:(121046,DCM,"Country of Language")=(US,ISO3166_1,"United States")>',
      '<has obs context CODE:(121005,DCM,"Observer Type")=(121007,DCM,"Device")>',
      '<has obs context TEXT:(121015,DCM,"Device Observer Model Name")="muscle-sam2 1.2.0">',
      '<has concept mod CODE:(121058,DCM,"Procedure reported")=(25045-6,LN,"CT unspecified body region")>',
      '<contains CONTAINER:(111028,DCM,"Image Library")=SEPARATE>',
      `<contains IMAGE:=(CT image,"${series.source.sopInstanceUid}")>`,
      '<contains CONTAINER:(126010,DCM,"Imaging Measurements")=SEPARATE>',
      '<contains CONTAINER:(125007,DCM,"Measurement Group")=SEPARATE>',
      '<has obs context TEXT:(112039,DCM,"Tracking Identifier")="Skeletal muscle at T12">',
      `<has obs context UIDREF:(112040,DCM,"Tracking Unique Identifier")="${sr.trackingUid}">`,
      '<contains CODE:(121071,DCM,"Finding")=(127954009,SCT,"Skeletal muscle")>',
      '<has concept mod CODE:(363698007,SCT,"Finding Site")=(23215003,SCT,"T12 vertebra")>',
      `<contains IMAGE:(121191,DCM,"Referenced Segment")=(SG image,"${seg.sopInstanceUid}",1)>`,
      `<contains UIDREF:(121232,DCM,"Source series for segmentation")="${series.source.seriesInstanceUid}">`,
      `<contains NUM:(131184002,SCT,"Area of defined region")="${Math.round(measurements.areaCm2 * 100) / 100}" (cm2,UCUM,"square centimeter")>`,
      '<contains NUM:(112031,DCM,"Attenuation Coefficient")="38.3" ([hnsf\'U],UCUM,"Hounsfield unit")>',
      '<has concept mod CODE:(121401,DCM,"Derivation")=(373098007,SCT,"Mean")>',
      '<contains NUM:(112031,DCM,"Attenuation Coefficient")="17" ([hnsf\'U],UCUM,"Hounsfield unit")>',
      '<has concept mod CODE:(121401,DCM,"Derivation")=(386136009,SCT,"Standard Deviation")>',
      '<contains NUM:(IMAT-AREA,99CTMN,"Intermuscular adipose tissue area")="4.88" (cm2,UCUM,"square centimeter")>',
      '<contains NUM:(LAM-FRACTION,99CTMN,"Low-attenuation muscle fraction")="12.3" (%,UCUM,"percent")>',
      '<contains NUM:(SMI,99CTMN,"Skeletal muscle index")="41.24" (cm2/m2,UCUM,"square centimeter per square meter")>',
      '<contains TEXT:(SLICE-METHOD,99CTMN,"Slice selection method")="test-level-finder 0.1">',
      '<contains TEXT:(SLICE-RULE,99CTMN,"Slice selection rule")="mid-vertebral-body">',
      '<contains NUM:(SLICE-CONFIDENCE,99CTMN,"Slice selection confidence")="0.87" (1,UCUM,"no units")>',
      '<has concept mod TEXT:(111002,DCM,"Algorithm Parameters")="muscle HU window -29..150">',
      '<contains TEXT:(FLAG,99CTMN,"Processing flag")="iv-contrast">',
    ];
    for (const line of expected) assert.ok(tree.includes(line), `dsrdump lacks ${line}\n${tree}`);
  });

  it('root: TID 1500 container, flags, patient/study of the source, evidence = CT + SEG', () => {
    const ds = naturalize(sr.bytes);
    assert.equal(ds.SOPClassUID, COMPREHENSIVE_3D_SR_SOP_CLASS_UID);
    assert.equal((ds._meta as Item).TransferSyntaxUID, '1.2.840.10008.1.2.1');
    assert.equal(ds.Modality, 'SR');
    assert.equal(ds.CompletionFlag, 'PARTIAL');
    assert.equal(ds.VerificationFlag, 'UNVERIFIED');
    assert.equal(concept(ds).CodeValue, '126000');
    assert.equal(seq(ds.ContentTemplateSequence)[0].TemplateIdentifier, '1500');
    assert.equal(ds.StudyInstanceUID, series.source.studyInstanceUid);
    assert.deepEqual(ds.PatientID, series.source.dataset.PatientID);
    assert.deepEqual(ds.PatientName, series.source.dataset.PatientName);
    const [evidence] = seq(ds.CurrentRequestedProcedureEvidenceSequence);
    assert.equal(evidence.StudyInstanceUID, series.source.studyInstanceUid);
    const referenced = seq(evidence.ReferencedSeriesSequence).flatMap((s) => seq(s.ReferencedSOPSequence).map((r) => r.ReferencedSOPInstanceUID));
    assert.deepEqual(referenced, [series.source.sopInstanceUid, seg.sopInstanceUid]);
  });

  it('reads back the numbers (rounded to the reported precision) in UCUM units', () => {
    const ds = naturalize(sr.bytes);
    assert.deepEqual(numValues(ds, '131184002'), [{ value: Math.round(measurements.areaCm2 * 100) / 100, unit: 'cm2', derivation: undefined }]);
    assert.deepEqual(numValues(ds, '112031'), [
      { value: 38.3, unit: "[hnsf'U]", derivation: '373098007' },
      { value: 17, unit: "[hnsf'U]", derivation: '386136009' },
    ]);
    assert.deepEqual(numValues(ds, 'IMAT-AREA'), [{ value: 4.88, unit: 'cm2', derivation: undefined }]);
    assert.deepEqual(numValues(ds, 'LAM-FRACTION'), [{ value: 12.3, unit: '%', derivation: undefined }]);
    assert.deepEqual(numValues(ds, 'SMI'), [{ value: 41.24, unit: 'cm2/m2', derivation: undefined }]);
    assert.deepEqual(numValues(ds, '110903'), [{ value: series.source.imagePositionPatient![2], unit: 'mm', derivation: undefined }]);
  });

  it('references the SEG segment by SOP Instance UID and segment number', () => {
    const ds = naturalize(sr.bytes);
    const segRef = allItems(ds).find((i) => concept(i).CodeValue === '121191')!;
    const [sop] = seq(segRef.ReferencedSOPSequence);
    assert.equal(sop.ReferencedSOPClassUID, '1.2.840.10008.5.1.4.1.1.66.4');
    assert.equal(sop.ReferencedSOPInstanceUID, seg.sopInstanceUid);
    assert.equal(sop.ReferencedSegmentNumber, 1);
  });

  it('each measurement is inferred from a point inside the mask on the measured slice (what OHIF draws)', () => {
    const ds = naturalize(sr.bytes);
    const nums = allItems(ds).filter((i) => i.ValueType === 'NUM' && !['SLICE-CONFIDENCE', '110903'].includes(String(concept(i).CodeValue)));
    assert.equal(nums.length, 6);
    for (const item of nums) {
      const point = seq(item.ContentSequence).find((c) => c.ValueType === 'SCOORD')!;
      assert.equal(point.RelationshipType, 'INFERRED FROM');
      assert.equal(point.GraphicType, 'POINT');
      const [x, y] = (point.GraphicData as number[]).map(Number);
      assert.equal(mask[Math.floor(y) * series.source.columns! + Math.floor(x)], 1, `point ${x},${y} is outside the mask`);
      const [selected] = seq(point.ContentSequence);
      assert.equal(selected.RelationshipType, 'SELECTED FROM');
      assert.equal(seq(selected.ReferencedSOPSequence)[0].ReferencedSOPInstanceUID, series.source.sopInstanceUid);
    }
  });

  it('never writes NaN or Infinity: such items are left out', function () {
    const odd = writeSr({ ...srInput, measurements: { ...measurements, sdHu: NaN, smiCm2PerM2: Infinity, imatAreaCm2: null, lowAttenuationFraction: NaN } });
    const ds = naturalize(odd.bytes);
    assert.equal(numValues(ds, '112031').length, 1);
    assert.deepEqual(numValues(ds, 'SMI'), []);
    assert.deepEqual(numValues(ds, 'IMAT-AREA'), []);
    assert.deepEqual(numValues(ds, 'LAM-FRACTION'), []);
    const text = Buffer.from(odd.bytes).toString('latin1');
    assert.ok(!/NaN|Infinity/.test(text));
    requireCommands(this, 'dciodvfy');
    assert.deepEqual(dciodvfy(odd.bytes).errors, []);
  });

  it('names the vertebra of each level with its CID 7603 code, and none for a given slice', () => {
    const expected: Record<string, string> = { T12: '23215003', L1: '66794005', L2: '14293000', L3: '36470004' };
    for (const [name, code] of Object.entries(expected)) {
      const level = { ...levelFor(series.source), name: name as 'T12' };
      const ds = naturalize(writeSr({ ...srInput, level }).bytes);
      const site = allItems(ds).find((i) => concept(i).CodeValue === '363698007')!;
      assert.equal(conceptValue(site).CodeValue, code, name);
    }
    const given = writeSr({ ...srInput, level: { name: 'as-provided', sopInstanceUid: series.source.sopInstanceUid, warnings: [] } });
    const ds = naturalize(given.bytes);
    assert.equal(allItems(ds).filter((i) => concept(i).CodeValue === '363698007').length, 0);
    const method = allItems(ds).find((i) => concept(i).CodeValue === 'SLICE-METHOD')!;
    assert.equal(method.TextValue, 'as-provided');
  });

  it('not measurable: a reason, no numbers, no SEG reference, still valid', function () {
    const out = writeSr({ ...commonFor(series.source), measurements: null, seg: null, notMeasurableReason: 'no muscle found' });
    const ds = naturalize(out.bytes);
    const items = allItems(ds);
    assert.equal(items.filter((i) => i.ValueType === 'NUM' && concept(i).CodeValue !== 'SLICE-CONFIDENCE' && concept(i).CodeValue !== '110903').length, 0);
    assert.equal(items.filter((i) => concept(i).CodeValue === '121191').length, 0);
    assert.equal(items.find((i) => concept(i).CodeValue === 'NOT-MEASURABLE')!.TextValue, 'no muscle found');
    const [evidence] = seq(ds.CurrentRequestedProcedureEvidenceSequence);
    assert.equal(seq(evidence.ReferencedSeriesSequence).length, 1);
    requireCommands(this, 'dciodvfy');
    assert.deepEqual(dciodvfy(out.bytes).errors, []);
  });

  it('a study not measured at all (level not in view): an SR with the reason and code, deterministic UIDs, valid for dciodvfy, recognisable as the node\'s', function () {
    const input = { source: series.source, target: 'T12' as const, code: 'E_LEVEL_NOT_IN_VIEW', reason: 'T12 not in the field of view. The series ends at L1.', software: { id: 'ct-muscle-node', version: '9.9.9' } };
    const created = new Date('2026-01-02T03:04:05Z');
    const out = writeNotMeasuredSr({ ...input, options: { created } });
    const again = writeNotMeasuredSr({ ...input, options: { created: new Date('2026-02-02T00:00:00Z') } });
    assert.deepEqual([again.sopInstanceUid, again.seriesInstanceUid], [out.sopInstanceUid, out.seriesInstanceUid], 'a re-run writes the same instance');
    const other = writeNotMeasuredSr({ ...input, code: 'E_LEVEL_AMBIGUOUS', reason: 'ambiguous', options: { created } });
    assert.notEqual(other.sopInstanceUid, out.sopInstanceUid, 'another reason is another instance');
    const ds = naturalize(out.bytes);
    assert.equal(ds.Manufacturer, 'ct-muscle-node');
    assert.equal(ds.StudyInstanceUID, series.source.studyInstanceUid);
    const items = allItems(ds);
    assert.equal(items.filter((i) => i.ValueType === 'NUM').length, 0);
    assert.equal(items.find((i) => concept(i).CodeValue === 'NOT-MEASURABLE')!.TextValue, input.reason);
    assert.ok(items.some((i) => i.TextValue === 'E_LEVEL_NOT_IN_VIEW'));
    assert.equal(conceptValue(items.find((i) => concept(i).CodeValue === '363698007')!).CodeValue, '23215003', 'finding site T12');
    requireCommands(this, 'dciodvfy', 'dsrdump');
    const report = dciodvfy(out.bytes);
    assert.deepEqual(report.errors, [], report.output);
    assert.ok(dsrdump(out.bytes).includes('(NOT-MEASURABLE,99CTMN,"Not measurable")="T12 not in the field of vie'), 'dsrdump shows the reason (it shortens long text)');
    assertTypedError(() => writeNotMeasuredSr({ ...input, reason: ' ' }), 'E_REPORT_INVALID');
  });

  describe('amended by a review (verified, predecessor)', () => {
    const verifiedAt = new Date('2026-03-04T05:06:07.089Z');
    const predecessor = () => ({ studyInstanceUid: series.source.studyInstanceUid, seriesInstanceUid: sr.seriesInstanceUid, sopClassUid: COMPREHENSIVE_3D_SR_SOP_CLASS_UID, sopInstanceUid: sr.sopInstanceUid });

    it('VERIFIED with the verifying observer, COMPLETE, the predecessor named, new UIDs, valid for dciodvfy', function () {
      const out = writeSr({
        ...srInput,
        verification: { observerName: 'Doe^Jane', organization: 'Muscle Lab', dateTime: verifiedAt },
        predecessor: predecessor(),
        options: { ...srInput.options, revision: 'accept:1' },
      });
      const ds = naturalize(out.bytes);
      assert.equal(ds.VerificationFlag, 'VERIFIED');
      assert.equal(ds.CompletionFlag, 'COMPLETE');
      const [observer] = seq(ds.VerifyingObserverSequence);
      assert.match(JSON.stringify(observer.VerifyingObserverName), /Doe\^Jane/);
      assert.equal(observer.VerifyingOrganization, 'Muscle Lab');
      // DT is padded to even length with a space (PS3.5 6.2), which is not part of the value.
      assert.equal(String(observer.VerificationDateTime).trimEnd(), '20260304050607.089+0000');
      const [previous] = seq(ds.PredecessorDocumentsSequence);
      assert.equal(previous.StudyInstanceUID, series.source.studyInstanceUid);
      assert.equal(seq(seq(previous.ReferencedSeriesSequence)[0].ReferencedSOPSequence)[0].ReferencedSOPInstanceUID, sr.sopInstanceUid);
      assert.notEqual(out.sopInstanceUid, sr.sopInstanceUid);
      assert.notEqual(out.seriesInstanceUid, sr.seriesInstanceUid);
      requireCommands(this, 'dciodvfy');
      const report = dciodvfy(out.bytes);
      assert.deepEqual(report.errors, [], report.output);
    });

    it('refuses a verification without a name, of a not-measurable report, or an amendment without a revision', () => {
      assertTypedError(() => writeSr({ ...srInput, verification: { observerName: ' ', organization: 'Muscle Lab', dateTime: verifiedAt } }), 'E_REPORT_INVALID');
      assertTypedError(() => writeSr({ ...srInput, verification: { observerName: 'Doe^Jane', organization: 'Muscle Lab', dateTime: new Date(NaN) } }), 'E_REPORT_INVALID');
      assertTypedError(
        () => writeSr({ ...srInput, measurements: null, seg: null, notMeasurableReason: 'x', verification: { observerName: 'Doe^Jane', organization: 'Muscle Lab', dateTime: verifiedAt } }),
        'E_REPORT_INVALID',
      );
      assertTypedError(() => writeSr({ ...srInput, predecessor: predecessor() }), 'E_REPORT_INVALID');
    });
  });

  it('rejects impossible input with E_REPORT_INVALID', () => {
    assertTypedError(() => writeSr({ ...srInput, measurements: { ...measurements, lowAttenuationFraction: 12.3 } }), 'E_REPORT_INVALID');
    assertTypedError(() => writeSr({ ...srInput, measurements: { ...measurements, areaCm2: -1 } }), 'E_REPORT_INVALID');
    assertTypedError(() => writeSr({ ...srInput, seg: null }), 'E_REPORT_INVALID');
    assertTypedError(() => writeSr({ ...srInput, measurements: null, seg: null }), 'E_REPORT_INVALID');
    assertTypedError(() => writeSr({ ...srInput, segmenter: { id: '', version: '1' } }), 'E_REPORT_INVALID');
    assertTypedError(() => writeSr({ ...srInput, huWindow: { lowerHu: 150, upperHu: -29 } }), 'E_REPORT_INVALID');
  });
});
