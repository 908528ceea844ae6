/**
 * The largest 8-connected region of a binary image, found on its runs (maximal horizontal
 * stretches of set pixels) joined by union-find, in buffers kept from one image to the next.
 *
 * The working stack needs the body region of every slice of a series (hundreds of images): a
 * pixel-wise flood fill (`largestComponent` in morphology.ts) visits eight neighbours per pixel
 * and allocates its label image each time, while a body slice has a few runs per row. The region
 * chosen is the same: the largest, and among equally large ones the one whose first pixel comes
 * first in row-major order (flood-fill labels are numbered in that order).
 */

export interface RegionRuns {
  /** Runs found in the image, row-major; run i covers row runRow[i], columns [runStart[i], runEnd[i]). */
  count: number;
  runRow: Int32Array;
  runStart: Int32Array;
  runEnd: Int32Array;
  /** The region of each run, named by its first run's index (valid for i < count). */
  region: Int32Array;
  /** The largest region's name (index of its first run); −1 when the image has no set pixel. */
  largest: number;
}

export class LargestRegionFinder {
  private readonly runs: RegionRuns;
  private readonly parent: Int32Array;
  private readonly size: Float64Array;

  constructor(
    readonly rows: number,
    readonly columns: number,
  ) {
    // At most one run per two columns (set pixels separated by at least one unset one).
    const capacity = rows * Math.ceil(columns / 2);
    this.runs = { count: 0, runRow: new Int32Array(capacity), runStart: new Int32Array(capacity), runEnd: new Int32Array(capacity), region: new Int32Array(capacity), largest: -1 };
    this.parent = new Int32Array(capacity);
    this.size = new Float64Array(capacity);
  }

  /**
   * The runs of `mask` (rows × columns, non-zero = set) with their regions and the largest one.
   * The returned arrays are this finder's and are overwritten by the next call.
   */
  find(mask: Uint8Array): RegionRuns {
    return this.findAbove(mask, 0);
  }

  /**
   * The same for the pixels of `image` (rows × columns) above `threshold`: a thresholded image
   * needs no mask made first, so it is read once (the working stack does this for every slice).
   */
  findAbove(image: Uint8Array | Int16Array, threshold: number): RegionRuns {
    const { rows, columns, parent } = this;
    if (image.length !== rows * columns) throw new RangeError(`The mask has ${image.length} pixels, not ${rows} × ${columns}.`);
    const { runRow, runStart, runEnd } = this.runs;
    let count = 0;
    let previousFrom = 0;
    let previousTo = 0;
    for (let r = 0; r < rows; r++) {
      const rowBase = r * columns;
      const from = count;
      for (let c = 0; c < columns; c++) {
        if (image[rowBase + c] <= threshold) continue;
        const start = c;
        while (c < columns && image[rowBase + c] > threshold) c++;
        runRow[count] = r;
        runStart[count] = start;
        runEnd[count] = c;
        parent[count] = count;
        count++;
      }
      this.joinToRowAbove(from, count, previousFrom, previousTo);
      previousFrom = from;
      previousTo = count;
    }
    this.runs.count = count;
    this.runs.largest = this.labelRegions(count);
    return this.runs;
  }

  /** Join each run of this row to the runs of the row above it touches (8-connected: diagonals count). */
  private joinToRowAbove(from: number, to: number, aboveFrom: number, aboveTo: number): void {
    const { runStart, runEnd } = this.runs;
    let j = aboveFrom;
    for (let i = from; i < to; i++) {
      // Runs above that end before this one starts (less one pixel, the diagonal) cannot touch it or the next.
      while (j < aboveTo && runEnd[j] < runStart[i]) j++;
      for (let k = j; k < aboveTo && runStart[k] <= runEnd[i]; k++) this.union(i, k);
    }
  }

  private root(i: number): number {
    const parent = this.parent;
    let r = i;
    while (parent[r] !== r) r = parent[r];
    while (parent[i] !== r) {
      const next = parent[i];
      parent[i] = r;
      i = next;
    }
    return r;
  }

  /** The smaller index stays the root, so a region is named by its first run. */
  private union(a: number, b: number): void {
    const ra = this.root(a);
    const rb = this.root(b);
    if (ra < rb) this.parent[rb] = ra;
    else if (rb < ra) this.parent[ra] = rb;
  }

  /** Every run's region and each region's pixel count; the largest, first among equals. */
  private labelRegions(count: number): number {
    const { region, runStart, runEnd } = this.runs;
    const size = this.size;
    let largest = -1;
    for (let i = 0; i < count; i++) {
      const r = this.root(i);
      region[i] = r;
      if (r === i) size[i] = 0;
      size[r] += runEnd[i] - runStart[i];
    }
    // Regions in order of their first run, i.e. of their first pixel: strictly larger replaces.
    for (let i = 0; i < count; i++) if (region[i] === i && (largest < 0 || size[i] > size[largest])) largest = i;
    return largest;
  }
}

/**
 * The largest 8-connected region of the pixels above a threshold, packed one bit a pixel (pixel
 * p at bit p & 7 of byte p >> 3): the working stack's body, made on the thread that decoded the
 * slice, so the thread filing hundreds of slices only ORs bytes in. Same region as the finder
 * gives (it is the finder's); buffers kept from one image to the next.
 */
export class LargestRegionPacker {
  private readonly finder: LargestRegionFinder;

  constructor(
    readonly rows: number,
    readonly columns: number,
  ) {
    this.finder = new LargestRegionFinder(rows, columns);
  }

  /** The region of `image` (rows × columns) above `threshold` into `bits` (⌈rows·columns / 8⌉ bytes, cleared first). */
  pack(image: Int16Array, threshold: number, bits: Uint8Array): void {
    const { rows, columns } = this;
    if (image.length !== rows * columns) throw new RangeError(`The image has ${image.length} pixels, not ${rows} × ${columns}.`);
    if (bits.length !== Math.ceil(image.length / 8)) throw new RangeError(`A packed mask of ${image.length} pixels has ${Math.ceil(image.length / 8)} bytes, not ${bits.length}.`);
    bits.fill(0);
    const runs = this.finder.findAbove(image, threshold);
    if (runs.largest < 0) return;
    for (let i = runs.largest; i < runs.count; i++) {
      if (runs.region[i] !== runs.largest) continue;
      const rowBase = runs.runRow[i] * columns;
      setBitRange(bits, rowBase + runs.runStart[i], rowBase + runs.runEnd[i]);
    }
  }
}

/**
 * Sets bits [from, to) of a packed bit array (bit v at bit v & 7 of byte v >> 3). A body row covers
 * tens of bytes, so the whole bytes inside the range are written at once rather than bit by bit.
 */
export function setBitRange(bits: Uint8Array, from: number, to: number): void {
  let v = from;
  for (; v < to && (v & 7) !== 0; v++) bits[v >> 3] |= 1 << (v & 7);
  const wholeTo = to - (to & 7);
  for (; v < wholeTo; v += 8) bits[v >> 3] = 0xff;
  for (; v < to; v++) bits[v >> 3] |= 1 << (v & 7);
}
