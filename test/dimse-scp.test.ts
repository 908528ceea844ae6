/**
 * The node's Storage SCP against real peers: dcmtk's echoscu and storescu, and a dcmjs-dimse
 * client for what storescu cannot do (abort mid-study, corrupt or mismatching data sets). Level
 * and segmentation answer from the phantom's truth here; the real-series test runs the real stages.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';
import { parseDicom } from '../src/dicom/read.ts';
import { TS } from '../src/dicom/transfer-syntax.ts';
import { ANALYZE_STUDY, startNode, type AnalyzeStudyResult, type RunningNode } from '../src/server.ts';
import { generatePhantomStudy, type PhantomOptions } from '../src/phantom/index.ts';
import { DIMSE_STATUS } from '../src/dimse/statuses.ts';
import { captureLogs, echoscu, requireDcmtk, sendWithClient, storescu, writeFiles } from './support/dimse.ts';
import { dataPath, makeTempDir } from './support/env.ts';
import { truthStages } from './support/truth-stages.ts';

const AE = 'CTMN_TEST';
const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';

function dimseConfig(dir: string, dimse: Partial<Config['dimse']> = {}): Config {
  const base = loadConfig({ env: {} });
  return {
    ...base,
    logLevel: 'warn',
    spoolDir: join(dir, 'spool'),
    output: { ...base.output, dir: join(dir, 'out'), overlay: false },
    server: { ...base.server, port: 0 },
    queue: { ...base.queue, path: join(dir, 'jobs.sqlite'), baseDelayMs: 50, maxDelayMs: 200, maxAttempts: 3 },
    assembly: { quietPeriodSeconds: 0.3 },
    dimse: { ...base.dimse, enabled: true, aeTitle: AE, port: 0, ...dimse },
  };
}

async function phantomFiles(dir: string, seed: number, options: PhantomOptions = {}) {
  const study = await generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed, ...options });
  const paths = writeFiles(join(dir, `phantom-${seed}`), study.files);
  return { study, paths };
}

/**
 * Wait until the study has no analysis waiting or running: on a loaded machine a job may fall due
 * between two instances and be rescheduled, and idle() does not wait for a job not yet due.
 */
async function settle(node: RunningNode, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    await node.idle();
    const waiting = (await node.queue.list()).some((job) => job.kind === ANALYZE_STUDY && (job.state === 'pending' || job.state === 'running'));
    if (!waiting) return;
    if (Date.now() > deadline) throw new Error('the analysis did not finish');
  }
}

/** The study's finished analyses, oldest first, without the ones that only rescheduled (deferred). */
async function analyses(node: RunningNode, studyUid: string): Promise<AnalyzeStudyResult[]> {
  return (await node.queue.list('done'))
    .filter((job) => job.kind === ANALYZE_STUDY && job.key === studyUid)
    .sort((a, b) => Number(a.id) - Number(b.id))
    .map((job) => job.result as AnalyzeStudyResult)
    .filter((result) => result.outcome !== 'deferred');
}

function spooled(dir: string, studyUid: string): string[] {
  const studyDir = join(dir, 'spool', studyUid);
  return existsSync(studyDir) ? readdirSync(studyDir).filter((name) => name.endsWith('.dcm')) : [];
}

/** The data set of a Part 10 file: what follows the meta group. */
function dataSetBytes(bytes: Uint8Array): Buffer {
  const buffer = Buffer.from(bytes);
  const groupLength = buffer.readUInt32LE(140);
  return buffer.subarray(144 + groupLength);
}

