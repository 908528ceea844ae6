/** `batch --from-pacs` against a real PACS (Orthanc): QIDO-RS filters, WADO-RS of the chosen series only, resumable. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { loadConfig } from '../src/config.ts';
import { runBatch } from '../src/batch/run-batch.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { makeTempDir } from './support/env.ts';
import { type OrthancHandle, requireOrthanc, startOrthanc, stow } from './support/orthanc.ts';

describe('batch --from-pacs (Orthanc)', function () {
  this.timeout(300_000);
  let orthanc: OrthancHandle;
  let tmp: ReturnType<typeof makeTempDir>;

  before(async function () {
    requireOrthanc(this);
    orthanc = await startOrthanc();
    tmp = makeTempDir('ctmn-batch-pacs-');
  });
  after(async () => {
    await orthanc?.stop();
    tmp?.remove();
  });

  it('takes the studies in the date range, retrieves only the chosen series, measures them, and fetches nothing again next time', async () => {
    const base = { rows: 160, columns: 160, fromLevel: 'L2' as const, toLevel: 'T10' as const };
    const inRange = { studyInstanceUid: '2.25.888000111', studyDate: '20240315', accessionNumber: 'ACC-1' };
    const soft = await generatePhantomStudy({ ...base, seed: 41, study: inRange, sliceThicknessMm: 2.5, series: { seriesInstanceUid: '2.25.888000112', convolutionKernel: 'B30f', seriesNumber: 2 } });
    const lung = await generatePhantomStudy({ ...base, seed: 41, study: inRange, sliceThicknessMm: 1.25, series: { seriesInstanceUid: '2.25.888000113', convolutionKernel: 'B70f', seriesNumber: 3 } });
    const old = await generatePhantomStudy({ ...base, seed: 42, study: { studyInstanceUid: '2.25.888000211', studyDate: '20190101' } });
    const stored = await stow(orthanc.dicomWebRoot, [...soft.files, ...lung.files, ...old.files].map((f) => ({ bytes: f.bytes })));
    assert.equal(stored.stored.length, soft.files.length + lung.files.length + old.files.length);

    const config = { ...loadConfig({ env: {} }), logLevel: 'warn' as const };
    const out = join(tmp.path, 'out');
    const fromPacs = { source: { url: orthanc.dicomWebRoot }, filters: { studyDate: '20240101-20241231' } };
    const summary = await runBatch({ paths: [], outDir: out, config, fromPacs });
    assert.equal(summary.studies, 1, 'the 2019 study is outside the date range');
    assert.deepEqual(readdirSync(join(out, 'pacs')), ['2.25.888000111']);
    assert.equal(readdirSync(join(out, 'pacs', '2.25.888000111')).length, soft.files.length, 'only the soft-tissue series is retrieved');
    const [row] = parse(readFileSync(join(out, 'results.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
    assert.equal(row.study_instance_uid, '2.25.888000111');
    assert.equal(row.series_instance_uid, '2.25.888000112');
    assert.equal(row.accession_number, 'ACC-1');
    assert.equal(row.status, 'ok', row.message);

    const studyDir = join(out, 'pacs', '2.25.888000111');
    const mtimes = () => readdirSync(studyDir).map((f) => statSync(join(studyDir, f)).mtimeMs);
    const before = mtimes();
    const again = await runBatch({ paths: [], outDir: out, config, fromPacs });
    assert.deepEqual(mtimes(), before, 'nothing retrieved again');
    assert.equal(again.ran, 0);
    assert.equal(again.skipped, 1);
  });
});
