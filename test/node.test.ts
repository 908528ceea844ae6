/**
 * The node as one process: STOW-RS in, study assembly after a quiet period, the queue and its
 * workers, write-back (local folder, or Orthanc over STOW-RS), and Orthanc pushing a stable study
 * to the node with its Lua OnStableStudy hook. Level and segmentation answer from the phantom's
 * truth here (test/support/truth-stages.ts): these tests are about the node's plumbing.
 */
import { isCtMuscleError } from '../src/errors.ts';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { stringValue } from '../src/dicom/dataset-values.ts';
import { parseDicom } from '../src/dicom/read.ts';
import { ANALYZE_STUDY, requeueStudy, startNode, WRITE_BACK, type AnalyzeStudyResult, type RunningNode } from '../src/server.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { UNAVAILABLE_STAGES, type Stages } from '../src/pipeline/index.ts';
import { makeTempDir } from './support/env.ts';
import { nodeConfig } from './support/node-config.ts';
import { firstString, freeLoopbackPort, type OrthancHandle, qido, requireOrthanc, startOrthanc } from './support/orthanc.ts';
import { truthStages } from './support/truth-stages.ts';

async function phantom(seed: number) {
  const study = await generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed });
  const instances = study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid }));
  return { study, instances };
}

async function settle(node: RunningNode): Promise<void> {
  // The quiet period must pass before the study's job is due.
  await new Promise((resolve) => setTimeout(resolve, 350));
  await node.idle();
}

