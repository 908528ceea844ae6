/**
 * DIMSE both ways with real peers: Orthanc routes a study to the node over C-STORE (its
 * DicomModalities entry and REST /modalities/{id}/store), and the node's C-STORE write-back lands
 * the SEG and SR in Orthanc (to a configured AE, or back to the AE that sent the study). The
 * C-STORE client's reading of statuses is checked against the node's own SCP.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { cStoreInstances } from '../src/dimse/store-scu.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { startNode, WRITE_BACK, type RunningNode } from '../src/server.ts';
import { requireDcmtk, sendWithClient, writeFiles } from './support/dimse.ts';
import { makeTempDir } from './support/env.ts';
import { firstString, freeLoopbackPort, qido, requireOrthanc, startOrthanc, type OrthancHandle } from './support/orthanc.ts';
import { truthStages } from './support/truth-stages.ts';

const NODE_AE = 'CTMN_TEST';

function dimseConfig(dir: string, port: number, overrides: { dimse?: Partial<Config['dimse']>; writeBack?: Partial<Config['writeBack']> } = {}): Config {
  const base = loadConfig({ env: {} });
  return {
    ...base,
    logLevel: 'warn',
    spoolDir: join(dir, 'spool'),
    output: { ...base.output, dir: join(dir, 'out'), overlay: false },
    server: { ...base.server, port: 0 },
    queue: { ...base.queue, path: join(dir, 'jobs.sqlite'), baseDelayMs: 50, maxDelayMs: 200, maxAttempts: 3 },
    assembly: { quietPeriodSeconds: 0.5 },
    dimse: { ...base.dimse, enabled: true, aeTitle: NODE_AE, port, ...overrides.dimse },
    writeBack: { ...base.writeBack, ...overrides.writeBack },
  };
}

async function phantom(seed: number) {
  return generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed });
}

async function uploadToOrthanc(orthanc: OrthancHandle, files: Array<{ bytes: Uint8Array }>): Promise<string> {
  let studyId = '';
  for (const file of files) {
    const response = await fetch(`${orthanc.baseUrl}/instances`, { method: 'POST', body: file.bytes });
    assert.equal(response.status, 200, await response.clone().text());
    studyId = ((await response.json()) as { ParentStudy: string }).ParentStudy;
  }
  return studyId;
}

async function routeToNode(orthanc: OrthancHandle, studyId: string): Promise<void> {
  const response = await fetch(`${orthanc.baseUrl}/modalities/node/store`, { method: 'POST', body: JSON.stringify({ Resources: [studyId], Synchronous: true }) });
  assert.equal(response.status, 200, `${await response.text()}\n${orthanc.logTail()}`);
}

async function resultsInOrthanc(orthanc: OrthancHandle, studyUid: string): Promise<string[]> {
  const series = await qido(orthanc.dicomWebRoot, `studies/${studyUid}/series`);
  return series.map((s) => firstString(s, '00080060') ?? '').filter((m) => m === 'SEG' || m === 'SR').sort();
}

/** Until no job waits or runs (idle() alone does not wait for a job rescheduled into the future). */
async function waitIdle(node: RunningNode, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 800));
    await node.idle();
    if (!(await node.queue.list()).some((job) => job.state === 'pending' || job.state === 'running')) return;
    if (Date.now() > deadline) throw new Error('jobs did not finish');
  }
}

