/**
 * The pipeline decodes a series once, slice by slice, onto the level finder's working grid and
 * re-reads only the measured slices at full resolution (issue #16: memory). This compares it with
 * the full-resolution path (the whole volume held, the stack built from it, the segmenter run on
 * that volume): the same working stack, the same level, the same slice, mask and figures.
 */
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config.ts';
import { stringValue } from '../src/dicom/dataset-values.ts';
import { patientHeightM } from '../src/dicom/patient.ts';
import { scanBuffers, scanPaths } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import type { CtVolume, InstanceHeader } from '../src/dicom/types.ts';
import { buildVolume } from '../src/dicom/volume.ts';
import { describeError } from '../src/errors.ts';
import { findLevel } from '../src/level/index.ts';
import { canonicalSlice } from '../src/level/canonical.ts';
import { buildStack, startStack, type WorkStack } from '../src/level/stack.ts';
import { levelInfoOf, type LevelInfo } from '../src/model/index.ts';
import { analyzeHeaders, DEFAULT_STAGES, type SegmentStageInput, type SegmentStageOutput, type Stages } from '../src/pipeline/index.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { dataPath, requirePaths } from './support/env.ts';

const config = loadConfig({ env: {} });

interface Outcome {
  level: LevelInfo | { code: string; message: string };
  /** The measured slice's SOP Instance UID and what was measured on it (absent when no level). */
  measured?: { sopInstanceUid: string; output: SegmentStageOutput; hu: Int16Array };
  stack?: WorkStack | null;
}

/** The full-resolution path: the whole volume held, the level found on it, the segmenter run on it. */
async function fullResolution(headers: InstanceHeader[], sliceSopInstanceUid?: string): Promise<Outcome> {
  const volume: CtVolume = await buildVolume(groupIntoSeries(headers)[0]);
  let level: LevelInfo;
  try {
    level = levelInfoOf(findLevel(volume, { sopInstanceUid: sliceSopInstanceUid, target: config.level.target }));
  } catch (error) {
    return { level: describeError(error) };
  }
  const sliceIndex = volume.slices.findIndex((s) => s.sopInstanceUid === level.sopInstanceUid);
  const source = headers.find((h) => h.sopInstanceUid === level.sopInstanceUid)!;
  const output = await DEFAULT_STAGES.segmentAndMeasure({
    volume,
    sliceIndex,
    patient: { heightM: patientHeightM(source), sex: stringValue(source.dataset, 'PatientSex') },
    segmenter: 'default',
    levelName: level.name,
    segmentation: config.segmentation,
    measurement: config.measurement,
  });
  const n = volume.geometry.rows * volume.geometry.columns;
  const stack = sliceSopInstanceUid ? undefined : buildStack(volume);
  return { level, measured: { sopInstanceUid: level.sopInstanceUid, output, hu: volume.hu.slice(sliceIndex * n, (sliceIndex + 1) * n) }, stack };
}

/** The pipeline as `analyze` runs it, with the default stages; what they were given is kept. */
async function pipeline(headers: InstanceHeader[], sliceSopInstanceUid?: string): Promise<Outcome> {
  let stack: WorkStack | null | undefined;
  let seen: { input: SegmentStageInput; output: SegmentStageOutput } | undefined;
  const stages: Stages = {
    findLevel: (input) => {
      stack = input.stack;
      return DEFAULT_STAGES.findLevel(input);
    },
    segmentAndMeasure: async (input) => {
      const output = await DEFAULT_STAGES.segmentAndMeasure(input);
      seen = { input, output };
      return output;
    },
  };
  const [result] = await analyzeHeaders(headers, { config: { ...config, segmentation: { ...config.segmentation, segmenter: 'default' } }, stages, sliceSopInstanceUid });
  if (!result.level) return { level: { code: result.status, message: result.message } };
  if (!seen) return { level: result.level, stack };
  const { volume, sliceIndex } = seen.input;
  const n = volume.geometry.rows * volume.geometry.columns;
  // Only the chosen slice and the neighbours the segmenter sees were read at full resolution.
  assert.ok(volume.slices.length <= 3, `${volume.slices.length} slices held at full resolution`);
  return { level: result.level, measured: { sopInstanceUid: volume.slices[sliceIndex].sopInstanceUid, output: seen.output, hu: volume.hu.slice(sliceIndex * n, (sliceIndex + 1) * n) }, stack };
}

