/**
 * The pipeline's composition on a phantom: intake → volume → level → segmentation → report →
 * files. The level and segmentation stages here answer from the phantom's ground truth, so what
 * is tested is the plumbing (indices, headers, outputs), not the stages themselves.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig } from '../src/config.ts';
import { scanBuffers } from '../src/dicom/scan.ts';
import { analyzeHeaders, UNAVAILABLE_STAGES } from '../src/pipeline.ts';
import { decodeMaskRle, generatePhantomStudy } from '../src/phantom/index.ts';
import { truthStages } from './support/truth-stages.ts';
import { readSegMask } from '../src/report/index.ts';
import { hasCommand, makeTempDir } from './support/env.ts';

describe('pipeline', function () {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('ctmn-pipeline-')));
  afterEach(() => tmp.remove());

  async function phantomHeaders(orientation: 'HFS' | 'FFP') {
    const study = await generatePhantomStudy({ rows: 128, columns: 128, fromLevel: 'L1', toLevel: 'T11', orientation, seed: 5 });
    return { study, headers: scanBuffers(study.files.map((f) => ({ bytes: f.bytes, label: f.fileName }))).headers };
  }

  for (const orientation of ['HFS', 'FFP'] as const) {
    it(`${orientation}: writes a SEG on the level's slice, an SR and result.json, and reports them`, async () => {
      const { study, headers } = await phantomHeaders(orientation);
      const [result] = await analyzeHeaders(headers, { config: loadConfig({ env: {} }), stages: truthStages(study.truth), outDir: tmp.path, created: new Date('2025-01-01T00:00:00Z') });
      assert.equal(result.status, 'ok', result.message);
      assert.equal(result.level?.sopInstanceUid, study.truth.t12.sopInstanceUid);
      const seg = result.outputs.seg!;
      const sr = result.outputs.sr!;
      assert.ok(existsSync(seg.path) && existsSync(sr.path) && existsSync(result.outputs.json!));
      const readout = await readSegMask(new Uint8Array(readFileSync(seg.path)));
      assert.equal(readout.frames[0].referencedSopInstanceUid, study.truth.t12.sopInstanceUid);
      assert.deepEqual(readout.frames[0].mask, decodeMaskRle(study.truth.t12.muscleMask!));
      if (hasCommand('dciodvfy')) {
        for (const path of [seg.path, sr.path]) {
          const check = spawnSync('dciodvfy', [path], { encoding: 'utf8' });
          assert.doesNotMatch(check.stderr, /^Error/m, check.stderr);
        }
      }
    });
  }

  it('measures a user-selected slice without the level finder', async () => {
    const { study, headers } = await phantomHeaders('HFS');
    const stages = truthStages(study.truth);
    stages.findLevel = () => assert.fail('the level finder must not run when a slice is given');
    const [result] = await analyzeHeaders(headers, { config: loadConfig({ env: {} }), stages, sliceSopInstanceUid: study.truth.t12.sopInstanceUid! });
    assert.equal(result.status, 'ok');
    assert.equal(result.level?.name, 'as-provided');
  });

  it('fails a study with E_STAGE_UNAVAILABLE when a stage is missing, and E_SLICE_NOT_FOUND for an unknown slice', async () => {
    const { headers } = await phantomHeaders('HFS');
    const config = loadConfig({ env: {} });
    const [missing] = await analyzeHeaders(headers, { config, stages: UNAVAILABLE_STAGES });
    assert.equal(missing.status, 'E_STAGE_UNAVAILABLE');
    assert.equal(missing.muscle, null);
    const [unknown] = await analyzeHeaders(headers, { config, sliceSopInstanceUid: '1.2.3' });
    assert.equal(unknown.status, 'E_SLICE_NOT_FOUND');
  });
});