describe('DIMSE with Orthanc: routed in over C-STORE, results back over C-STORE', function () {
  this.timeout(240_000);
  let orthanc: OrthancHandle;
  let nodePort: number;
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  before(async function () {
    requireOrthanc(this);
    nodePort = await freeLoopbackPort();
    orthanc = await startOrthanc({ dicom: { aeTitle: 'ORTHANC', modalities: { node: [NODE_AE, '127.0.0.1', nodePort] } } });
  });
  after(async () => orthanc?.stop());
  beforeEach(() => (tmp = makeTempDir('ctmn-dimse-orthanc-')));
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    tmp.remove();
  });

  it('writes SEG and SR back to a configured DICOM AE', async () => {
    const study = await phantom(41);
    const destination = { host: '127.0.0.1', port: orthanc.dicomPort!, calledAeTitle: 'ORTHANC' };
    node = await startNode(dimseConfig(tmp.path, nodePort, { writeBack: { destination } }), { stages: truthStages(study.truth) });
    await routeToNode(orthanc, await uploadToOrthanc(orthanc, study.files));
    await waitIdle(node);
    const writeBacks = (await node.queue.list()).filter((job) => job.kind === WRITE_BACK);
    assert.equal(writeBacks.length, 1);
    assert.equal(writeBacks[0].state, 'done', JSON.stringify(writeBacks[0]));
    assert.deepEqual(await resultsInOrthanc(orthanc, study.truth.studyInstanceUid), ['SEG', 'SR']);
  });

  it('writes SEG and SR back to the AE that sent the study (writeBack.toSendingAe, the AE known with returnTo)', async () => {
    const study = await phantom(42);
    const callingAes = [{ aeTitle: 'ORTHANC', hosts: ['127.0.0.1'], returnTo: { host: '127.0.0.1', port: orthanc.dicomPort! } }];
    node = await startNode(dimseConfig(tmp.path, nodePort, { dimse: { callingAes }, writeBack: { toSendingAe: true } }), { stages: truthStages(study.truth) });
    await routeToNode(orthanc, await uploadToOrthanc(orthanc, study.files));
    await waitIdle(node);
    const [writeBack] = (await node.queue.list()).filter((job) => job.kind === WRITE_BACK);
    assert.equal(writeBack?.state, 'done', JSON.stringify(writeBack));
    assert.match(String((writeBack.result as { destination: string }).destination), /^ORTHANC@127\.0\.0\.1:/);
    assert.deepEqual(await resultsInOrthanc(orthanc, study.truth.studyInstanceUid), ['SEG', 'SR']);
    // Stored again (a retried write-back): the same deterministic UIDs, no duplicates.
    const files = (writeBack.payload as { files: Array<{ path: string; sopInstanceUid: string }> }).files;
    await cStoreInstances({ host: '127.0.0.1', port: orthanc.dicomPort!, calledAeTitle: 'ORTHANC', callingAeTitle: NODE_AE }, files);
    const instances = await qido(orthanc.dicomWebRoot, `studies/${study.truth.studyInstanceUid}/instances`, { Modality: 'SEG' });
    assert.equal(instances.length, 1);
  });
});

