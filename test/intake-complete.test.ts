/**
 * Issue #11 item 3: an instance is acknowledged only when its pixel data is complete for its
 * declared size, and a re-send never replaces a good spooled copy with a worse one.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import express from 'express';
import { stowRouter } from '../src/dicomweb/server/stow-receiver.ts';
import { checkInstance } from '../src/dicom/check-instance.ts';
import { spooledPath, spoolInstance } from '../src/intake/spool.ts';
import { createInstanceStore, type StoredInstance } from '../src/intake/store-instance.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { makeTempDir } from './support/env.ts';
import { stow } from './support/orthanc.ts';

describe('intake: only complete instances are acknowledged', function () {
  let tmp: ReturnType<typeof makeTempDir>;
  let files: Array<{ bytes: Uint8Array }>;
  let studyUid: string;
  let sopUid: string;
  let received: StoredInstance[];
  const store = () => createInstanceStore({ spoolDir: tmp.path, onStored: (s) => void received.push(s) });

  /** A STOW-RS receiver on loopback storing into this test's spool, for the time `use` runs. */
  async function withReceiver(use: (url: string) => Promise<void>): Promise<void> {
    const app = express();
    app.use(stowRouter({ storeInstance: store(), maxInstanceBytes: 4 << 20, maxRequestBytes: 64 << 20, maxParts: 100 }));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}/dicomweb`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  before(async () => {
    const study = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'L1', toLevel: 'T12', sliceThicknessMm: 5 });
    files = study.files;
    studyUid = study.truth.studyInstanceUid;
    const first = await checkInstance(files[0].bytes);
    assert.ok(first.ok);
    sopUid = first.header.sopInstanceUid;
  });
  beforeEach(() => {
    tmp = makeTempDir('ctmn-complete-');
    received = [];
  });
  afterEach(() => tmp.remove());

  it('the check passes a whole phantom instance and refuses it cut inside PixelData, at any cut', async () => {
    const whole = files[0].bytes;
    const good = await checkInstance(whole);
    assert.ok(good.ok && good.completeness.complete && good.completeness.presentBytes >= good.completeness.declaredBytes);
    for (const cut of [1, 2, 100, 4000, 64 * 64 * 2 - 2]) {
      const result = await checkInstance(whole.slice(0, whole.length - cut));
      assert.equal(result.ok, false, `cut ${cut} bytes`);
      if (!result.ok) assert.match(result.code, /^E_(INCOMPLETE_PIXEL_DATA|NO_PIXEL_DATA|NOT_DICOM|MALFORMED_DICOM)$/, `cut ${cut}: ${result.message}`);
    }
  });

  it('STOW-RS: a cut instance is refused (0xC000), not spooled and not handed on', async () => {
    await withReceiver(async (url) => {
      const cut = files[0].bytes.slice(0, files[0].bytes.length - 1000);
      const result = await stow(url, [{ bytes: cut }, { bytes: files[1].bytes }]);
      assert.equal(result.status, 202);
      const failed = result.body!['00081198'].Value as Array<Record<string, { Value: unknown[] }>>;
      assert.equal(failed.length, 1);
      assert.equal(failed[0]['00081197'].Value[0], 0xc000);
      assert.equal(received.length, 1);
      assert.deepEqual(readdirSync(`${tmp.path}/${studyUid}`).length, 1);
    });
  });

  it('STOW-RS: the parts of one request are stored several at a time; the answer lists them in part order; copies of one instance are spooled one after the other', async () => {
    await withReceiver(async (url) => {
      // Another whole copy of the first instance (one pixel changed), sent in the same request twice over.
      const other = files[0].bytes.slice();
      other[other.length - 2] ^= 0x01;
      const parts = [...files.slice(0, 10), { bytes: other }, files[0], { bytes: other }];
      const result = await stow(url, parts.map((f) => ({ bytes: f.bytes })));
      assert.equal(result.status, 200);
      const stored = result.body!['00081199'].Value as Array<Record<string, { Value: string[] }>>;
      const uidsOf = await Promise.all(parts.map(async (f) => ((await checkInstance(f.bytes)) as { header: { sopInstanceUid: string } }).header.sopInstanceUid));
      assert.deepEqual(stored.map((item) => item['00081155'].Value[0]), uidsOf);
      assert.equal(received.length, parts.length);
      const folder = `${tmp.path}/${studyUid}`;
      assert.deepEqual(readdirSync(folder).sort(), [...new Set(uidsOf)].map((uid) => `${uid}.dcm`).sort(), 'one file per instance, no temp file left');
      const kept = new Uint8Array(readFileSync(spooledPath(tmp.path, studyUid, sopUid)));
      assert.ok([files[0].bytes, other].some((copy) => Buffer.from(copy).equals(kept)), 'the spooled copy is one of the copies sent, whole');
    });
  });

  it('a truncated re-send never replaces the good spooled copy', async () => {
    const storeInstance = store();
    assert.equal((await storeInstance(files[0].bytes, { via: 'test' })).status, 'stored');
    const again = await storeInstance(files[0].bytes.slice(0, files[0].bytes.length - 500), { via: 'test' });
    assert.equal(again.status, 'refused');
    assert.deepEqual(new Uint8Array(readFileSync(spooledPath(tmp.path, studyUid, sopUid))), files[0].bytes);
    assert.equal(received.length, 1);
  });

  it('a complete re-send replaces a cut copy already in the spool (left by an older version)', async () => {
    const path = spooledPath(tmp.path, studyUid, sopUid);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, files[0].bytes.slice(0, files[0].bytes.length - 500));
    assert.equal((await store()(files[0].bytes, { via: 'test' })).status, 'stored');
    assert.deepEqual(new Uint8Array(readFileSync(path)), files[0].bytes);
  });

  it('spoolInstance compares before the rename: a kept copy stays, and no temp file is left either way', async () => {
    const path = await spoolInstance(tmp.path, studyUid, sopUid, files[0].bytes);
    const other = new Uint8Array(files[0].bytes.length).fill(7);
    await spoolInstance(tmp.path, studyUid, sopUid, other, async (existing) => existing === path);
    assert.deepEqual(new Uint8Array(readFileSync(path)), files[0].bytes, 'kept');
    await spoolInstance(tmp.path, studyUid, sopUid, other, async () => false);
    assert.deepEqual(new Uint8Array(readFileSync(path)), other, 'replaced');
    assert.deepEqual(readdirSync(dirname(path)), [`${sopUid}.dcm`]);
  });

  it('spoolInstance: copies of one instance stored at once are spooled one after the other (the later one is compared with the earlier)', async () => {
    const other = new Uint8Array(files[0].bytes.length).fill(7);
    const compared: string[] = [];
    const keep = async (existing: string) => {
      compared.push(existing);
      return true;
    };
    const [first, second] = await Promise.all([spoolInstance(tmp.path, studyUid, sopUid, files[0].bytes, keep), spoolInstance(tmp.path, studyUid, sopUid, other, keep)]);
    assert.equal(first, second);
    assert.deepEqual(compared, [first], 'the second copy found the first one spooled');
    assert.deepEqual(new Uint8Array(readFileSync(first)), files[0].bytes, 'kept');
    assert.deepEqual(readdirSync(dirname(first)), [`${sopUid}.dcm`]);
  });
});
