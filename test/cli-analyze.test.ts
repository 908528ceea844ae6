/** `analyze --out` on the shared JPEG 2000 series (slice given): a SEG and an SR that dciodvfy accepts. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePhantomStudy } from '../src/phantom/index.ts';
import { dataPath, hasCommand, makeTempDir, repoRoot, requirePaths } from './support/env.ts';

describe('ct-muscle-node analyze --out', function () {
  this.timeout(120_000);
  it('writes seg.dcm, sr.dcm and result.json with 0 dciodvfy errors and lists them in its JSON line', function () {
    const dir = dataPath('totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_j2k');
    requirePaths(this, dir);
    const tmp = makeTempDir('ctmn-analyze-');
    try {
      const slice = '1.3.12.2.1107.5.1.4.60064.30000022120808113428000016588';
      const run = spawnSync(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), 'analyze', dir, '--slice', slice, '--out', tmp.path], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const line = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
      assert.equal(line.status, 'ok', line.message);
      assert.equal(line.level.sopInstanceUid, slice);
      assert.ok(line.muscle.areaCm2 > 20 && line.muscle.areaCm2 < 300, `area ${line.muscle.areaCm2}`);
      assert.equal(line.segmenter.id, 'ct-muscle-node/anatomic');
      for (const kind of ['seg', 'sr']) {
        const path = line.outputs[kind].path as string;
        if (hasCommand('dciodvfy')) {
          const check = spawnSync('dciodvfy', [path], { encoding: 'utf8' });
          assert.doesNotMatch(check.stderr, /^Error/m, `${kind}: ${check.stderr}`);
        }
      }
    } finally {
      tmp.remove();
    }
  });

  it('without --slice, reports what the level finder answers: never a T11 slice, an error code being an honest answer', function () {
    const dir = dataPath('totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_j2k');
    const tablePath = dataPath('derived', 'dicom_T11-T12_slice_table.json');
    requirePaths(this, dir, tablePath);
    const run = spawnSync(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), 'analyze', dir], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const line = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    if (line.status === 'ok') {
      const table = JSON.parse(readFileSync(tablePath, 'utf8')) as { rows: Array<{ SOPInstanceUID: string; T12_area_cm2: number; T11_area_cm2: number }> };
      const row = table.rows.find((r) => r.SOPInstanceUID === line.level.sopInstanceUid)!;
      assert.ok(row.T12_area_cm2 > row.T11_area_cm2, `measured a T11 slice ${line.level.sopInstanceUid}`);
      assert.equal(line.level.rule, 'mid-vertebral-body');
      assert.ok(Array.isArray(line.level.evidence.vertebrae));
    } else {
      assert.match(line.status, /^E_(LEVEL_NOT_IN_VIEW|INSUFFICIENT_COVERAGE|LEVEL_AMBIGUOUS)$/);
      assert.equal(line.muscle, null);
      assert.ok(line.message.length > 10);
    }
  });

  it('--slices body adds the body\'s slices, mean and range to the JSON line; --slices with another value is a usage error', async function () {
    const tmp = makeTempDir('ctmn-analyze-body-');
    try {
      const dir = join(tmp.path, 'study');
      await writePhantomStudy(dir, { rows: 256, columns: 256, fromLevel: 'L2', toLevel: 'T11', sliceThicknessMm: 3, seed: 5 });
      const cli = (...args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), 'analyze', dir, ...args], { encoding: 'utf8' });
      const run = cli('--slices', 'body');
      assert.equal(run.status, 0, run.stderr);
      const line = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
      assert.equal(line.status, 'ok', line.message);
      assert.ok(line.body.slices.length >= 3, JSON.stringify(line.body));
      assert.ok(line.body.slices.some((s: { sopInstanceUid: string }) => s.sopInstanceUid === line.level.sopInstanceUid));
      assert.ok(line.body.areaCm2.min <= line.muscle.areaCm2 && line.muscle.areaCm2 <= line.body.areaCm2.max);
      const bad = cli('--slices', 'all');
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--slices must be one of mid, body, not all/);
    } finally {
      tmp.remove();
    }
  });

  it('loads the ONNX runtime, Skia and the NIfTI reader only when asked: none for a DICOM folder with defaults, Skia with --overlay', async function () {
    const tmp = makeTempDir('ctmn-analyze-modules-');
    try {
      const dir = join(tmp.path, 'study');
      await writePhantomStudy(dir, { rows: 256, columns: 256, fromLevel: 'L2', toLevel: 'T11', sliceThicknessMm: 3, seed: 5 });
      // Every script the process parses, as the inspector reports it (ES modules and CommonJS alike).
      const recorder = join(tmp.path, 'record-scripts.cjs');
      writeFileSync(
        recorder,
        `const inspector = require('node:inspector'); const { writeFileSync } = require('node:fs');
const session = new inspector.Session(); session.connect(); const urls = [];
session.on('Debugger.scriptParsed', (m) => { if (m.params.url) urls.push(m.params.url); });
session.post('Debugger.enable');
process.on('exit', () => writeFileSync(process.env.SCRIPTS_OUT, urls.join('\\n')));
`,
      );
      const packagesLoaded = (name: string, ...args: string[]): string[] => {
        const out = join(tmp.path, `${name}.txt`);
        const run = spawnSync(process.execPath, ['--require', recorder, join(repoRoot, 'bin/ct-muscle-node.js'), 'analyze', dir, '--out', join(tmp.path, name), ...args], { encoding: 'utf8', env: { ...process.env, SCRIPTS_OUT: out } });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(JSON.parse(run.stdout.trim().split('\n').at(-1)!).status, 'ok');
        const urls = readFileSync(out, 'utf8').split('\n');
        return ['onnxruntime-node', '@napi-rs/canvas', 'nifti-reader-js'].filter((pkg) => urls.some((url) => url.includes(`/node_modules/${pkg}/`)));
      };
      assert.deepEqual(packagesLoaded('defaults'), []);
      assert.deepEqual(packagesLoaded('overlay', '--overlay'), ['@napi-rs/canvas']);
    } finally {
      tmp.remove();
    }
  });
});
