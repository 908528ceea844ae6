/** Reading instance files: whole, into a buffer kept between files, or only their head (issue #16). */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRegularFile, ReusableBuffer } from '../src/dicom/read-file.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { makeTempDir } from './support/env.ts';

describe('reading instance files (read-file.ts)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  const contents = new Map<string, Buffer>();
  before(() => {
    tmp = makeTempDir('ctmn-read-file-');
    for (const [name, length] of [['big', 300_000], ['small', 1000], ['middle', 70_000], ['empty', 0]] as const) {
      const bytes = Buffer.from(Array.from({ length }, (_, i) => (i * 31 + length) & 0xff));
      writeFileSync(join(tmp.path, name), bytes);
      contents.set(name, bytes);
    }
  });
  after(() => tmp.remove());
  const path = (name: string) => join(tmp.path, name);

  it('into one kept buffer, files of any size in any order read as they are', async () => {
    const into = new ReusableBuffer();
    for (const name of ['big', 'small', 'middle', 'empty', 'big']) {
      const bytes = await readRegularFile(path(name), 1 << 20, { into });
      assert.ok(Buffer.isBuffer(bytes));
      assert.ok(bytes.equals(contents.get(name)!), name);
    }
  });

  it('the head only when the rest is not wanted; the whole file when it is, or when the file is shorter than the head', async () => {
    const heads: number[] = [];
    const headOnly = await readRegularFile(path('big'), 1 << 20, { head: { bytes: 4096, wantsAll: (head) => (heads.push(head.length), false) } });
    assert.ok(headOnly.equals(contents.get('big')!.subarray(0, 4096)));
    const whole = await readRegularFile(path('big'), 1 << 20, { head: { bytes: 4096, wantsAll: (head) => (heads.push(head.length), true) }, into: new ReusableBuffer() });
    assert.ok(whole.equals(contents.get('big')!));
    const short = await readRegularFile(path('small'), 1 << 20, { head: { bytes: 4096, wantsAll: () => assert.fail('not asked for a file shorter than the head') } });
    assert.ok(short.equals(contents.get('small')!));
    assert.deepEqual(heads, [4096, 4096]);
  });

  it('the size limit and a directory are refused before anything is read', async () => {
    await assert.rejects(readRegularFile(path('big'), 1000, { head: { bytes: 10, wantsAll: () => true } }), (e: unknown) => isCtMuscleError(e) && e.code === 'E_INSTANCE_TOO_LARGE');
    await assert.rejects(readRegularFile(tmp.path, 1000), (e: unknown) => isCtMuscleError(e) && e.code === 'E_NOT_A_FILE');
    await assert.rejects(readRegularFile(path('missing'), 1000), (e: unknown) => isCtMuscleError(e) && e.code === 'E_IO');
  });
});
