/**
 * The pipeline's stages with the measured slice kept aside: the batch draws a thumbnail of it and
 * validate compares its mask with the reader's. The stages run unchanged; only their output is seen.
 * The first slice measured is kept: the level's (measurement.slices "body" measures the rest after it).
 */
import { DEFAULT_STAGES, type Stages } from '../pipeline/index.ts';

export interface CapturedSlice {
  sliceIndex: number;
  rows: number;
  columns: number;
  pixelSpacingMm: [number, number];
  /** HU of the measured slice (a copy), rows × columns. */
  hu: Int16Array;
  /** The segmenter's mask on that slice, 0/1. */
  mask: Uint8Array;
}

export function capturingStages(base: Stages = DEFAULT_STAGES): { stages: Stages; captured: () => CapturedSlice | null } {
  let captured: CapturedSlice | null = null;
  const stages: Stages = {
    findLevel: (input) => base.findLevel(input),
    segmentAndMeasure: async (input) => {
      const output = await base.segmentAndMeasure(input);
      // The level's slice is measured first; with measurement.slices "body" the other body slices follow.
      if (captured) return output;
      const { rows, columns, pixelSpacingMm } = input.volume.geometry;
      const n = rows * columns;
      const hu = input.volume.hu.slice(input.sliceIndex * n, (input.sliceIndex + 1) * n);
      captured = { sliceIndex: input.sliceIndex, rows, columns, pixelSpacingMm, hu, mask: output.mask };
      return output;
    },
  };
  return { stages, captured: () => captured };
}