function assertSameStack(actual: WorkStack | null | undefined, expected: WorkStack | null | undefined): void {
  if (!expected) return;
  assert.ok(actual, 'the pipeline built a working stack');
  assert.deepEqual([actual.width, actual.height, actual.depth, actual.mm], [expected.width, expected.height, expected.depth, expected.mm]);
  assert.ok(Buffer.from(actual.hu.buffer).equals(Buffer.from(expected.hu.buffer)), 'working-grid HU');
  assert.ok(Buffer.from(actual.body).equals(Buffer.from(expected.body)), 'body mask');
  assert.deepEqual([actual.centreX, actual.centreY, actual.zMm], [expected.centreX, expected.centreY, expected.zMm]);
}

async function assertSameOutcome(headers: InstanceHeader[], sliceSopInstanceUid?: string): Promise<Outcome> {
  const expected = await fullResolution(headers, sliceSopInstanceUid);
  const actual = await pipeline(headers, sliceSopInstanceUid);
  assert.deepEqual(actual.level, expected.level);
  assertSameStack(actual.stack, expected.stack);
  assert.equal(actual.measured?.sopInstanceUid, expected.measured?.sopInstanceUid);
  if (expected.measured) {
    const [a, e] = [actual.measured!, expected.measured];
    assert.ok(Buffer.from(a.hu.buffer).equals(Buffer.from(e.hu.buffer)), 'the measured slice HU');
    assert.ok(Buffer.from(a.output.mask).equals(Buffer.from(e.output.mask)), 'the mask');
    assert.deepEqual(a.output.muscle, e.output.muscle);
    assert.deepEqual([a.output.flags, a.output.verdict], [e.output.flags, e.output.verdict]);
  }
  return expected;
}

