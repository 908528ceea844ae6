/**
 * Issue #16 (speed): the level finder's hot spots were rewritten (canal candidates, the chunk vote
 * maps and their peaks, the rib reach as a flood from the junction regions, the profile median by
 * selection). Each must give exactly what the routine it replaced gave; the replaced routines are
 * kept in test/support/level-reference.ts and run here on phantom stacks and on random stacks made
 * to hit the edges (bone at the image border, body centres at the edge or missing, broken rings,
 * bone pieces touching both junction regions, odd pixel sizes).
 */
import assert from 'node:assert/strict';
import { setBitRange } from '../src/image/runs.ts';
import { canalCandidates, candidateWork, trackColumn, type ColumnTrack } from '../src/level/column.ts';
import type { BodySegment } from '../src/level/discs.ts';
import { medianInPlace } from '../src/level/profile.ts';
import { ribReach } from '../src/level/ribs.ts';
import { buildStack, type WorkStack } from '../src/level/stack.ts';
import type { PhantomOptions } from '../src/phantom/index.ts';
import { createRng, type Rng } from '../src/phantom/random.ts';
import { readNiftiVolume } from '../src/dicom/nifti.ts';
import { dataPath, requirePaths } from './support/env.ts';
import { phantomVolume } from './support/phantom-volume.ts';
import { blobMask } from './support/random-mask.ts';
import { referenceCanalCandidates, referenceMedian, referenceRibReach, referenceTrackColumn } from './support/level-reference.ts';

/**
 * A stack of `depth` random slices: a soft-tissue ellipse (the body bits, with holes) in air,
 * blobby bone of HU round the bone thresholds, salt noise, and in most slices a ring of bone with
 * gaps round soft tissue behind the body's centre (a canal), drifting along z.
 */
function randomStack(seed: number, width: number, height: number, depth: number, mm: number): WorkStack {
  const rng = createRng(seed);
  const plane = width * height;
  const hu = new Int16Array(plane * depth);
  const body = new Uint8Array(Math.ceil((plane * depth) / 8));
  const centreX = new Float64Array(depth);
  const centreY = new Float64Array(depth);
  for (let k = 0; k < depth; k++) {
    const bone = blobMask(seed * 1000 + k, height, width, 0.28 + 0.1 * rng.next());
    const holes = blobMask(seed * 1000 + k + 500, height, width, 0.15);
    const ring = { x: width / 2 + 6 * Math.sin(k / 7) + rng.range(-1, 1), y: height * 0.62 + rng.range(-1, 1), r: rng.range(3, 8) };
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = y * width + x;
        const inside = ((x - width / 2) / (width * 0.45)) ** 2 + ((y - height / 2) / (height * 0.45)) ** 2 <= 1;
        let v = inside ? Math.round(rng.range(-160, 140)) : -1000;
        if (bone[p] && rng.next() < 0.9) v = Math.round(rng.range(150, 600));
        const r = Math.hypot(x - ring.x, y - ring.y);
        if (k % 5 !== 4 && Math.abs(r - ring.r) < 1.2 && rng.next() < 0.85) v = 400;
        else if (k % 5 !== 4 && r < ring.r - 1.2) v = Math.round(rng.range(-20, 60));
        if (rng.next() < 0.02) v = Math.round(rng.range(-1000, 1500));
        hu[k * plane + p] = v;
        const v3 = k * plane + p;
        if ((inside && !holes[p]) || rng.next() < 0.01) body[v3 >> 3] |= 1 << (v3 & 7);
      }
    }
    [centreX[k], centreY[k]] = randomCentre(rng, width, height, k);
  }
  const zMm = Float64Array.from({ length: depth }, (_, k) => -300 + k * mm * 0.8);
  return { grid: { width, height, mm, sourceIndex: new Int32Array(0), factor: 1, sourceColumns: width }, width, height, depth, mm, hu, body, centreX, centreY, zMm };
}

