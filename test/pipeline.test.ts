/**
 * The pipeline's composition on a phantom: intake → volume → level → segmentation → report →
 * files. Most cases use stages that answer from the phantom's ground truth, so what is tested is
 * the plumbing (indices, headers, outputs); the last ones run the real stages as configured.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { scanBuffers } from '../src/dicom/scan.ts';
import { analyzeHeaders, UNAVAILABLE_STAGES } from '../src/pipeline/index.ts';
import { decodeMaskRle, generatePhantomStudy } from '../src/phantom/index.ts';
import { truthStages } from './support/truth-stages.ts';
import { readSegMask } from '../src/report/index.ts';
import { hasCommand, makeTempDir, repoRoot } from './support/env.ts';
import { sha256File } from '../src/segment/index.ts';

describe('pipeline', function () {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('ctmn-pipeline-')));
  afterEach(() => tmp.remove());

  async function phantomHeaders(orientation: 'HFS' | 'FFP', size = 128) {
    // 128² suffices for the plumbing; the real level finder needs L2 to T11 at 256² to count on.
    const levels = size === 128 ? { fromLevel: 'L1', toLevel: 'T11' } as const : { fromLevel: 'L2', toLevel: 'T11', sliceThicknessMm: 3 } as const;
    const study = await generatePhantomStudy({ rows: size, columns: size, ...levels, orientation, seed: 5 });
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

  // The real stages, configured as a site would: the SAM pipeline from a manifest (generated
  // SAM2 + YOLOv10 contract models) and a cut-off with its citation.
  it('runs the configured SAM pipeline and gives a verdict only from a configured cut-off', async () => {
    const fixtures = join(repoRoot, 'test', 'fixtures', 'models');
    const entry = async (id: string, kind: string, file: string, inputSize: number) => ({ id, kind, version: '0.0.1', file: join(fixtures, file), sha256: await sha256File(join(fixtures, file)), inputSize });
    const manifest = {
      manifestVersion: 1,
      models: [await entry('enc', 'sam2-encoder', 'sam2-encoder-test.onnx', 1024), await entry('dec', 'sam2-decoder', 'sam2-decoder-test.onnx', 1024), await entry('det', 'yolo', 'yolov10-test.onnx', 640)],
      pipelines: [{ id: 'site', version: '3.1.4', encoder: 'enc', decoder: 'dec', detector: 'det' }],
    };
    const manifestPath = join(tmp.path, 'models.json');
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const site = join(tmp.path, 'site.json');
    const citation = 'Test cut-off, not clinical (this test)';
    writeFileSync(site, JSON.stringify({ segmentation: { segmenter: 'sam', models: { manifest: manifestPath, pipeline: 'site' } }, measurement: { cutoffs: [{ sex: 'any', level: 'T12', areaBelow: 10_000, citation }] } }));
    const { headers } = await phantomHeaders('HFS', 256);
    const [result] = await analyzeHeaders(headers, { config: loadConfig({ file: site, env: {} }) });
    assert.equal(result.status, 'ok', result.message);
    assert.equal(result.level?.name, 'T12');
    assert.equal(result.segmenter?.id, 'ct-muscle-node/sam:site');
    assert.equal(result.segmenter?.version, '3.1.4');
    assert.match(result.segmenter?.prompt ?? '', /detector/);
    assert.deepEqual(result.segmenter?.runtime, { executionProvider: 'cpu', skipped: [] });
    assert.deepEqual(result.verdict && { lowMuscle: result.verdict.lowMuscle, measure: result.verdict.measure, citation: result.verdict.citation }, { lowMuscle: true, measure: 'area', citation });
    // Without cut-offs there is no verdict (never "normal" by default).
    const [plain] = await analyzeHeaders(headers, { config: loadConfig({ env: {} }) });
    assert.equal(plain.status, 'ok', plain.message);
    assert.equal(plain.verdict, null);
    assert.equal(plain.segmenter?.id, 'ct-muscle-node/anatomic');
    assert.equal(plain.segmenter?.runtime, undefined);
  });

  it('a configured model file that is missing fails the study with E_MODEL_FILE, naming the file', async () => {
    const manifestPath = join(tmp.path, 'models.json');
    const sha = '0'.repeat(64);
    writeFileSync(manifestPath, JSON.stringify({
      manifestVersion: 1,
      models: [{ id: 'enc', kind: 'sam2-encoder', version: '1', file: 'absent-encoder.onnx', sha256: sha, inputSize: 1024 }, { id: 'dec', kind: 'sam2-decoder', version: '1', file: 'absent-decoder.onnx', sha256: sha, inputSize: 1024 }],
      pipelines: [{ id: 'site', version: '1', encoder: 'enc', decoder: 'dec', detector: null }],
    }));
    const { headers } = await phantomHeaders('HFS', 256);
    const env = { CT_MUSCLE_NODE__SEGMENTATION__SEGMENTER: 'sam', CT_MUSCLE_NODE__SEGMENTATION__MODELS__MANIFEST: manifestPath, CT_MUSCLE_NODE__SEGMENTATION__MODELS__PIPELINE: 'site' };
    const [result] = await analyzeHeaders(headers, { config: loadConfig({ env }) });
    assert.equal(result.status, 'E_MODEL_FILE', result.message);
    assert.match(result.message, /absent-(en|de)coder\.onnx/);
    assert.equal(result.muscle, null);
  });
});