describe('DIMSE storage SCP (dcmtk and dcmjs-dimse peers)', function () {
  this.timeout(240_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  before(function () {
    requireDcmtk(this);
  });
  beforeEach(() => (tmp = makeTempDir('ctmn-dimse-')));
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    tmp.remove();
  });

  it('answers C-ECHO, and rejects an unknown calling AE or a wrong called AE at association', async () => {
    node = await startNode(dimseConfig(tmp.path, { callingAes: [{ aeTitle: 'MODALITY' }] }));
    const port = node.dimse!.port;
    assert.equal((await echoscu(port, 'MODALITY', AE)).code, 0);
    const stranger = await echoscu(port, 'STRANGER', AE);
    assert.notEqual(stranger.code, 0);
    assert.match(stranger.output, /Calling AE Title Not Recognized/i);
    const wrongCalled = await echoscu(port, 'MODALITY', 'SOMEONE_ELSE');
    assert.notEqual(wrongCalled.code, 0);
    assert.match(wrongCalled.output, /Called AE Title Not Recognized/i);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    assert.match(metrics, /ctmn_dimse_associations_total\{outcome="accepted"\} 1/);
    assert.match(metrics, /ctmn_dimse_associations_total\{outcome="rejected-calling-ae-not-recognized"\} 1/);
    const health = (await (await fetch(`${node.url}/healthz`)).json()) as { dimse?: { listening: boolean } };
    assert.equal(health.dimse?.listening, true);
  });

  it('stores a phantom study sent by storescu (JPEG-LS proposed) as received, measures it, writes SEG and SR, and logs one line per association', async () => {
    const { study, paths } = await phantomFiles(tmp.path, 31, { transferSyntaxUid: TS.jpegLsLossless });
    const logs = captureLogs();
    try {
      node = await startNode(dimseConfig(tmp.path), { stages: truthStages(study.truth) });
      const sent = await storescu(node.dimse!.port, 'MODALITY', AE, [join(tmp.path, 'phantom-31')], ['-xt']);
      assert.equal(sent.code, 0, sent.output);
      await settle(node);
    } finally {
      logs.stop();
    }
    const uid = study.truth.studyInstanceUid;
    assert.equal(spooled(tmp.path, uid).length, paths.length);
    for (const path of paths.slice(0, 3)) {
      const original = readFileSync(path);
      const sopUid = parseDicom(original, { headerOnly: true }).dataset.SOPInstanceUID as string;
      const stored = readFileSync(join(tmp.path, 'spool', uid, `${sopUid}.dcm`));
      assert.equal(parseDicom(stored, { headerOnly: true }).transferSyntaxUid, TS.jpegLsLossless);
      assert.ok(dataSetBytes(stored).equals(dataSetBytes(original)), 'the data set is stored byte for byte as sent');
    }
    const result = (await analyses(node!, uid)).at(-1)!;
    assert.equal(result.outcome, 'measured');
    assert.equal(result.selectedInstanceCount, paths.length);
    assert.ok(existsSync(join(tmp.path, 'out', uid)));
    assert.ok(result.outputs?.seg && existsSync(result.outputs.seg.path), 'SEG written');
    assert.ok(result.outputs?.sr && existsSync(result.outputs.sr.path), 'SR written');
    const lines = logs.records.filter((r) => r.message === 'DICOM association');
    assert.equal(lines.length, 1);
    assert.equal(lines[0].callingAeTitle, 'MODALITY');
    assert.equal(lines[0].stored, paths.length);
    assert.equal(lines[0].end, 'released');
    assert.ok(!JSON.stringify(lines[0]).includes(String(study.truth.studyInstanceUid)), 'no study UID (or patient data) in the association line');
  });

  it('answers C000 to a corrupt data set and A900 to a data set that does not match the SOP class, and the association goes on', async () => {
    const { study, paths } = await phantomFiles(tmp.path, 32);
    node = await startNode(dimseConfig(tmp.path), { stages: truthStages(study.truth) });
    const result = await sendWithClient(node.dimse!.port, 'MODALITY', AE, [
      { path: paths[0] },
      { path: paths[1], corruptWith: Buffer.alloc(256, 0xff) },
      { path: paths[2], affectedSopClassUid: MR_IMAGE_STORAGE },
      { path: paths[3] },
    ]);
    assert.deepEqual(result.statuses, [DIMSE_STATUS.success, DIMSE_STATUS.cannotUnderstand, DIMSE_STATUS.dataSetDoesNotMatchSopClass, DIMSE_STATUS.success]);
    assert.equal(spooled(tmp.path, study.truth.studyInstanceUid).length, 2, 'only the two good instances are in the spool');
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    assert.match(metrics, /ctmn_dimse_instances_total\{status="success"\} 2/);
    assert.match(metrics, /ctmn_dimse_instances_total\{status="cannot-understand"\} 1/);
    assert.match(metrics, /ctmn_dimse_instances_total\{status="does-not-match"\} 1/);
  });

  it('runs the hostile-input checks on C-STORE too: a data set cut inside its pixel data gets C000 (E_INCOMPLETE_PIXEL_DATA)', async () => {
    const { study, paths } = await phantomFiles(tmp.path, 35, { transferSyntaxUid: TS.implicitVrLittleEndian });
    const logs = captureLogs();
    try {
      node = await startNode(dimseConfig(tmp.path), { stages: truthStages(study.truth) });
      const whole = dataSetBytes(readFileSync(paths[1]));
      const result = await sendWithClient(node.dimse!.port, 'MODALITY', AE, [{ path: paths[0] }, { path: paths[1], corruptWith: whole.subarray(0, whole.length - 4000) }, { path: paths[2] }]);
      assert.deepEqual(result.statuses, [DIMSE_STATUS.success, DIMSE_STATUS.cannotUnderstand, DIMSE_STATUS.success]);
    } finally {
      logs.stop();
    }
    const refusal = logs.records.find((r) => r.message === 'C-STORE refused');
    assert.equal(refusal?.code, 'E_INCOMPLETE_PIXEL_DATA');
    assert.equal(spooled(tmp.path, study.truth.studyInstanceUid).length, 2);
  });

  it('keeps what arrived before an association was aborted, and completes the study when the rest arrives', async () => {
    const { study, paths } = await phantomFiles(tmp.path, 33);
    node = await startNode(dimseConfig(tmp.path), { stages: truthStages(study.truth) });
    const uid = study.truth.studyInstanceUid;
    const aborted = await sendWithClient(node.dimse!.port, 'MODALITY', AE, paths.map((path) => ({ path })), 5);
    const acknowledged = aborted.statuses.filter((s) => s === DIMSE_STATUS.success).length;
    assert.ok(acknowledged >= 5 && acknowledged < paths.length, `aborted after ${acknowledged} of ${paths.length}`);
    assert.ok(spooled(tmp.path, uid).length >= acknowledged, 'every acknowledged instance is kept');
    const rest = await storescu(node.dimse!.port, 'MODALITY', AE, [join(tmp.path, 'phantom-33')]);
    assert.equal(rest.code, 0, rest.output);
    await settle(node);
    const results = await analyses(node, uid);
    const last = results[results.length - 1];
    assert.equal(last.outcome === 'measured' || last.outcome === 'unchanged', true);
    assert.equal(results.find((r) => r.outcome === 'measured' && r.selectedInstanceCount === paths.length) !== undefined, true, 'measured on the complete study');
  });

  it('answers A700 (out of resources), not success, while the spool is below its free-space threshold', async () => {
    const { study, paths } = await phantomFiles(tmp.path, 34);
    node = await startNode(dimseConfig(tmp.path, { minFreeSpaceMb: 1e12 }), { stages: truthStages(study.truth) });
    const result = await sendWithClient(node.dimse!.port, 'MODALITY', AE, paths.slice(0, 3).map((path) => ({ path })));
    assert.deepEqual(result.statuses, [DIMSE_STATUS.outOfResources, DIMSE_STATUS.outOfResources, DIMSE_STATUS.outOfResources]);
    assert.equal(spooled(tmp.path, study.truth.studyInstanceUid).length, 0);
    const viaStorescu = await storescu(node.dimse!.port, 'MODALITY', AE, [paths[0]]);
    assert.match(viaStorescu.output, /Refused: OutOfResources/);
  });
});

