/** Polling a real PACS (Orthanc): QIDO window → metadata → selection → WADO-RS of the chosen series only. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { loadConfig, type Config } from '../src/config.ts';
import { searchAll } from '../src/dicomweb/client/dicomweb-client.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { ANALYZE_STUDY, startNode, WRITE_BACK, type AnalyzeStudyResult, type RunningNode } from '../src/server.ts';
import { makeTempDir } from './support/env.ts';
import { firstString, type OrthancHandle, qido, requireOrthanc, startOrthanc, stow } from './support/orthanc.ts';
import { truthStages } from './support/truth-stages.ts';

describe('QIDO-RS paging', () => {
  it('stops on a server that ignores offset, and says the result may be capped', async () => {
    const app = express();
    let calls = 0;
    app.get('/dicom-web/studies', (_req, res) => {
      calls++;
      res.type('application/dicom+json').send(JSON.stringify([1, 2, 3].map((n) => ({ '0020000D': { vr: 'UI', Value: [`1.2.${n}`] } }))));
    });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
      const { items, capped } = await searchAll({ url }, 'studies', {}, '0020000D', { pageSize: 3, maxPages: 10 });
      assert.equal(items.length, 3);
      assert.equal(capped, true);
      assert.equal(calls, 2);
    } finally {
      server.close();
    }
  });
});

describe('polling Orthanc', function () {
  this.timeout(120_000);
  let orthanc: OrthancHandle;
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;

  before(async function () {
    requireOrthanc(this);
    orthanc = await startOrthanc();
  });
  after(async () => orthanc?.stop());
  beforeEach(() => (tmp = makeTempDir('ctmn-poll-')));
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    tmp.remove();
  });

  it('fetches only the selected series of new CT studies, measures them, writes back to the source, and skips them next time', async () => {
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    const base = { rows: 96, columns: 96, fromLevel: 'L1' as const, toLevel: 'T11' as const, seed: 31, study: { studyInstanceUid: '2.25.777000111', studyDate: today } };
    const soft = await generatePhantomStudy({ ...base, sliceThicknessMm: 2.5, series: { seriesInstanceUid: '2.25.777000112', convolutionKernel: 'B30f', seriesNumber: 2 } });
    const lung = await generatePhantomStudy({ ...base, sliceThicknessMm: 1.25, series: { seriesInstanceUid: '2.25.777000113', convolutionKernel: 'B70f', seriesNumber: 3 } });
    const stored = await stow(orthanc.dicomWebRoot, [...soft.files, ...lung.files].map((f) => ({ bytes: f.bytes })));
    assert.equal(stored.stored.length, soft.files.length + lung.files.length, JSON.stringify(stored.body).slice(0, 300));
    const studies = await qido(orthanc.dicomWebRoot, 'studies', { StudyInstanceUID: '2.25.777000111' });
    assert.equal(studies.length, 1);

    const defaults = loadConfig({ env: {} });
    const config: Config = {
      ...defaults,
      logLevel: 'warn',
      spoolDir: join(tmp.path, 'spool'),
      output: { dir: join(tmp.path, 'out'), overlay: false, notMeasuredSr: true },
      server: { ...defaults.server, port: 0 },
      queue: { ...defaults.queue, path: join(tmp.path, 'jobs.sqlite') },
      poll: { ...defaults.poll, source: { url: orthanc.dicomWebRoot }, pageSize: 2 },
    };
    node = await startNode(config, { stages: truthStages(soft.truth) });
    const first = await node.pollNow();
    assert.ok(first);
    assert.deepEqual(first.errors, []);
    assert.equal(first.studiesFetched, 1);
    assert.equal(first.instancesRetrieved, soft.files.length, 'only the soft-tissue series is retrieved');
    assert.equal(readdirSync(join(tmp.path, 'spool', '2.25.777000111')).length, soft.files.length);
    await node.idle();
    const [analysis] = (await node.queue.list('done')).filter((j) => j.kind === ANALYZE_STUDY);
    assert.equal((analysis.result as AnalyzeStudyResult).seriesInstanceUid, '2.25.777000112');
    assert.equal((await node.queue.list('done')).filter((j) => j.kind === WRITE_BACK).length, 1);
    const series = await qido(orthanc.dicomWebRoot, 'studies/2.25.777000111/series');
    assert.deepEqual(series.map((s) => firstString(s, '00080060')).sort(), ['CT', 'CT', 'SEG', 'SR']);

    const second = await node.pollNow();
    assert.equal(second!.studiesFetched, 0);
    assert.equal(second!.studiesSkipped + second!.studiesFetched, second!.studiesFound);
  });
});
