/**
 * Patient data (issue #11): over-long or malformed patient/study attributes in the source never
 * fail the SEG/SR write (copied leniently, cut to the VR's maximum or left out), and no log
 * line above debug carries a value a library quoted from them.
 */
import assert from 'node:assert/strict';
import winston from 'winston';
import { parseDicom } from '../src/dicom/read.ts';
import { CtMuscleError } from '../src/errors.ts';
import { errorLogFields, logger } from '../src/logging.ts';
import { lenientString, lenientValue } from '../src/report/lenient-values.ts';
import { phantomCase, phantomReport } from './support/report-fixtures.ts';

const LONG_NAME = `VERYLONGFAMILYNAME${'X'.repeat(40)}^GIVENNAME${'Y'.repeat(20)}`;

describe('patient data: lenient copy into SEG and SR', function () {
  it('a 70+ character PatientName and malformed study attributes still give a SEG and an SR', async () => {
    const c = await phantomCase('HFS');
    assert.ok(LONG_NAME.length > 64);
    const dataset = {
      ...c.source.dataset,
      PatientName: [{ Alphabetic: LONG_NAME }],
      PatientID: `ID${'9'.repeat(80)}`,
      PatientBirthDate: '19xx0101',
      PatientAge: '45 years',
      PatientSex: 'male',
      StudyDate: 'yesterday',
      StudyTime: '25:99:99',
      AccessionNumber: 'ACC-0123456789-0123456789',
      StudyDescription: 'CT\nABDOMEN\u0007',
      PatientWeight: 'heavy',
    };
    const report = phantomReport({ ...c, source: { ...c.source, dataset } }, false);
    for (const output of [report.seg!, report.sr]) {
      const written = parseDicom(output.bytes).dataset;
      const name = written.PatientName as Array<{ Alphabetic: string }> | string;
      const alphabetic = Array.isArray(name) ? name[0].Alphabetic : name;
      assert.equal(alphabetic, LONG_NAME.slice(0, 64));
      assert.equal(String(written.PatientID).length, 64);
      assert.equal(written.AccessionNumber, 'ACC-0123456789-0', 'SH cut to 16 characters');
      assert.equal(written.StudyDescription, 'CTABDOMEN', 'control characters removed');
      for (const emptied of ['PatientBirthDate', 'PatientSex', 'StudyDate', 'StudyTime']) assert.ok(!written[emptied], `${emptied} written empty`);
      assert.equal(written.PatientAge, undefined);
      assert.equal(written.PatientWeight, undefined);
    }
  });

  it('cuts and checks by VR', () => {
    assert.equal(lenientString('A'.repeat(100), 'LO'), 'A'.repeat(64));
    assert.equal(lenientString('20250101', 'DA'), '20250101');
    assert.equal(lenientString('2025-01-01', 'DA'), undefined);
    assert.equal(lenientString('045Y', 'AS'), '045Y');
    assert.deepEqual(lenientValue(['M', 'bad value'], 'CS'), ['M']);
    assert.equal(lenientValue(1.234567890123456, 'DS'), undefined, 'a number too long for DS is left out');
    assert.equal(lenientValue(72.5, 'DS'), 72.5);
    assert.deepEqual(lenientValue('DOE^JANE=ドウ^ジェーン', 'PN'), 'DOE^JANE=ドウ^ジェーン');
  });
});

describe('patient data: logs above debug carry no library message', function () {

  it('a foreign error (dcmjs quoting a PatientName) logs its class above debug, the message only at debug', () => {
    const captured: Array<{ level: string; message: unknown }> = [];
    const capture = new winston.transports.Console({ level: 'debug' });
    capture.log = (info: { level: string; message: unknown }, next: () => void) => {
      captured.push(info);
      next();
    };
    const previous = logger.level;
    logger.add(capture);
    logger.level = 'debug';
    try {
      const leaking = new Error(`Value exceeds max length, vr: PN, value: ${LONG_NAME}, length: 92`);
      const fields = errorLogFields(leaking);
      logger.warn('job failed', fields);
      assert.equal(fields.code, 'E_INTERNAL');
      assert.doesNotMatch(fields.message, /VERYLONG/);
      const aboveDebug = captured.filter((l) => l.level !== 'debug');
      assert.equal(aboveDebug.length, 1);
      assert.doesNotMatch(JSON.stringify(aboveDebug), /VERYLONG/);
      assert.match(JSON.stringify(captured.filter((l) => l.level === 'debug')), /VERYLONG/, 'the detail is still there at debug');
      const typed = errorLogFields(new CtMuscleError('E_IO', 'Cannot write the results under /x: ENOSPC'));
      assert.equal(typed.message, 'Cannot write the results under /x: ENOSPC', 'typed messages are kept');
    } finally {
      logger.remove(capture);
      logger.level = previous;
    }
  });
});