describe('DIMSE with Orthanc: Lua OnStableStudy → /modalities/{id}/store', function () {
  this.timeout(240_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let orthanc: OrthancHandle | undefined;
  let node: RunningNode | undefined;
  before(function () {
    requireOrthanc(this);
  });
  beforeEach(() => (tmp = makeTempDir('ctmn-dimse-lua-')));
  afterEach(async () => {
    await node?.stop();
    await orthanc?.stop();
    node = undefined;
    orthanc = undefined;
    tmp.remove();
  });

  it('routes a stable study to the node by itself, and the SEG and SR come back into Orthanc', async () => {
    const study = await phantom(45);
    const port = await freeLoopbackPort();
    // The node's own SEG/SR also become stable in Orthanc: only CT goes to the node (as docs/deploy.md says).
    const lua = `function OnStableStudy(studyId, tags, metadata)
  if string.find(tags['ModalitiesInStudy'] or 'CT', 'CT') then
    RestApiPost('/modalities/node/store', '{"Resources": ["' .. studyId .. '"]}')
  end
end`;
    orthanc = await startOrthanc({ dicom: { aeTitle: 'ORTHANC', modalities: { node: [NODE_AE, '127.0.0.1', port] } }, lua });
    const callingAes = [{ aeTitle: 'ORTHANC', returnTo: { host: '127.0.0.1', port: orthanc.dicomPort! } }];
    node = await startNode(dimseConfig(tmp.path, port, { dimse: { callingAes }, writeBack: { toSendingAe: true } }), { stages: truthStages(study.truth) });
    await uploadToOrthanc(orthanc, study.files);
    const deadline = Date.now() + 60_000;
    let results: string[] = [];
    while (Date.now() < deadline && results.length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      results = await resultsInOrthanc(orthanc, study.truth.studyInstanceUid);
    }
    assert.deepEqual(results, ['SEG', 'SR'], orthanc.logTail());
  });
});

describe('C-STORE write-back client reads every status (against the node\'s own SCP)', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  let files: Array<{ path: string; sopInstanceUid: string }>;
  before(function () {
    requireDcmtk(this);
  });
  beforeEach(async () => {
    tmp = makeTempDir('ctmn-dimse-scu-');
    const study = await phantom(43);
    const paths = writeFiles(join(tmp.path, 'in'), study.files.slice(0, 3));
    files = paths.map((path, i) => ({ path, sopInstanceUid: study.truth.slices.find((s) => s.fileName === study.files[i].fileName)!.sopInstanceUid }));
  });
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    tmp.remove();
  });

  it('resolves with every instance stored on 0000', async () => {
    node = await startNode(dimseConfig(tmp.path, 0));
    const outcome = await cStoreInstances({ host: '127.0.0.1', port: node.dimse!.port, calledAeTitle: NODE_AE, callingAeTitle: 'WRITER' }, files);
    assert.deepEqual(outcome.stored.sort(), files.map((f) => f.sopInstanceUid).sort());
    assert.equal(readdirSync(join(tmp.path, 'spool')).length, 1);
  });

  it('treats A700 as a failure to retry, a rejected calling AE as final, and no listener as a failure to retry', async () => {
    node = await startNode(dimseConfig(tmp.path, 0, { dimse: { minFreeSpaceMb: 1e12, callingAes: [{ aeTitle: 'WRITER' }] } }));
    const target = { host: '127.0.0.1', port: node.dimse!.port, calledAeTitle: NODE_AE, callingAeTitle: 'WRITER' };
    const full = await cStoreInstances(target, files).catch((error: unknown) => error);
    assert.ok(isCtMuscleError(full) && full.code === 'E_PACS_UNAVAILABLE' && full.details?.retryable === true, String(full));
    assert.match((full as Error).message, /0xA700/);
    const stranger = await cStoreInstances({ ...target, callingAeTitle: 'STRANGER' }, files).catch((error: unknown) => error);
    assert.ok(isCtMuscleError(stranger) && stranger.code === 'E_PACS_REJECTED' && stranger.details?.retryable === false, String(stranger));
    const nobody = await cStoreInstances({ ...target, port: await freeLoopbackPort(), timeoutMs: 10_000 }, files).catch((error: unknown) => error);
    assert.ok(isCtMuscleError(nobody) && nobody.code === 'E_PACS_UNAVAILABLE' && nobody.details?.retryable === true, String(nobody));
  });

  it('dead-letters a write-back whose AE rejects the node for good, after one attempt', async () => {
    const study = await phantom(44);
    const port = await freeLoopbackPort();
    // The node writes back to its own SCP, which admits only MODALITY: the node's own AE title is rejected.
    const destination = { host: '127.0.0.1', port, calledAeTitle: NODE_AE };
    node = await startNode(dimseConfig(tmp.path, port, { dimse: { callingAes: [{ aeTitle: 'MODALITY' }] }, writeBack: { destination } }), { stages: truthStages(study.truth) });
    const paths = writeFiles(join(tmp.path, 'study'), study.files);
    const sent = await sendWithClient(port, 'MODALITY', NODE_AE, paths.map((path) => ({ path })));
    assert.ok(sent.statuses.every((s) => s === 0));
    await waitIdle(node);
    const [writeBack] = (await node.queue.list()).filter((job) => job.kind === WRITE_BACK);
    assert.equal(writeBack?.state, 'dead', JSON.stringify(writeBack));
    assert.equal(writeBack.attempts, 1);
    assert.equal(writeBack.lastErrorCode, 'E_PACS_REJECTED');
    assert.match(writeBack.lastError ?? '', /association rejected \(permanent/);
  });
});