/** Mostly near the middle, a little in front of the ring; sometimes missing, at an edge, or past the last row. */
function randomCentre(rng: Rng, width: number, height: number, k: number): [number, number] {
  const u = rng.next();
  if (u < 0.08) return [Number.NaN, Number.NaN];
  if (u < 0.14) return [rng.next() < 0.5 ? 0 : width - 1, rng.range(0, height)];
  if (u < 0.18) return [rng.range(0, width), height - 1 - rng.next()];
  return [width / 2 + rng.range(-3, 3) + (k % 3), height * 0.5 + rng.range(-4, 4)];
}

function assertSameTrack(fast: ColumnTrack, reference: ColumnTrack, label: string): void {
  assert.deepEqual([...fast.canalX], [...reference.canalX], `${label}: canal x`);
  assert.deepEqual([...fast.canalY], [...reference.canalY], `${label}: canal y`);
  assert.deepEqual([fast.fromMm, fast.toMm], [reference.fromMm, reference.toMm], `${label}: column extent`);
  assert.deepEqual(fast.chunkScores, reference.chunkScores, `${label}: chunk scores`);
}

/** Random body segments along the stack, and the tracked column's own bodies cut 25 mm apart. */
function segmentsOf(stack: WorkStack, rng: Rng): BodySegment[] {
  const z0 = stack.zMm[0];
  const z1 = stack.zMm[stack.depth - 1];
  const segments: BodySegment[] = [];
  for (let z = z0; z < z1; z += 25) segments.push({ inferiorMm: z, superiorMm: z + 22, cutInferior: false, cutSuperior: false });
  for (let i = 0; i < 6; i++) {
    const a = rng.range(z0 - 5, z1);
    segments.push({ inferiorMm: a, superiorMm: a + rng.range(0, 40), cutInferior: false, cutSuperior: false });
  }
  return segments;
}

/** A canal track that wanders, leaves the image and is missing on some slices (the rib box is clipped and its slices skip). */
function wanderingTrack(stack: WorkStack, rng: Rng): ColumnTrack {
  const canalX = new Float64Array(stack.depth);
  const canalY = new Float64Array(stack.depth);
  for (let k = 0; k < stack.depth; k++) {
    const missing = rng.next() < 0.1;
    canalX[k] = missing ? Number.NaN : rng.range(-10, stack.width + 10);
    canalY[k] = missing ? Number.NaN : rng.range(-10, stack.height + 10);
  }
  return { canalX, canalY, fromMm: stack.zMm[0], toMm: stack.zMm[stack.depth - 1], chunkScores: [] };
}

