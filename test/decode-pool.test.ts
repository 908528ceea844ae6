/**
 * Compressed series decoded on a bounded pool of worker threads (issue #16): the same HU, slice
 * for slice, as decoding on the calling thread, and the same typed error (code and message) for
 * a broken series — the one of its lowest broken slice, as decoding in order meets it.
 */
import assert from 'node:assert/strict';
import { DecodePool, decoderFor } from '../src/dicom/decode-pool.ts';
import { scanBuffers } from '../src/dicom/scan.ts';
import { groupIntoSeries, type SeriesGroup } from '../src/dicom/series.ts';
import type { InstanceHeader } from '../src/dicom/types.ts';
import { buildVolume, decodeSeries, planVolume, sliceInfosOf, sliceJobOf, type GridTarget, type SliceDecoder } from '../src/dicom/volume.ts';
import { buildStack, startStack, type WorkStack } from '../src/level/stack.ts';
import { describeError } from '../src/errors.ts';
import { generatePhantomStudy, PHANTOM_TRANSFER_SYNTAXES as TS } from '../src/phantom/index.ts';

async function phantomSeries(transferSyntaxUid: string): Promise<SeriesGroup> {
  const study = await generatePhantomStudy({ rows: 128, columns: 128, fromLevel: 'L1', toLevel: 'T12', sliceThicknessMm: 2.5, transferSyntaxUid, pixelPaddingValue: -2000, seed: 3 });
  const { headers, errors } = scanBuffers(study.files.map((f) => ({ bytes: f.bytes, label: f.fileName })));
  assert.deepEqual(errors, []);
  return groupIntoSeries(headers)[0];
}

/** The series decoded through the pool, gathered back into one volume by slice index. */
async function pooled(group: SeriesGroup, pool: DecodePool): Promise<{ hu: Int16Array; order: number[] }> {
  const plan = planVolume(group);
  const n = plan.geometry.rows * plan.geometry.columns;
  const hu = new Int16Array(n * plan.ordered.length);
  const order: number[] = [];
  await decodeSeries(group, plan, (k, slice) => {
    order.push(k);
    hu.set(slice, k * n);
  }, pool);
  return { hu, order };
}

/**
 * The same series with some slices' files replaced by a 64² image: each fails with
 * E_INCONSISTENT_GEOMETRY naming its own SOP Instance UID, so which slice's error came back shows.
 */
async function withBrokenSlices(group: SeriesGroup, stackIndices: number[]): Promise<SeriesGroup> {
  const small = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'L1', toLevel: 'T12', transferSyntaxUid: TS.jpeg2000Lossless, seed: 4 });
  const plan = planVolume(group);
  const broken = new Set(stackIndices.map((k) => plan.ordered[k].sopInstanceUid));
  const instances: InstanceHeader[] = group.instances.map((h) => {
    if (!broken.has(h.sopInstanceUid) || h.source.kind !== 'memory') return h;
    return { ...h, source: { ...h.source, bytes: small.files[0].bytes } };
  });
  return { ...group, instances };
}

/** The pool, with each failure held back longer the lower its slice: the lowest must still win. */
function lowFailuresLast(pool: DecodePool, plan: ReturnType<typeof planVolume>): SliceDecoder {
  const indexOf = new Map(plan.ordered.map((h, k) => [h.sopInstanceUid, k]));
  return {
    size: pool.size,
    decode: (job) =>
      pool.decode(job).catch(async (error: unknown) => {
        await new Promise((resolve) => setTimeout(resolve, (plan.ordered.length - indexOf.get(job.sopInstanceUid)!) * 40));
        throw error;
      }),
  };
}

