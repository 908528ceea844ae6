/** The correction loop: an edited SEG is re-measured and an amended SR references it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { parseDicom } from '../src/dicom/read.ts';
import { remeasureFromSeg } from '../src/correction.ts';
import { scanBuffers } from '../src/dicom/scan.ts';
import { analyzeHeaders } from '../src/pipeline/index.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { readSegMask, writeSeg } from '../src/report/index.ts';
import { hasCommand, makeTempDir, repoRoot } from './support/env.ts';
import { truthStages } from './support/truth-stages.ts';

describe('correction loop (remeasure)', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('ctmn-correction-')));
  afterEach(() => tmp.remove());

  it('re-measures an edited SEG and writes an amended SR that references it and says it was corrected', async () => {
    const study = await generatePhantomStudy({ rows: 128, columns: 128, fromLevel: 'L1', toLevel: 'T11', seed: 8 });
    const ctDir = join(tmp.path, 'ct');
    mkdirSync(ctDir);
    for (const f of study.files) writeFileSync(join(ctDir, f.fileName), f.bytes);
    const headers = scanBuffers(study.files.map((f) => ({ bytes: f.bytes, label: f.fileName }))).headers;
    const [original] = await analyzeHeaders(headers, { config: loadConfig({ env: {} }), stages: truthStages(study.truth), outDir: join(tmp.path, 'out') });
    assert.equal(original.status, 'ok');

    // A reader erases the left half of the mask in a viewer and stores the SEG back.
    const readout = await readSegMask(new Uint8Array(readFileSync(original.outputs.seg!.path)));
    const frame = readout.frames.find((f) => f.pixelCount > 0)!;
    const edited = frame.mask.slice();
    for (let r = 0; r < readout.rows; r++) for (let c = 0; c < readout.columns / 2; c++) edited[r * readout.columns + c] = 0;
    const keptPixels = edited.reduce((n, v) => n + v, 0);
    assert.ok(keptPixels > 0 && keptPixels < frame.pixelCount);
    const source = headers.find((h) => h.sopInstanceUid === frame.referencedSopInstanceUid)!;
    const editedSeg = writeSeg({
      source,
      level: original.level!,
      segmenter: { id: 'viewer-edit', version: '1' },
      flags: [],
      huWindow: { lowerHu: -29, upperHu: 150 },
      mask: edited,
      options: { revision: 'edit-1' },
    });
    const segPath = join(tmp.path, 'edited-seg.dcm');
    writeFileSync(segPath, editedSeg.bytes);

    const result = await remeasureFromSeg(segPath, [ctDir], { outDir: join(tmp.path, 'out') });
    assert.equal(result.editedSeg.sopInstanceUid, editedSeg.sopInstanceUid);
    assert.equal(result.muscle.pixelCount, keptPixels);
    assert.ok(result.muscle.areaCm2 < original.muscle!.areaCm2);
    const srPath = result.outputs.sr!.path;
    assert.notEqual(result.outputs.sr!.sopInstanceUid, original.outputs.sr!.sopInstanceUid);
    const sr = parseDicom(new Uint8Array(readFileSync(srPath))).dataset;
    assert.ok(JSON.stringify(sr.ContentSequence).includes(editedSeg.sopInstanceUid), 'the SR content references the edited SEG');
    assert.ok(JSON.stringify(sr.CurrentRequestedProcedureEvidenceSequence).includes(editedSeg.sopInstanceUid), 'and lists it as evidence');
    if (hasCommand('dsrdump')) {
      const tree = spawnSync('dsrdump', ['+Pl', srPath], { encoding: 'utf8' }).stdout;
      assert.match(tree, /corrected: re-measured from the edited segmentation/);
    }
    if (hasCommand('dciodvfy')) {
      const check = spawnSync('dciodvfy', [srPath], { encoding: 'utf8' });
      assert.doesNotMatch(check.stderr, /^Error/m, check.stderr);
    }

    // The same through the command line.
    const cli = spawnSync(process.execPath, [join(repoRoot, 'bin/ct-muscle-node.js'), 'remeasure', segPath, ctDir], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(JSON.parse(cli.stdout).muscle.pixelCount, keptPixels);
  });
});