describe('the node (serve)', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  beforeEach(() => (tmp = makeTempDir('ctmn-node-')));
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    tmp.remove();
  });

  it('answers /healthz, /readyz and /metrics', async () => {
    node = await startNode(nodeConfig(tmp.path));
    assert.equal((await fetch(`${node.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${node.url}/readyz`)).status, 200);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    assert.match(metrics, /ctmn_jobs\{state="pending"\} 0/);
    assert.match(metrics, /# TYPE ctmn_model_sessions gauge/);
    assert.match(metrics, /# TYPE ctmn_model_provider_fallbacks_total counter/);
  });

  it('processes a pushed study once it is quiet, writes SEG/SR/JSON to the local folder, and counts it in /metrics', async () => {
    const { study, instances } = await phantom(21);
    // Two requests, one analysis: the quiet period must outlast the gap between them on a loaded machine.
    node = await startNode(nodeConfig(tmp.path, { assembly: { quietPeriodSeconds: 2 } }), { stages: truthStages(study.truth) });
    const first = await stowInstances({ url: `${node.url}/dicomweb` }, instances.slice(0, 10));
    const rest = await stowInstances({ url: `${node.url}/dicomweb` }, instances.slice(10));
    assert.equal(first.stored.length + rest.stored.length, instances.length);
    await new Promise((resolve) => setTimeout(resolve, 2_200)); // past the 2 s quiet period: the job is due
    await node.idle();
    const jobs = (await node.queue.list());
    const analyses = jobs.filter((j) => j.kind === ANALYZE_STUDY && j.state === 'done');
    assert.equal(analyses.length, 1, 'one analysis for the study, after both requests');
    const result = analyses[0].result as AnalyzeStudyResult;
    assert.equal(result.outcome, 'measured');
    assert.equal(result.selectedInstanceCount, instances.length);
    const studyDir = join(tmp.path, 'out', study.truth.studyInstanceUid);
    for (const name of ['seg.dcm', 'sr.dcm', 'result.json']) assert.ok(existsSync(join(studyDir, name)), name);
    assert.equal(jobs.filter((j) => j.kind === WRITE_BACK && j.state === 'done').length, 1);
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    assert.match(metrics, /ctmn_jobs\{state="done"\} 2/);
    assert.match(metrics, /ctmn_stow_requests_total\{status="200"\} 2/);
  });

  it('does not re-run a study when late instances leave the selected series unchanged', async () => {
    const { study, instances } = await phantom(22);
    node = await startNode(nodeConfig(tmp.path), { stages: truthStages(study.truth) });
    await stowInstances({ url: `${node.url}/dicomweb` }, instances);
    await settle(node);
    await stowInstances({ url: `${node.url}/dicomweb` }, instances.slice(0, 2)); // a retried push
    await settle(node);
    const outcomes = (await node.queue.list('done')).filter((j) => j.kind === ANALYZE_STUDY).map((j) => (j.result as AnalyzeStudyResult).outcome);
    assert.deepEqual(outcomes, ['measured', 'unchanged']);
  });

  it('requeue --slice: re-measures a received study on the slice a person chose, without the level finder', async () => {
    const { study, instances } = await phantom(24);
    const stages = truthStages(study.truth);
    let finderRuns = 0;
    const finder = stages.findLevel;
    stages.findLevel = (input) => {
      finderRuns++;
      return finder(input);
    };
    const config = nodeConfig(tmp.path);
    node = await startNode(config, { stages });
    await stowInstances({ url: `${node.url}/dicomweb` }, instances);
    await settle(node);
    assert.equal(finderRuns, 1);
    const chosen = study.truth.t12.sopInstanceUid!;
    const { job } = await requeueStudy(config, study.truth.studyInstanceUid, { slice: chosen });
    assert.equal(job.payload.sliceSopInstanceUid, chosen);
    await node.idle();
    assert.equal(finderRuns, 1, 'the level finder must not run for a chosen slice');
    const last = (await node.queue.list('done')).filter((j) => j.kind === ANALYZE_STUDY).at(-1)!.result as AnalyzeStudyResult;
    assert.equal(last.outcome, 'measured');
    assert.deepEqual([last.level?.name, last.level?.rule, last.level?.sopInstanceUid], ['as-provided', 'user-selected', chosen]);
    await assert.rejects(requeueStudy(config, '1.2.3.4.5'), (error: unknown) => isCtMuscleError(error) && error.code === 'E_STUDY_NOT_FOUND');
  });

  it('fails the job with E_STAGE_UNAVAILABLE when a stage is missing (dead letter, no output)', async () => {
    const { instances, study } = await phantom(23);
    node = await startNode(nodeConfig(tmp.path), { stages: UNAVAILABLE_STAGES });
    await stowInstances({ url: `${node.url}/dicomweb` }, instances);
    await settle(node);
    const [dead] = (await node.queue.list('dead'));
    assert.equal(dead.kind, ANALYZE_STUDY);
    assert.equal(dead.lastErrorCode, 'E_STAGE_UNAVAILABLE');
    assert.equal(existsSync(join(tmp.path, 'out', study.truth.studyInstanceUid, 'seg.dcm')), false);
  });

  it('acknowledges but does not process non-CT objects and its own outputs', async () => {
    const { study, instances } = await phantom(24);
    const stages: Stages = truthStages(study.truth);
    node = await startNode(nodeConfig(tmp.path), { stages });
    await stowInstances({ url: `${node.url}/dicomweb` }, instances);
    await settle(node);
    const segPath = join(tmp.path, 'out', study.truth.studyInstanceUid, 'seg.dcm');
    const seg = new Uint8Array(readFileSync(segPath));
    const segUid = stringValue(parseDicom(seg, { headerOnly: true }).dataset, 'SOPInstanceUID')!;
    const before = (await node.queue.list()).length;
    const outcome = await stowInstances({ url: `${node.url}/dicomweb` }, [{ bytes: seg, sopInstanceUid: segUid }]);
    assert.equal(outcome.stored.length, 1);
    await settle(node);
    assert.equal((await node.queue.list()).length, before, 'no job for a SEG pushed back');
  });

  describe('with Orthanc', function () {
    before(function () {
      requireOrthanc(this);
    });

    it('writes SEG and SR back to Orthanc and confirms every UID; a PACS that is down is retried, then dead-lettered', async () => {
      const orthanc: OrthancHandle = await startOrthanc();
      try {
        const { study, instances } = await phantom(25);
        const config = nodeConfig(tmp.path, { writeBack: { destination: { url: orthanc.dicomWebRoot }, deadlineHours: 1 } });
        node = await startNode(config, { stages: truthStages(study.truth) });
        await stowInstances({ url: `${node.url}/dicomweb` }, instances);
        await settle(node);
        const [written] = (await node.queue.list('done')).filter((j) => j.kind === WRITE_BACK);
        assert.ok(written, 'write-back done');
        const series = await qido(orthanc.dicomWebRoot, `studies/${study.truth.studyInstanceUid}/series`);
        const modalities = series.map((s) => firstString(s, '00080060')).sort();
        assert.deepEqual(modalities, ['SEG', 'SR']);
      } finally {
        await orthanc.stop();
      }
      // Orthanc is gone now: the next write-back fails, is retried with backoff, and ends dead.
      const { study, instances } = await phantom(26);
      await node!.stop();
      node = await startNode(nodeConfig(tmp.path, { writeBack: { destination: { url: 'http://127.0.0.1:9/dicom-web' }, deadlineHours: 1 } }), { stages: truthStages(study.truth) });
      await stowInstances({ url: `${node.url}/dicomweb` }, instances);
      await settle(node);
      for (let i = 0; i < 20 && (await node.queue.list('pending')).length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        await node.idle();
      }
      const dead = (await node.queue.list('dead')).find((j) => j.kind === WRITE_BACK);
      assert.ok(dead, 'write-back dead-lettered');
      assert.equal(dead.attempts, 3);
      assert.equal(dead.lastErrorCode, 'E_PACS_UNAVAILABLE');
    });

    it('receives a study that Orthanc pushes on OnStableStudy (Lua → DICOMweb STOW-RS to the node) and writes SEG and SR back into it', async () => {
      const { study, instances } = await phantom(27);
      const orthancPort = await freeLoopbackPort();
      const destination = { url: `http://127.0.0.1:${orthancPort}/dicom-web` };
      node = await startNode(nodeConfig(tmp.path, { writeBack: { destination, deadlineHours: 1 } }), { stages: truthStages(study.truth) });
      const lua = `function OnStableStudy(studyId, tags, metadata)\n  RestApiPost('/dicom-web/servers/node/stow', '{"Resources": ["' .. studyId .. '"]}')\nend\n`;
      const orthanc = await startOrthanc({ dicomWebServers: { node: `${node.url}/dicomweb/` }, lua, port: orthancPort });
      try {
        await stowInstances({ url: orthanc.dicomWebRoot }, instances);
        const deadline = Date.now() + 30_000;
        while (Date.now() < deadline && (await node.queue.list('done')).filter((j) => j.kind === ANALYZE_STUDY).length === 0) {
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        await node.idle();
        const [done] = (await node.queue.list('done')).filter((j) => j.kind === ANALYZE_STUDY);
        assert.ok(done, `the node analysed the pushed study; Orthanc log:\n${orthanc.logTail(15)}`);
        assert.equal((done.result as AnalyzeStudyResult).outcome, 'measured');
        assert.equal((done.result as AnalyzeStudyResult).selectedInstanceCount, instances.length);
        const series = await qido(orthanc.dicomWebRoot, `studies/${study.truth.studyInstanceUid}/series`);
        assert.deepEqual(series.map((s) => firstString(s, '00080060')).sort(), ['CT', 'SEG', 'SR'], 'SEG and SR in the source study');
      } finally {
        await orthanc.stop();
      }
    });
  });
});
