/** `batch`: phantom studies through the pipeline on worker threads, resumable, tables and index.html. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { loadConfig } from '../src/config.ts';
import { runBatch } from '../src/batch/run-batch.ts';
import type { BatchEvent } from '../src/batch/types.ts';
import { scanPaths } from '../src/dicom/scan.ts';
import { analyzeHeaders } from '../src/pipeline/index.ts';
import { writePhantomStudy } from '../src/phantom/index.ts';
import { columnKeys, requireChromium, tableState, withPage } from './support/browser.ts';
import { makeTempDir, repoRoot } from './support/env.ts';

const PHANTOM = { rows: 160, columns: 160, fromLevel: 'L2', toLevel: 'T10' } as const;
const config = loadConfig({ env: {} });
type CsvRow = Record<string, string>;
const readCsv = (path: string): CsvRow[] => parse(readFileSync(path, 'utf8'), { columns: true }) as CsvRow[];

describe('batch', function () {
  this.timeout(300_000);
  let tmp: ReturnType<typeof makeTempDir>;
  const studyUids: string[] = [];
  let corruptUid = '';

  before(async () => {
    tmp = makeTempDir('ctmn-batch-');
    for (const seed of [1, 2, 3]) studyUids.push((await writePhantomStudy(join(tmp.path, 'in', `s${seed}`), { ...PHANTOM, seed })).truth.studyInstanceUid);
    // A study whose measured slice lost half its pixel data.
    const corrupt = await writePhantomStudy(join(tmp.path, 'in', 'corrupt'), { ...PHANTOM, seed: 4 });
    corruptUid = corrupt.truth.studyInstanceUid;
    const victim = join(tmp.path, 'in', 'corrupt', corrupt.truth.slices[corrupt.truth.t12.sliceIndex!].fileName!);
    truncateSync(victim, Math.floor(statSync(victim).size / 2));
  });
  after(() => tmp.remove());

  it('gives each study the figures single-study analyze gives; a corrupt study lands in errors.csv and the batch goes on', async () => {
    const events: BatchEvent[] = [];
    const out = join(tmp.path, 'out');
    const summary = await runBatch({ paths: [join(tmp.path, 'in')], outDir: out, config, concurrency: 2, progress: (e) => events.push(e) });
    assert.equal(summary.studies, 4);
    assert.equal(summary.ran, 4);
    assert.equal(summary.failed, 1);
    const rows = readCsv(join(out, 'results.csv'));
    assert.equal(rows.length, 4);
    for (const [k, uid] of studyUids.entries()) {
      const { headers } = await scanPaths([join(tmp.path, 'in', `s${k + 1}`)]);
      const [single] = await analyzeHeaders(headers, { config });
      const row = rows.find((r) => r.study_instance_uid === uid)!;
      assert.equal(single.status, 'ok', single.message);
      assert.equal(row.status, 'ok');
      assert.equal(row.level, single.level!.name);
      assert.equal(row.slice_sop_instance_uid, single.level!.sopInstanceUid);
      assert.equal(Number(row.sma_cm2), single.muscle!.areaCm2);
      assert.equal(Number(row.smra_mean_hu), single.muscle!.meanHu);
      assert.equal(Number(row.smra_sd_hu), single.muscle!.sdHu);
      assert.equal(Number(row.imat_cm2), single.muscle!.imatAreaCm2);
      assert.equal(Number(row.low_attenuation_fraction), single.muscle!.lowAttenuationFraction);
      assert.equal(row.smi_cm2_per_m2 === '' ? null : Number(row.smi_cm2_per_m2), single.muscle!.smiCm2PerM2);
      assert.equal(row.segmenter_version, single.segmenter!.version);
      assert.equal(row.patient_sex, 'M');
      assert.ok(existsSync(join(out, 'thumbnails', `${uid}.png`)));
    }
    const errors = readCsv(join(out, 'errors.csv')).filter((e) => e.study_instance_uid === corruptUid);
    assert.equal(errors.length, 1);
    assert.match(errors[0].code, /^E_/);
    assert.equal(rows.find((r) => r.study_instance_uid === corruptUid)!.status, errors[0].code);
    assert.deepEqual(events.map((e) => e.event), ['start', 'study', 'study', 'study', 'study', 'end']);
  });

  it('a second run skips the studies done; failed ones run again only with retryFailed', async () => {
    const out = join(tmp.path, 'out');
    const again: BatchEvent[] = [];
    const second = await runBatch({ paths: [join(tmp.path, 'in')], outDir: out, config, progress: (e) => again.push(e) });
    assert.equal(second.ran, 0);
    assert.equal(second.skipped, 4);
    assert.equal(readCsv(join(out, 'results.csv')).length, 4, 'the tables still list every study');
    const retry = await runBatch({ paths: [join(tmp.path, 'in')], outDir: out, config, retryFailed: true });
    assert.equal(retry.ran, 1);
    assert.equal(retry.skipped, 3);
  });

  it('measurement.slices "body": results.csv carries the body\'s slices, mean and range beside the mid-slice figures; a study done with "mid" runs again', async () => {
    const out = join(tmp.path, 'out-body');
    const input = [join(tmp.path, 'in', 's1')];
    assert.equal((await runBatch({ paths: input, outDir: out, config })).ran, 1);
    const midRow = readCsv(join(out, 'results.csv'))[0];
    assert.deepEqual([midRow.body_slices, midRow.body_sma_mean_cm2], ['', ''], '"mid" leaves the body columns empty');
    const bodyConfig = loadConfig({ env: { CT_MUSCLE_NODE__MEASUREMENT__SLICES: 'body' } });
    assert.equal((await runBatch({ paths: input, outDir: out, config: bodyConfig })).ran, 1, 'not skipped as done');
    const { headers } = await scanPaths(input);
    const [single] = await analyzeHeaders(headers, { config: bodyConfig });
    const row = readCsv(join(out, 'results.csv'))[0];
    assert.equal(Number(row.sma_cm2), single.muscle!.areaCm2);
    assert.equal(Number(row.body_slices), single.body!.slices.length);
    assert.equal(Number(row.body_sma_mean_cm2), single.body!.areaCm2.mean);
    assert.equal(Number(row.body_sma_min_cm2), single.body!.areaCm2.min);
    assert.equal(Number(row.body_sma_max_cm2), single.body!.areaCm2.max);
    assert.match(readFileSync(join(out, 'index.html'), 'utf8'), /body SMA mean \(range\), cm²/);
  });

  it('--dicom writes the SEG, SR and result.json of each study', async () => {
    const out = join(tmp.path, 'out-dicom');
    const summary = await runBatch({ paths: [join(tmp.path, 'in', 's1')], outDir: out, config, dicom: true });
    assert.equal(summary.ran, 1);
    for (const name of ['seg.dcm', 'sr.dcm', 'result.json']) assert.ok(existsSync(join(out, 'studies', studyUids[0], name)), name);
    const result = JSON.parse(readFileSync(join(out, 'studies', studyUids[0], 'result.json'), 'utf8'));
    assert.equal(JSON.stringify(result).includes(studyUids[0]), true);
  });

  it('index.html opens in Chromium with a row and a thumbnail per measured study, and sorts', async function () {
    requireChromium(this);
    const index = join(tmp.path, 'out', 'index.html');
    await withPage(index, async (page) => {
      const state = await tableState(page, 'studies');
      assert.deepEqual(state, { rows: 4, images: 3, loaded: 3 });
      await page.click('#studies th:has-text("SMA")');
      const areas = await columnKeys(page, 'studies', 9);
      const numbers = areas.filter((a) => a !== '').map(Number);
      assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
      assert.equal(areas.at(-1), '', 'the unmeasured study sorts last');
    });
  });

  it('Ctrl-C (SIGINT) stops after the study in progress, writes the tables, exits 130; the next run does the rest', async () => {
    const out = join(tmp.path, 'out-sigint');
    const cli = join(repoRoot, 'bin/ct-muscle-node.js');
    const child = spawn(process.execPath, [cli, 'batch', join(tmp.path, 'in'), '--out', out, '--concurrency', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/"event":"study"/.test(stdout) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 130);
    const done = readCsv(join(out, 'results.csv')).length;
    assert.ok(done >= 1 && done < 4, `${done} studies done before the stop`);
    const rest = await runBatch({ paths: [join(tmp.path, 'in')], outDir: out, config });
    assert.equal(rest.ran, 4 - done);
    assert.equal(readCsv(join(out, 'results.csv')).length, 4);
  });
});