describe('decoding a compressed series on worker threads', function () {
  this.timeout(120000);
  const pool = new DecodePool(3);
  after(() => pool.close());

  for (const [name, uid] of [['JPEG 2000 lossless', TS.jpeg2000Lossless], ['JPEG-LS lossless', TS.jpegLsLossless]] as const) {
    it(`${name}: the same HU, slice for slice, as decoding on this thread`, async () => {
      const group = await phantomSeries(uid);
      const expected = await buildVolume(group);
      const actual = await pooled(group, pool);
      assert.equal(actual.order.length, expected.slices.length, 'every slice visited once');
      assert.deepEqual([...actual.order].sort((a, b) => a - b), expected.slices.map((_, k) => k));
      assert.ok(Buffer.from(actual.hu.buffer).equals(Buffer.from(expected.hu.buffer)), 'identical HU');
    });
  }

  it('each worker holds two jobs at once and answers them in order; one that dies fails every job it held, and the pool goes on', async () => {
    const group = await phantomSeries(TS.jpeg2000Lossless);
    const plan = planVolume(group);
    const jobs = plan.ordered.slice(0, 4).map((h) => sliceJobOf(h, plan.geometry));
    const expected = await buildVolume(group, { plan, sliceIndices: [0, 1, 2, 3] });
    const n = plan.geometry.rows * plan.geometry.columns;
    const single = new DecodePool(1);
    try {
      assert.equal(single.depth, 2);
      const answers = await Promise.all(jobs.map((job) => single.decode(job)));
      answers.forEach((hu, k) => assert.ok(Buffer.from(hu.buffer, hu.byteOffset, hu.byteLength).equals(Buffer.from(expected.hu.buffer, k * n * 2, n * 2)), `slice ${k}`));
      // Two jobs sent, then the worker stopped before it answers them.
      const held = jobs.slice(0, 2).map((job) => single.decode(job).then(() => 'decoded', (error: unknown) => describeError(error).code));
      const { slots } = single as unknown as { slots: Array<{ worker: { terminate(): Promise<number> }; held: unknown[] }> };
      assert.equal(slots[0].held.length, 2, 'both held by the one worker');
      await slots[0].worker.terminate();
      assert.deepEqual(await Promise.all(held), ['E_DECODE_FAILED', 'E_DECODE_FAILED']);
      const again = await single.decode(jobs[3]);
      assert.ok(Buffer.from(again.buffer, again.byteOffset, again.byteLength).equals(Buffer.from(expected.hu.buffer, 3 * n * 2, n * 2)), 'a new worker took over');
    } finally {
      await single.close();
    }
  });

  it('the measured slices re-read on the pool: the same HU as on this thread, and the lowest broken slice\'s error', async () => {
    const group = await phantomSeries(TS.jpeg2000Lossless);
    const sliceIndices = [7, 2, 3];
    const here = await buildVolume(group, { sliceIndices });
    const there = await buildVolume(group, { sliceIndices, decoder: pool });
    assert.ok(Buffer.from(there.hu.buffer).equals(Buffer.from(here.hu.buffer)), 'identical HU');
    assert.deepEqual(there.slices, here.slices);
    const broken = await withBrokenSlices(group, [2, 7]);
    const errorOf = (options: Parameters<typeof buildVolume>[1]) => buildVolume(broken, options).then(() => assert.fail('decoded'), (error: unknown) => describeError(error));
    const expected = await errorOf({ sliceIndices });
    assert.ok(expected.message.startsWith(planVolume(broken).ordered[7].sopInstanceUid), 'the first slice asked for that fails');
    assert.deepEqual(await errorOf({ sliceIndices, decoder: pool }), expected);
  });

  it('a broken series fails with the typed error of its lowest broken slice, as on this thread', async () => {
    const group = await withBrokenSlices(await phantomSeries(TS.jpeg2000Lossless), [9, 4, 6]);
    const sequential = await buildVolume(group).then(
      () => assert.fail('the broken series decoded'),
      (error: unknown) => describeError(error),
    );
    assert.equal(sequential.code, 'E_INCONSISTENT_GEOMETRY', sequential.message);
    assert.ok(sequential.message.startsWith(planVolume(group).ordered[4].sopInstanceUid), sequential.message);
    for (const decoder of [pool, lowFailuresLast(pool, planVolume(group))]) {
      const concurrent = await decodeSeries(group, planVolume(group), () => undefined, decoder).then(
        () => assert.fail('the broken series decoded on the pool'),
        (error: unknown) => describeError(error),
      );
      assert.deepEqual(concurrent, sequential);
    }
    // The pool is still usable afterwards.
    const good = await phantomSeries(TS.jpeg2000Lossless);
    assert.equal((await pooled(good, pool)).order.length, good.instances.length);
  });

  /** The working stack filled by decodeSeries onto the grid (through `decoder` when given). */
  async function stackOnGrid(group: SeriesGroup, decoder?: SliceDecoder, sharedTarget = true): Promise<WorkStack> {
    const plan = planVolume(group);
    const builder = startStack(plan.geometry, sliceInfosOf(plan));
    // A target outside shared memory: the workers must send their slices back instead.
    const plain = new Int16Array(builder.grid.width * builder.grid.height * plan.ordered.length);
    const target: GridTarget = sharedTarget ? builder : { grid: builder.grid, slice: (k) => plain.subarray(k * plain.length / plan.ordered.length, (k + 1) * plain.length / plan.ordered.length) };
    await decodeSeries(group, plan, (k, gridHu) => builder.addGridSlice(k, gridHu), decoder, undefined, target);
    return builder.finish();
  }

  function assertSameStack(actual: WorkStack, expected: WorkStack): void {
    for (const key of ['hu', 'body', 'centreX', 'centreY'] as const) {
      assert.ok(Buffer.from(actual[key].buffer).equals(Buffer.from(expected[key].buffer)), key);
    }
    assert.ok(actual.hu.some((v) => v > 0), 'the stack holds tissue');
  }

  for (const [name, uid] of [['uncompressed', TS.explicitVrLittleEndian], ['JPEG 2000 lossless', TS.jpeg2000Lossless]] as const) {
    it(`${name}: slices put on the working grid by the workers, in place or sent back, make the stack built from the whole volume`, async () => {
      const group = await phantomSeries(uid);
      const expected = buildStack(await buildVolume(group));
      assertSameStack(await stackOnGrid(group), expected);
      assertSameStack(await stackOnGrid(group, pool), expected);
      assertSameStack(await stackOnGrid(group, pool, false), expected);
    });
  }

  it('uncompressed onto the grid: this thread decodes meanwhile, so a pool whose workers never start costs no waiting', async () => {
    const group = await phantomSeries(TS.explicitVrLittleEndian);
    const expected = buildStack(await buildVolume(group));
    const decoded: string[] = [];
    const neverStarts: SliceDecoder = {
      size: 3,
      whenStarted: () => new Promise<boolean>(() => undefined),
      decode: (job) => (decoded.push(job.sopInstanceUid), pool.decode(job)),
    };
    assertSameStack(await stackOnGrid(group, neverStarts), expected);
    assert.deepEqual(decoded, [], 'no slice went to the decoder');
    const fresh = new DecodePool(2);
    try {
      assert.equal(await fresh.whenStarted(1), true, 'a real pool says when a worker is ready');
      assertSameStack(await stackOnGrid(group, fresh), expected);
    } finally {
      await fresh.close();
    }
  });

  it('uncompressed onto the grid: a broken series fails with its lowest broken slice’s typed error, as on this thread', async () => {
    const native = await phantomSeries(TS.explicitVrLittleEndian);
    const small = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'L1', toLevel: 'T12', seed: 4 });
    const plan = planVolume(native);
    const broken = new Set([7, 3].map((k) => plan.ordered[k].sopInstanceUid));
    const group = { ...native, instances: native.instances.map((h) => (broken.has(h.sopInstanceUid) && h.source.kind === 'memory' ? { ...h, source: { ...h.source, bytes: small.files[0].bytes } } : h)) };
    const outcome = (decoder?: SliceDecoder) => stackOnGrid(group, decoder).then(() => assert.fail('the broken series decoded'), (error: unknown) => describeError(error));
    const sequential = await outcome();
    assert.equal(sequential.code, 'E_INCONSISTENT_GEOMETRY', sequential.message);
    assert.ok(sequential.message.startsWith(plan.ordered[3].sopInstanceUid), sequential.message);
    assert.deepEqual(await outcome(pool), sequential);
  });

  it('is used only where it helps: compressed, more than one slice, more than one worker', async () => {
    const j2k = await phantomSeries(TS.jpeg2000Lossless);
    const native = await phantomSeries(TS.explicitVrLittleEndian);
    assert.equal(decoderFor(native.instances, 4), undefined, 'uncompressed at full resolution');
    assert.notEqual(decoderFor(native.instances, 4, true), undefined, 'uncompressed put on the working grid by the workers');
    assert.equal(decoderFor(native.instances, 1, true), undefined);
    assert.equal(decoderFor(j2k.instances, 1), undefined);
    assert.equal(decoderFor(j2k.instances.slice(0, 1), 4), undefined);
    const shared = decoderFor(j2k.instances, 2);
    assert.equal(shared?.size, 2);
    assert.equal(decoderFor(j2k.instances, 2), shared, 'one pool per process');
    await shared!.close();
  });
});