describe('level finder fast paths equal the routines they replaced (issue #16)', function () {
  this.timeout(120000);
  const randomCases: Array<[number, number, number, number, number]> = [
    // seed, width, height, depth, mm
    [1, 64, 64, 40, 1.5625],
    [2, 71, 53, 30, 0.8],
    [3, 40, 90, 25, 3],
    [4, 96, 80, 60, 1.2],
    [5, 3, 3, 6, 1.5],
  ];

  it('canal candidates, slice by slice, on random stacks', () => {
    for (const [seed, width, height, depth, mm] of randomCases) {
      const stack = randomStack(seed, width, height, depth, mm);
      const work = candidateWork(width, height);
      let found = 0;
      for (let k = 0; k < depth; k++) {
        const fast = canalCandidates(stack, k, work);
        assert.deepEqual([...fast], [...referenceCanalCandidates(stack, k)], `seed ${seed} slice ${k}`);
        found += fast.length;
      }
      if (width > 3) assert.ok(found > 0, `seed ${seed}: the rings give candidates`);
    }
  });

  it('the column track on random stacks, with and without a column found', () => {
    let tracked = 0;
    for (const [seed, width, height, depth, mm] of randomCases) {
      const stack = randomStack(seed, width, height, depth, mm);
      const reference = referenceTrackColumn(stack);
      assertSameTrack(trackColumn(stack), reference, `seed ${seed}`);
      if (!Number.isNaN(reference.fromMm)) tracked++;
    }
    assert.ok(tracked >= 2, 'some random stacks have a column to follow');
  });

  it('the rib reach on random stacks, along wandering canal tracks', () => {
    let reached = 0;
    for (const [seed, width, height, depth, mm] of randomCases) {
      const stack = randomStack(seed, width, height, depth, mm);
      const rng = createRng(seed + 77);
      const track = wanderingTrack(stack, rng);
      for (const segment of segmentsOf(stack, rng)) {
        const reference = referenceRibReach(stack, track, segment);
        assert.deepEqual(ribReach(stack, track, segment), reference, `seed ${seed} segment ${JSON.stringify(segment)}`);
        if (reference && reference.left + reference.right > 0) reached++;
      }
    }
    assert.ok(reached > 5, 'bone reaches out from the junction regions in many cases');
  });

  const phantoms: Array<[string, PhantomOptions]> = [
    ['HFS 2.5 mm S1 to T9, arms and contrast', { fromLevel: 'S1', toLevel: 'T9', arms: true, contrast: true, rows: 256, columns: 256 }],
    ['FFP 5 mm, 13 rib pairs', { orientation: 'FFP', sliceThicknessMm: 5, ribPairs: 13, fromLevel: 'L4', toLevel: 'T8', rows: 256, columns: 256 }],
    ['HFS 1 mm, 320 mm view on 192²', { sliceThicknessMm: 1, fromLevel: 'L2', toLevel: 'T11', rows: 192, columns: 192, fieldOfViewMm: 320, seed: 5 }],
  ];
  /** The column track and the rib reach of bodies along it equal the reference's on this stack. */
  function assertSameOnStack(stack: WorkStack, label: string): void {
    const track = trackColumn(stack);
    assertSameTrack(track, referenceTrackColumn(stack), label);
    assert.ok(!Number.isNaN(track.fromMm), `${label}: a column is found`);
    const rng = createRng(9);
    let ribs = 0;
    for (const segment of segmentsOf(stack, rng)) {
      const reference = referenceRibReach(stack, track, segment);
      assert.deepEqual(ribReach(stack, track, segment), reference, `${label}: segment ${JSON.stringify(segment)}`);
      if (reference && Math.max(reference.left, reference.right) >= 56) ribs++;
    }
    assert.ok(ribs > 0, `${label}: some bodies bear ribs`);
  }

  for (const [label, options] of phantoms) {
    it(`the column track and the rib reach of every body on a phantom: ${label}`, async () => {
      const { volume } = await phantomVolume(options);
      assertSameOnStack(buildStack(volume), label);
    });
  }

  for (const path of ['totalsegmentator_example_ct_sm/example_ct_sm.nii.gz', 'totalsegmentator_example_ct_full/example_ct.nii.gz']) {
    it(`the column track and the rib reach of every body on shared real CT: ${path}`, async function () {
      requirePaths(this, dataPath(path));
      assertSameOnStack(buildStack(await readNiftiVolume(dataPath(path))), path);
    });
  }

  it('setting a range of packed bits a byte at a time equals setting them one by one', () => {
    const rng = createRng(11);
    for (let trial = 0; trial < 500; trial++) {
      const bytes = 1 + Math.floor(rng.next() * 12);
      const from = Math.floor(rng.next() * bytes * 8);
      const to = from + Math.floor(rng.next() * (bytes * 8 - from + 1));
      const start = Uint8Array.from({ length: bytes }, () => (rng.next() < 0.3 ? Math.floor(rng.next() * 256) : 0));
      const fast = Uint8Array.from(start);
      setBitRange(fast, from, to);
      const slow = Uint8Array.from(start);
      for (let v = from; v < to; v++) slow[v >> 3] |= 1 << (v & 7);
      assert.deepEqual(fast, slow, `bits [${from}, ${to}) of ${bytes} bytes`);
    }
  });

  it('the median by selection equals the median of the sorted values, ties and odd and even counts included', () => {
    const rng = createRng(3);
    for (let trial = 0; trial < 2000; trial++) {
      const n = 1 + Math.floor(rng.next() * (trial < 200 ? 6 : 400));
      const spread = [2, 20, 3000][trial % 3];
      const values = Float64Array.from({ length: n }, () => Math.round(rng.range(-spread, spread)) || 0);
      if (trial % 7 === 0) values.sort();
      if (trial % 11 === 0) values.sort().reverse();
      assert.equal(medianInPlace(Float64Array.from(values)), referenceMedian(values), `trial ${trial}: ${values.join(',')}`);
    }
  });
});