describe('DIMSE storage SCP with the shared real series (real stages)', function () {
  this.timeout(600_000);
  const root = dataPath('totalsegmentator_example_ct_dicom_T11-T12');
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  before(function () {
    requireDcmtk(this);
    if (!existsSync(join(root, 'uid_repaired_uncompressed')) || !existsSync(join(root, 'uid_repaired_j2k'))) {
      console.log(`      skipped: ${root} is missing (set CT_MUSCLE_DATA)`);
      this.skip();
    }
  });
  beforeEach(() => (tmp = makeTempDir('ctmn-dimse-real-')));
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    tmp.remove();
  });

  for (const [folder, propose, syntax] of [
    ['uid_repaired_uncompressed', ['-xe'], TS.explicitVrLittleEndian],
    ['uid_repaired_j2k', ['-xv'], TS.jpeg2000Lossless],
  ] as const) {
    it(`stores ${folder} from storescu (${propose.join(' ')}) byte for byte and analyses it with the real stages`, async () => {
      node = await startNode(dimseConfig(tmp.path));
      const sent = await storescu(node.dimse!.port, 'MODALITY', AE, [join(root, folder)], [...propose]);
      assert.equal(sent.code, 0, sent.output);
      await settle(node);
      const sources = readdirSync(join(root, folder)).filter((name) => name.endsWith('.dcm'));
      const uid = parseDicom(readFileSync(join(root, folder, sources[0])), { headerOnly: true }).dataset.StudyInstanceUID as string;
      assert.equal(spooled(tmp.path, uid).length, sources.length);
      for (const name of sources) {
        const original = readFileSync(join(root, folder, name));
        const sopUid = parseDicom(original, { headerOnly: true }).dataset.SOPInstanceUID as string;
        const stored = readFileSync(join(tmp.path, 'spool', uid, `${sopUid}.dcm`));
        assert.equal(parseDicom(stored, { headerOnly: true }).transferSyntaxUid, syntax);
        assert.ok(dataSetBytes(stored).equals(dataSetBytes(original)), `${name}: data set stored as sent`);
      }
      const result = (await analyses(node, uid)).at(-1);
      assert.ok(result, 'the study was analysed');
      // 20 slices around T11/T12: the level finder honestly answers that it cannot count vertebrae here.
      if (result.outcome === 'measured') {
        assert.ok(result.outputs?.seg && result.outputs?.sr);
      } else {
        assert.equal(result.outcome, 'not-measured');
        assert.match(result.status, /^E_(INSUFFICIENT_COVERAGE|LEVEL_NOT_IN_VIEW|LEVEL_AMBIGUOUS)$/);
      }
    });
  }
});
