/**
 * Level and segmentation stages that answer from a phantom's ground truth, for testing the
 * plumbing around the stages (pipeline, node, write-back) independently of the stages themselves.
 */
import assert from 'node:assert/strict';
import type { Stages } from '../../src/pipeline/index.ts';
import { decodeMaskRle, type PhantomTruth } from '../../src/phantom/index.ts';

export function truthStages(truth: PhantomTruth): Stages {
  return {
    findLevel: ({ volume }) => {
      const index = volume.slices.findIndex((s) => s.sopInstanceUid === truth.t12.sopInstanceUid);
      return { name: 'T12', sliceIndex: index, sopInstanceUid: truth.t12.sopInstanceUid!, zMm: volume.slices[index].zMm, rule: 'mid-vertebral-body', method: 'phantom truth (test)', confidence: 1, warnings: [] };
    },
    segmentAndMeasure: ({ volume, sliceIndex }) => {
      assert.equal(volume.slices[sliceIndex].sopInstanceUid, truth.t12.sopInstanceUid);
      const mask = decodeMaskRle(truth.t12.muscleMask!);
      const pixelCount = mask.reduce((n, v) => n + v, 0);
      const areaCm2 = (pixelCount * volume.geometry.pixelSpacingMm[0] * volume.geometry.pixelSpacingMm[1]) / 100;
      return {
        mask,
        muscle: { areaCm2, meanHu: 40, sdHu: 10, imatAreaCm2: 1, lowAttenuationFraction: 0.1, smiCm2PerM2: null, pixelCount },
        segmenter: { id: 'test-truth', version: '1', prompt: null },
        flags: [],
      };
    },
  };
}
