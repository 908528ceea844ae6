/**
 * docs/deploy.md's Orthanc recipes, run as printed: the Orthanc configuration, the Lua script and
 * the node's site files are read from the document (fenced blocks named after the language), not
 * copied here. Only host:port, StableAge (1 s, to be quick) and the Lua path are changed. Push: a
 * CT study ends with one SEG and one SR, an MR study is never sent, and the node's write-back does
 * not make Orthanc send the study again. Poll: the same with the node polling Orthanc.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dcmjs from 'dcmjs';
import { loadConfig, type Config } from '../src/config.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { ANALYZE_STUDY, startNode, WRITE_BACK, type AnalyzeStudyResult, type RunningNode } from '../src/server.ts';
import { makeTempDir } from './support/env.ts';
import { firstString, freeLoopbackPort, type OrthancHandle, qido, requireOrthanc, startOrthanc, stow } from './support/orthanc.ts';
import { truthStages } from './support/truth-stages.ts';

const DEPLOY_DOC = new URL('../docs/deploy.md', import.meta.url);

/** The fenced block whose fence line is "```<language> <name>". */
export function documentedBlock(name: string): string {
  const text = readFileSync(DEPLOY_DOC, 'utf8');
  const match = new RegExp('```\\w+ ' + name.replace('.', '\\.') + '\\n([\\s\\S]*?)```').exec(text);
  assert.ok(match, `docs/deploy.md has no block named ${name}`);
  return match[1];
}

/** Same URL with this host:port (the doc's path kept). */
function rehost(url: string, origin: string): string {
  const parsed = new URL(url);
  return `${origin}${parsed.pathname}`;
}

function siteConfig(dir: string, name: string, pacsOrigin: string): Config {
  const site = documentedBlock(name).replace(/http:\/\/127\.0\.0\.1:8042/g, pacsOrigin);
  const file = join(dir, name);
  writeFileSync(file, site);
  const config = loadConfig({ file, env: {} });
  return {
    ...config,
    logLevel: 'warn',
    spoolDir: join(dir, 'spool'),
    output: { dir: join(dir, 'out'), overlay: false, notMeasuredSr: true },
    server: { ...config.server, port: 0 },
    queue: { ...config.queue, path: join(dir, 'jobs.sqlite'), baseDelayMs: 50, maxDelayMs: 200 },
    assembly: { quietPeriodSeconds: 0.2 },
  };
}

const today = () => new Date().toISOString().slice(0, 10).replace(/-/g, '');

async function ctStudy(seed: number, studyInstanceUid: string) {
  return generatePhantomStudy({ rows: 96, columns: 96, fromLevel: 'L1', toLevel: 'T11', sliceThicknessMm: 5, seed, study: { studyInstanceUid, studyDate: today() } });
}

