/**
 * Block averaging of one slice onto a coarser grid given by a lookup table: each grid pixel is the
 * mean of a factor × factor block of source pixels (padding counted as air, −1000 HU), or air
 * where it lies outside the image. The level finder's working grid (src/level/canonical.ts) is
 * such a table; it lives here, apart from the level finder, so that a decoding worker thread
 * (src/dicom) can put slices on the grid where they are decoded.
 *
 * This runs for every slice of every series, so the usual block sizes (1: thick-pixel or 256²
 * images; 2: 512² at 0.6–0.9 mm) have loops of their own with the block unrolled; the general
 * loop gives the same values for them (the tests compare all three). Block size 2 runs on the
 * SIMD kernel where it can (`halveSimd`: the whole slice halved, then looked up per grid pixel).
 */
import { gridOfHalvedSimd } from './simd.ts';

export interface BlockGrid {
  width: number;
  height: number;
  /** Source-pixel offset (within a slice) of the top-left pixel of each grid pixel's block; −1 outside the image. */
  sourceIndex: Int32Array;
  /** Block size (source pixels per grid pixel along each axis). */
  factor: number;
  sourceColumns: number;
  /**
   * Block size 2 only, where every block starts on an even row and column: the grid pixel's block
   * in the slice halved by 2 × 2 block means (`index`, −1 outside the image; the halved slice is
   * ⌊columns/2⌋ wide) and how many source rows the blocks reach (`rows`, even). With it, the SIMD
   * kernel halves the whole slice and looks the grid up in it. Derived from `sourceIndex` where
   * the grid is made (canonicalGrid): a copy with another `sourceIndex` must not carry it.
   */
  halved?: { index: Int32Array; rows: number };
}

/** The slice in `hu` from offset `base` on the grid, into `image` (width × height), which is returned. */
export function averageOntoBlockGrid(hu: Int16Array, base: number, paddingHu: number, grid: BlockGrid, image: Int16Array): Int16Array {
  if (grid.factor === 1) copySlice(hu, base, paddingHu, grid.sourceIndex, image);
  else if (grid.factor === 2) {
    if (!halvedOntoGrid(hu, base, paddingHu, grid, image)) averageBlocksOfTwo(hu, base, paddingHu, grid, image);
  }
  else averageBlocks(hu, base, paddingHu, grid, image);
  return image;
}

function copySlice(hu: Int16Array, base: number, padding: number, sourceIndex: Int32Array, image: Int16Array): void {
  for (let p = 0; p < image.length; p++) {
    const s = sourceIndex[p];
    if (s < 0) {
      image[p] = -1000;
      continue;
    }
    const v = hu[base + s];
    image[p] = v === padding ? -1000 : v;
  }
}

/** Block size 2 on the SIMD kernel, for a grid that says where its blocks lie in the halved slice; false (nothing written) otherwise. */
function halvedOntoGrid(hu: Int16Array, base: number, padding: number, grid: BlockGrid, image: Int16Array): boolean {
  return grid.halved !== undefined && gridOfHalvedSimd(hu, base, grid.halved.rows, grid.sourceColumns, padding, grid.halved.index, image);
}

/** 2 × 2 blocks: Math.round(sum / 4) of an integer sum is floor((sum + 2) / 4), i.e. (sum + 2) >> 2. */
function averageBlocksOfTwo(hu: Int16Array, base: number, padding: number, grid: BlockGrid, image: Int16Array): void {
  const { sourceIndex, sourceColumns: columns } = grid;
  for (let p = 0; p < image.length; p++) {
    const s = sourceIndex[p];
    if (s < 0) {
      image[p] = -1000;
      continue;
    }
    const i = base + s;
    const a = hu[i];
    const b = hu[i + 1];
    const c = hu[i + columns];
    const d = hu[i + columns + 1];
    const sum = (a === padding ? -1000 : a) + (b === padding ? -1000 : b) + (c === padding ? -1000 : c) + (d === padding ? -1000 : d);
    image[p] = (sum + 2) >> 2;
  }
}

/** Any block size: the mean of factor² source pixels (padding as air), rounded half up. */
export function averageBlocks(hu: Int16Array, base: number, padding: number, grid: BlockGrid, image: Int16Array): void {
  const { factor, sourceIndex, sourceColumns: columns } = grid;
  const n = factor * factor;
  for (let p = 0; p < image.length; p++) {
    const s = sourceIndex[p];
    if (s < 0) {
      image[p] = -1000;
      continue;
    }
    let sum = 0;
    for (let dr = 0; dr < factor; dr++) {
      const row = base + s + dr * columns;
      for (let dc = 0; dc < factor; dc++) {
        const v = hu[row + dc];
        sum += v === padding ? -1000 : v;
      }
    }
    image[p] = Math.round(sum / n);
  }
}

/**
 * A slice already halved (⌊columns/2⌋ wide, e.g. decoded at half resolution) looked up onto a
 * grid of 2 × 2 blocks through its `halved.index`, padding as air; into `image`, which is returned.
 */
export function halvedSliceOntoGrid(halved: Int16Array, padding: number, halvedIndex: Int32Array, image: Int16Array): Int16Array {
  // A lookup through an index, as a grid of 1 × 1 blocks copies its slice.
  copySlice(halved, 0, padding, halvedIndex, image);
  return image;
}
