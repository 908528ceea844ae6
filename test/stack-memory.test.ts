/**
 * A finished working stack's memory reused by the next series (keepStackMemory, for a node that
 * analyses study after study): the next stack that fits gets it zeroed, nothing of the first shows.
 */
import assert from 'node:assert/strict';
import type { VolumeGeometry } from '../src/dicom/types.ts';
import { loadConfig } from '../src/config.ts';
import { scanBuffers } from '../src/dicom/scan.ts';
import { dropKeptStackMemory, keepStackMemory, startStack } from '../src/level/stack.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { analyzeHeaders } from '../src/pipeline/index.ts';

const geometry = { rows: 64, columns: 64, rowCosine: [1, 0, 0], columnCosine: [0, 1, 0], normal: [0, 0, 1], plane: 'axial', pixelSpacingMm: [4, 4], sliceSpacingMm: 5, sliceThicknessMm: 5, gantryTiltDeg: 0 } as VolumeGeometry;
const slices = (n: number) => Array.from({ length: n }, (_, k) => ({ zMm: 5 * k }));

describe('working stack memory kept for the next series', () => {
  beforeEach(dropKeptStackMemory);
  it('the next stack that fits takes it, zeroed; one larger, or a second one, gets fresh memory', () => {
    const first = startStack(geometry, slices(6));
    for (let k = 0; k < 6; k++) first.addGridSlice(k, new Int16Array(first.slice(k).length).fill(123));
    const done = first.finish();
    keepStackMemory(done);
    const larger = startStack(geometry, slices(7)).finish();
    assert.notEqual(larger.hu.buffer, done.hu.buffer, 'too small for 7 slices: fresh memory');
    const next = startStack(geometry, slices(4)).finish();
    assert.equal(next.hu.buffer, done.hu.buffer, 'reused');
    assert.equal(next.hu.length, 4 * next.width * next.height);
    assert.ok(next.hu.every((v) => v === 0), 'zeroed: nothing of the first series');
    const third = startStack(geometry, slices(4)).finish();
    assert.notEqual(third.hu.buffer, done.hu.buffer, 'taken once only');
  });

  it('the larger of two kept buffers stays', () => {
    const small = startStack(geometry, slices(2)).finish();
    const big = startStack(geometry, slices(8)).finish();
    keepStackMemory(big);
    keepStackMemory(small);
    assert.equal(startStack(geometry, slices(8)).finish().hu.buffer, big.hu.buffer);
  });
});

describe('analyses in a row with keepStackMemory', function () {
  this.timeout(120_000);
  beforeEach(dropKeptStackMemory);

  it('each study gives what it gives alone (the second one\'s stack in the first one\'s memory)', async () => {
    const config = loadConfig({ env: {} });
    const headersOf = async (seed: number, sliceThicknessMm: number) => {
      const study = await generatePhantomStudy({ rows: 256, columns: 256, fromLevel: 'L2', toLevel: 'T11', sliceThicknessMm, arms: true, seed });
      return scanBuffers(study.files.map((f) => ({ bytes: f.bytes, label: f.fileName }))).headers;
    };
    // The larger series first, so the second fits in its memory.
    const [first, second] = [await headersOf(21, 2), await headersOf(22, 3)];
    const alone = [(await analyzeHeaders(first, { config }))[0], (await analyzeHeaders(second, { config }))[0]];
    dropKeptStackMemory();
    const together = await analyzeHeaders([...first, ...second], { config, keepStackMemory: true });
    assert.equal(together.length, 2);
    for (const [i, result] of together.entries()) {
      assert.equal(result.status, 'ok', result.message);
      assert.deepEqual(result.level, alone[i].level);
      assert.deepEqual(result.muscle, alone[i].muscle);
    }
  });
});
