/**
 * The headers the node's intake parsed, kept for the analysis (src/node/known-headers.ts): the
 * scan takes one only for the very file the intake wrote, and it is the header the scan would
 * have parsed from that file.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, utimes } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { scanPaths } from '../src/dicom/scan.ts';
import { spooledStudyDir, spoolInstance } from '../src/intake/spool.ts';
import { createInstanceStore, type StoredInstance } from '../src/intake/store-instance.ts';
import { createKnownHeaders } from '../src/node/known-headers.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { dataPath, makeTempDir, requirePaths } from './support/env.ts';

const REAL_SERIES = ['uid_repaired_uncompressed', 'uid_repaired_j2k'].map((name) => dataPath('totalsegmentator_example_ct_dicom_T11-T12', name));

function counter(): Counter<'outcome'> {
  return new Counter({ name: 'known_headers_test_total', help: 'test', labelNames: ['outcome'], registers: [new Registry()] });
}

async function outcomes(c: Counter<'outcome'>): Promise<Record<string, number>> {
  return Object.fromEntries((await c.get()).values.map((v) => [v.labels.outcome, v.value]));
}

/** Each file stored as the intake stores it; what it answered. */
async function storeAll(spoolDir: string, files: Uint8Array[]): Promise<StoredInstance[]> {
  const store = createInstanceStore({ spoolDir });
  const stored: StoredInstance[] = [];
  for (const bytes of files) {
    const result = await store(bytes, { via: 'test' });
    assert.equal(result.status, 'stored', JSON.stringify(result));
    stored.push(result as StoredInstance);
  }
  return stored;
}

async function phantomFiles(count: number, seed: number): Promise<Uint8Array[]> {
  const study = await generatePhantomStudy({ rows: 128, columns: 128, sliceCount: count, sliceThicknessMm: 5, seed });
  return study.files.map((f) => f.bytes);
}

describe('known headers (the intake\'s, reused by the analysis)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (tmp = makeTempDir('ctmn-known-headers-')));
  afterEach(() => tmp.remove());

  it('the header the intake keeps is the one the scan parses from the spooled file (phantom)', async () => {
    const stored = await storeAll(tmp.path, await phantomFiles(4, 3));
    for (const s of stored) assert.deepStrictEqual(s.header, (await scanPaths([s.path])).headers[0]);
  });

  it('the same for a real scanner\'s series (the shared T11/T12 DICOM, uncompressed and JPEG 2000)', async function () {
    requirePaths(this, ...REAL_SERIES);
    for (const folder of REAL_SERIES) {
      const names = (await readdir(folder)).filter((n) => !n.startsWith('.')).slice(0, 3);
      const stored = await storeAll(join(tmp.path, basename(folder)), await Promise.all(names.map(async (n) => new Uint8Array(await readFile(join(folder, n))))));
      for (const s of stored) assert.deepStrictEqual(s.header, (await scanPaths([s.path])).headers[0]);
    }
  });

  it('the scan uses a kept header only while the file is the one the intake wrote', async () => {
    const files = await phantomFiles(3, 5);
    const stored = await storeAll(tmp.path, files);
    const looked = counter();
    const known = createKnownHeaders(looked);
    for (const s of stored) known.remember(s);
    const dir = spooledStudyDir(tmp.path, stored[0].studyInstanceUid);
    let scan = await scanPaths([dir], { known: known.lookup });
    assert.deepEqual(await outcomes(looked), { used: 3 });
    // The same objects the intake made: nothing was parsed again.
    for (const header of scan.headers) assert.ok(stored.some((s) => s.header === header));
    // Another file renamed over one (another instance's bytes: another header) and one touched.
    await spoolInstance(tmp.path, stored[0].studyInstanceUid, stored[0].sopInstanceUid, files[2]);
    const later = new Date(Date.now() + 5000);
    await utimes(stored[1].path, later, later);
    scan = await scanPaths([dir], { known: known.lookup });
    assert.deepEqual(await outcomes(looked), { used: 4, changed: 2 });
    assert.deepStrictEqual(scan, await scanPaths([dir]), 'the changed files were parsed again');
    assert.equal(scan.headers.filter((h) => h.sopInstanceUid === stored[2].sopInstanceUid).length, 2, 'the replaced file is read as what it now holds');
    // Forgotten once found changed: parsed from then on, not looked up again.
    await scanPaths([dir], { known: known.lookup });
    assert.deepEqual(await outcomes(looked), { used: 5, changed: 2 });
  });

  it('a copy kept in place of the new one leaves nothing remembered for it; the oldest are forgotten beyond the capacity', async () => {
    const stored = await storeAll(tmp.path, await phantomFiles(3, 7));
    const looked = counter();
    const known = createKnownHeaders(looked, 2);
    known.remember({ ...stored[0], written: null });
    assert.equal(await known.lookup(stored[0].path), undefined);
    for (const s of stored) known.remember(s);
    assert.equal(await known.lookup(stored[0].path), undefined, 'forgotten: beyond the capacity');
    assert.equal(await known.lookup(stored[1].path), stored[1].header);
    assert.equal(await known.lookup(stored[2].path), stored[2].header);
    assert.deepEqual(await outcomes(looked), { used: 2 });
  });
});
