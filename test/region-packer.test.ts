/**
 * The working stack's body found where a slice is decoded (LargestRegionPacker, src/image/runs.ts)
 * is the body the stack finds itself: the same bits and centre, on images of many shapes.
 */
import assert from 'node:assert/strict';
import { LargestRegionPacker } from '../src/image/runs.ts';
import { BODY_HU, bodyMaskOf, packBodyMask, startStack } from '../src/level/stack.ts';
import type { VolumeGeometry } from '../src/dicom/types.ts';
import { blobMask } from './support/random-mask.ts';

/** A slice whose pixels above BODY_HU are `mask`'s (air −1000 elsewhere, soft tissue inside). */
function sliceOf(mask: Uint8Array): Int16Array {
  return Int16Array.from(mask, (m, i) => (m ? 40 + (i % 7) : -1000 + (i % 3) * 200));
}

describe('largest region packed where the slice is decoded', () => {
  it('packs the region bodyMaskOf finds (salt and blobs, widths on a byte or not, empty images)', () => {
    const shapes: Array<[number, number]> = [[64, 64], [37, 53], [1, 9], [40, 1]];
    for (const [rows, columns] of shapes) {
      const packer = new LargestRegionPacker(rows, columns);
      const bits = new Uint8Array(Math.ceil((rows * columns) / 8));
      for (let seed = 1; seed <= 12; seed++) {
        const mask = seed === 12 ? new Uint8Array(rows * columns) : blobMask(seed, rows, columns, 0.3 + seed * 0.03, seed % 3 === 0);
        const slice = sliceOf(mask);
        bits.fill(0xff);
        packer.pack(slice, BODY_HU, bits);
        assert.deepEqual(bits, packBodyMask(bodyMaskOf(slice, columns, rows)), `${rows}×${columns}, seed ${seed}`);
      }
    }
  });

  it('a stack filed with the packed bodies equals one that found the bodies itself', () => {
    const geometry = { rows: 96, columns: 96, rowCosine: [1, 0, 0], columnCosine: [0, 1, 0], normal: [0, 0, 1], plane: 'axial', pixelSpacingMm: [4, 4], sliceSpacingMm: 5, sliceThicknessMm: 5, gantryTiltDeg: 0 } as VolumeGeometry;
    const slices = Array.from({ length: 6 }, (_, k) => ({ zMm: 5 * k }));
    const itself = startStack(geometry, slices);
    const packed = startStack(geometry, slices);
    const { width, height } = itself.grid;
    const packer = new LargestRegionPacker(height, width);
    for (let k = 0; k < slices.length; k++) {
      const slice = sliceOf(blobMask(100 + k, height, width, 0.45));
      itself.addGridSlice(k, slice);
      packer.pack(slice, packed.body.thresholdHu, packed.body.bits(k));
      packed.addGridSlice(k, slice, { bits: packed.body.bits(k) });
    }
    const [a, b] = [itself.finish(), packed.finish()];
    assert.deepEqual(b.body, a.body);
    assert.deepEqual(b.centreX, a.centreX);
    assert.deepEqual(b.centreY, a.centreY);
  });
});