describe('level grid built while decoding: the same slice, mask and figures as the full-resolution volume', function () {
  this.timeout(180000);

  for (const orientation of ['HFS', 'FFS', 'HFP', 'FFP'] as const) {
    it(`phantom ${orientation}, L2 to T11, arms and table`, async () => {
      const study = await generatePhantomStudy({ rows: 256, columns: 256, fromLevel: 'L2', toLevel: 'T11', sliceThicknessMm: 3, orientation, arms: true, seed: 11 });
      const { headers } = scanBuffers(study.files.map((f) => ({ bytes: f.bytes, label: f.fileName })));
      const expected = await assertSameOutcome(headers);
      // The comparison is only worth something where the level was found and a mask drawn.
      assert.equal((expected.level as LevelInfo).name, 'T12');
      assert.ok(expected.measured!.output.muscle.areaCm2 > 0);
    });
  }

  it('a slice chosen by a person is measured alike (phantom, first slice: one neighbour only)', async () => {
    const study = await generatePhantomStudy({ rows: 128, columns: 128, fromLevel: 'L1', toLevel: 'T11', seed: 5 });
    const { headers } = scanBuffers(study.files.map((f) => ({ bytes: f.bytes, label: f.fileName })));
    const lowest = [...headers].sort((a, b) => a.imagePositionPatient![2] - b.imagePositionPatient![2])[0].sopInstanceUid;
    await assertSameOutcome(headers, lowest);
    await assertSameOutcome(headers, study.truth.t12.sopInstanceUid!);
  });

  it('measurement.slices "body": every body slice measured alike (phantom HFS)', async () => {
    const study = await generatePhantomStudy({ rows: 256, columns: 256, fromLevel: 'L2', toLevel: 'T11', sliceThicknessMm: 3, arms: true, seed: 11 });
    const { headers } = scanBuffers(study.files.map((f) => ({ bytes: f.bytes, label: f.fileName })));
    const bodyConfig = loadConfig({ env: { CT_MUSCLE_NODE__MEASUREMENT__SLICES: 'body' } });
    const seen = new Map<string, { output: SegmentStageOutput; held: number }>();
    const stages: Stages = {
      findLevel: (input) => DEFAULT_STAGES.findLevel(input),
      segmentAndMeasure: async (input) => {
        const output = await DEFAULT_STAGES.segmentAndMeasure(input);
        seen.set(input.volume.slices[input.sliceIndex].sopInstanceUid, { output, held: input.volume.slices.length });
        return output;
      },
    };
    const [result] = await analyzeHeaders(headers, { config: bodyConfig, stages });
    assert.ok(result.body && result.body.slices.length >= 3, JSON.stringify(result.body?.rule));
    // The reference: the whole volume held, each of the same body slices segmented on it.
    const volume = await buildVolume(groupIntoSeries(headers)[0]);
    for (const slice of result.body.slices) {
      const k = volume.slices.findIndex((s) => s.sopInstanceUid === slice.sopInstanceUid);
      assert.equal(k, slice.sliceIndex, 'series index');
      const source = headers.find((h) => h.sopInstanceUid === slice.sopInstanceUid)!;
      const expected = await DEFAULT_STAGES.segmentAndMeasure({
        volume,
        sliceIndex: k,
        patient: { heightM: patientHeightM(source), sex: stringValue(source.dataset, 'PatientSex') },
        segmenter: bodyConfig.segmentation.segmenter,
        levelName: result.level!.name,
        segmentation: bodyConfig.segmentation,
        measurement: bodyConfig.measurement,
      });
      const actual = seen.get(slice.sopInstanceUid)!;
      assert.ok(Buffer.from(actual.output.mask).equals(Buffer.from(expected.mask)), `mask of ${slice.sopInstanceUid}`);
      assert.deepEqual(actual.output.muscle, expected.muscle);
      assert.deepEqual(slice.muscle, expected.muscle);
      // The body's slices and their neighbours were re-read, not the series.
      assert.ok(actual.held <= result.body.slices.length + 2, `${actual.held} slices held`);
    }
  });

  for (const form of ['uid_repaired_uncompressed', 'uid_repaired_j2k']) {
    it(`shared real CT, DICOM T11/T12 (${form}): the level outcome, and a chosen slice's mask`, async function () {
      const dir = dataPath('totalsegmentator_example_ct_dicom_T11-T12', form);
      requirePaths(this, dir);
      const { headers } = await scanPaths([dir]);
      await assertSameOutcome(headers);
      const middle = [...headers].sort((a, b) => a.imagePositionPatient![2] - b.imagePositionPatient![2])[10].sopInstanceUid;
      const expected = await assertSameOutcome(headers, middle);
      assert.ok(expected.measured!.output.muscle.areaCm2 > 0);
    });
  }
});

describe('working stack: a slice put on the grid elsewhere (addGridSlice) equals one added at full resolution', () => {
  it('same HU, body bits and centres; a slice of the wrong size is refused', async () => {
    const study = await generatePhantomStudy({ rows: 128, columns: 128, fromLevel: 'L1', toLevel: 'T12', sliceThicknessMm: 5, arms: true, seed: 3 });
    const { headers } = scanBuffers(study.files.map((f) => ({ bytes: f.bytes, label: f.fileName })));
    const volume = await buildVolume(groupIntoSeries(headers)[0]);
    const expected = buildStack(volume);
    const builder = startStack(volume.geometry, volume.slices);
    const n = volume.geometry.rows * volume.geometry.columns;
    // In reverse order: a worker pool hands slices back in any order.
    for (let k = volume.slices.length - 1; k >= 0; k--) builder.addGridSlice(k, canonicalSlice(volume.hu, k * n, volume.paddingHu, builder.grid));
    assertSameStack(builder.finish(), expected);
    assert.throws(() => builder.addGridSlice(0, new Int16Array(3)), RangeError);
  });
});