/** A small MR study: phantom slices relabelled as MR images (what matters is the series' Modality/SOP Class). */
async function mrStudy(studyInstanceUid: string): Promise<Uint8Array[]> {
  const study = await generatePhantomStudy({ rows: 64, columns: 64, sliceCount: 2, sliceThicknessMm: 5, seed: 5, study: { studyInstanceUid, studyDate: today() } });
  return study.files.map((file) => {
    const dicom = dcmjs.data.DicomMessage.readFile(file.bytes.buffer.slice(file.bytes.byteOffset, file.bytes.byteOffset + file.bytes.byteLength) as ArrayBuffer);
    const dataset = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dicom.dict);
    dataset.Modality = 'MR';
    dataset.SOPClassUID = '1.2.840.10008.5.1.4.1.1.4';
    dicom.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(dataset);
    dicom.meta['00020002'] = { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.4'] };
    return new Uint8Array(dicom.write());
  });
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function modalities(orthanc: OrthancHandle, studyInstanceUid: string): Promise<string[]> {
  const series = await qido(orthanc.dicomWebRoot, `studies/${studyInstanceUid}/series`);
  return series.map((s) => firstString(s, '00080060') ?? '?').sort();
}

async function analyses(node: RunningNode) {
  return (await node.queue.list('done')).filter((j) => j.kind === ANALYZE_STUDY);
}

async function stowCount(node: RunningNode): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return [...text.matchAll(/^ctmn_stow_requests_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('docs/deploy.md recipes against Orthanc', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  let orthanc: OrthancHandle | undefined;
  beforeEach(function () {
    requireOrthanc(this);
    tmp = makeTempDir('ctmn-deploy-');
  });
  afterEach(async () => {
    await node?.stop();
    await orthanc?.stop();
    node = undefined;
    orthanc = undefined;
    tmp?.remove();
  });

  it('push: the documented Lua sends the CT study once, never the MR study, and the write-back does not bounce', async () => {
    const ct = await ctStudy(41, '2.25.4100000001');
    const mr = await mrStudy('2.25.4100000002');
    const orthancPort = await freeLoopbackPort();
    node = await startNode(siteConfig(tmp.path, 'site-push.json', `http://127.0.0.1:${orthancPort}`), { stages: truthStages(ct.truth) });
    const nodeOrigin = new URL(node.url).origin;

    const documented = JSON.parse(documentedBlock('orthanc.json')) as { DicomWeb: { Servers: Record<string, string[]> } };
    const luaPath = join(tmp.path, 'muscle.lua');
    writeFileSync(luaPath, documentedBlock('muscle.lua'));
    const servers = Object.fromEntries(Object.entries(documented.DicomWeb.Servers).map(([name, [url, ...rest]]) => [name, [rehost(url, nodeOrigin), ...rest]]));
    orthanc = await startOrthanc({ port: orthancPort, extraConfig: { ...documented, DicomWeb: { ...documented.DicomWeb, Servers: servers }, LuaScripts: [luaPath], StableAge: 1 } });

    assert.equal((await stow(orthanc.dicomWebRoot, mr.map((bytes) => ({ bytes })))).stored.length, mr.length);
    assert.equal((await stow(orthanc.dicomWebRoot, ct.files.map((f) => ({ bytes: f.bytes })))).stored.length, ct.files.length);
    await waitFor('the write-back into Orthanc', async () => (await modalities(orthanc!, ct.truth.studyInstanceUid)).length === 3);
    await node.idle();
    // Orthanc sees the study change (SEG + SR) and makes it stable again after StableAge; give it time to (not) push.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    await node.idle();

    assert.deepEqual(await modalities(orthanc, ct.truth.studyInstanceUid), ['CT', 'SEG', 'SR'], 'one SEG and one SR in the CT study');
    assert.equal(await stowCount(node), 1, `Orthanc pushed once (the CT series), not the MR study nor the study again; Orthanc log:\n${orthanc.logTail(15)}`);
    assert.equal(existsSync(join(tmp.path, 'spool', '2.25.4100000002')), false, 'no MR instance reached the node');
    assert.deepEqual((await analyses(node)).map((j) => (j.result as AnalyzeStudyResult).outcome), ['measured']);
    assert.equal((await node.queue.list('done')).filter((j) => j.kind === WRITE_BACK).length, 1);
  });

  it('poll: the documented site file polls Orthanc, measures the CT study, leaves the MR study, and does not fetch again after write-back', async () => {
    const ct = await ctStudy(42, '2.25.4200000001');
    const mr = await mrStudy('2.25.4200000002');
    orthanc = await startOrthanc();
    assert.equal((await stow(orthanc.dicomWebRoot, mr.map((bytes) => ({ bytes })))).stored.length, mr.length);
    assert.equal((await stow(orthanc.dicomWebRoot, ct.files.map((f) => ({ bytes: f.bytes })))).stored.length, ct.files.length);
    node = await startNode(siteConfig(tmp.path, 'site-poll.json', orthanc.baseUrl), { stages: truthStages(ct.truth) });

    const first = await node.pollNow();
    assert.ok(first);
    assert.deepEqual([first.studiesFetched, first.errors], [1, []]);
    await waitFor('the analysis', async () => (await analyses(node!)).length === 1);
    await node.idle();
    const second = await node.pollNow();
    assert.ok(second);
    assert.equal(second.studiesFetched, 0, 'the study with its new SEG/SR is not fetched again');
    await node.idle();

    assert.deepEqual(await modalities(orthanc, ct.truth.studyInstanceUid), ['CT', 'SEG', 'SR']);
    assert.deepEqual(await modalities(orthanc, '2.25.4200000002'), ['MR']);
    assert.equal(existsSync(join(tmp.path, 'spool', '2.25.4200000002')), false, 'no MR instance fetched');
    assert.deepEqual((await analyses(node)).map((j) => (j.result as AnalyzeStudyResult).outcome), ['measured']);
  });
});
