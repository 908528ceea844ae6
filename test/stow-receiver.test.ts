/** The node's STOW-RS receiver over real HTTP on loopback, driven by the same client that stores to Orthanc. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { createInstanceStore } from '../src/intake/store-instance.ts';
import { stowRouter, type StowReceiverOptions } from '../src/dicomweb/server/stow-receiver.ts';
import { spooledPath } from '../src/intake/spool.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { dataPath, makeTempDir, requirePaths } from './support/env.ts';
import { multipartRelated, stow } from './support/orthanc.ts';

interface Running {
  url: string;
  server: Server;
  received: string[];
}

async function startReceiver(spoolDir: string, extra: Partial<StowReceiverOptions> = {}): Promise<Running> {
  const received: string[] = [];
  const app = express();
  app.use(
    stowRouter({
      storeInstance: createInstanceStore({ spoolDir, onStored: (stored) => void received.push(stored.sopInstanceUid) }),
      maxInstanceBytes: 4 * 1024 * 1024,
      maxRequestBytes: 64 * 1024 * 1024,
      maxParts: 500,
      ...extra,
    }),
  );
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicomweb`, server, received };
}

describe('STOW-RS receiver', function () {
  let tmp: ReturnType<typeof makeTempDir>;
  let node: Running;
  let files: Array<{ fileName: string; bytes: Uint8Array }>;
  let studyUid: string;
  const sopUids: string[] = [];

  before(async () => {
    const study = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'L1', toLevel: 'T12', sliceThicknessMm: 5 });
    files = study.files;
    studyUid = study.truth.studyInstanceUid;
    sopUids.push(...study.truth.slices.map((s) => s.sopInstanceUid));
  });
  beforeEach(async () => {
    tmp = makeTempDir('ctmn-stow-');
    node = await startReceiver(tmp.path);
  });
  afterEach(async () => {
    await new Promise((resolve) => node.server.close(resolve));
    tmp.remove();
  });

  it('stores every instance on disk, answers 200 with each SOP Instance UID in 00081199, and hands them to intake', async () => {
    const result = await stow(node.url, files.map((f) => ({ bytes: f.bytes })));
    assert.equal(result.status, 200);
    assert.deepEqual([...result.stored].sort(), [...sopUids].sort());
    assert.deepEqual(result.failed, []);
    assert.deepEqual([...node.received].sort(), [...sopUids].sort());
    for (const f of files) {
      const uid = sopUids.find((u) => Buffer.from(f.bytes).includes(Buffer.from(u)))!;
      assert.deepEqual(new Uint8Array(readFileSync(spooledPath(tmp.path, studyUid, uid))), f.bytes);
    }
  });

  it('answers 202 when some parts fail: junk and wrongly typed parts are listed as failures, not silently dropped', async () => {
    const parts = [{ bytes: files[0].bytes }, { bytes: new Uint8Array(500).fill(65) }, { bytes: files[1].bytes, contentType: 'application/octet-stream' }];
    const result = await stow(node.url, parts);
    assert.equal(result.status, 202);
    assert.equal(result.stored.length, 1);
    const failed = (result.body?.['00081198']?.Value ?? []) as Array<Record<string, { Value: number[] }>>;
    assert.equal(failed.length, 2);
    for (const item of failed) assert.equal(item['00081197'].Value[0], 0xc000);
  });

  it('answers 409 when nothing is stored, with the reason per part', async () => {
    const result = await stow(node.url, [{ bytes: new Uint8Array(300).fill(1) }]);
    assert.equal(result.status, 409);
    assert.equal((result.body?.['00081198']?.Value ?? []).length, 1);
    assert.equal(node.received.length, 0);
  });

  it('refuses instances of another study when the URL names one (0xC409)', async () => {
    const result = await stow(node.url, [{ bytes: files[0].bytes }], '1.2.3.4.5');
    assert.equal(result.status, 409);
    const item = (result.body!['00081198'].Value as Array<Record<string, { Value: unknown[] }>>)[0];
    assert.equal(item['00081197'].Value[0], 0xc409);
    assert.equal(existsSync(tmp.path + '/' + studyUid), false);
  });

  it('answers 415 for another media type and 400 for a multipart body without boundary', async () => {
    const json = await fetch(`${node.url}/studies`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(json.status, 415);
    const related = await fetch(`${node.url}/studies`, { method: 'POST', headers: { 'Content-Type': 'multipart/related; type="application/dicom+json"; boundary=x' }, body: '' });
    assert.equal(related.status, 415);
    const noBoundary = await fetch(`${node.url}/studies`, { method: 'POST', headers: { 'Content-Type': 'multipart/related; type="application/dicom"' }, body: 'x' });
    assert.equal(noBoundary.status, 400);
    const { code } = (await noBoundary.json()) as { code: string };
    assert.equal(code, 'E_MALFORMED_REQUEST');
  });

  it('answers 400 for a truncated multipart body and keeps the parts it already stored', async () => {
    const { body, contentType } = multipartRelated([{ bytes: files[0].bytes }, { bytes: files[1].bytes }]);
    const cut = body.slice(0, body.length - 200);
    const response = await fetch(`${node.url}/studies`, { method: 'POST', headers: { 'Content-Type': contentType }, body: cut });
    assert.equal(response.status, 400);
    assert.equal(node.received.length, 1, 'the complete first part was stored and handed on');
  });

  it('a store that throws (against its contract) gives 500, never an unhandled rejection, and the receiver keeps serving', async () => {
    await new Promise((resolve) => node.server.close(resolve));
    const store = createInstanceStore({ spoolDir: tmp.path });
    let calls = 0;
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      // The last of three parts throws: fewer than the receiver's concurrency, so nothing waits on it but the answer.
      node = await startReceiver(tmp.path, { storeInstance: async (bytes, context) => (++calls === 3 ? Promise.reject(new Error('disk on fire')) : store(bytes, context)) });
      const result = await stow(node.url, files.slice(0, 3).map((f) => ({ bytes: f.bytes })));
      assert.equal(result.status, 500);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(rejections, []);
      assert.equal((await stow(node.url, [{ bytes: files[0].bytes }])).status, 200);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('answers 413 for an instance above the size limit', async () => {
    await new Promise((resolve) => node.server.close(resolve));
    node = await startReceiver(tmp.path, { maxInstanceBytes: 1000 });
    const result = await stow(node.url, [{ bytes: files[0].bytes }]);
    assert.equal(result.status, 413);
  });

  it('requires credentials when they are configured: 401 without, 200 with a bearer token or basic auth', async () => {
    await new Promise((resolve) => node.server.close(resolve));
    node = await startReceiver(tmp.path, { credentials: { bearerTokens: ['s3cret-token'], basic: [{ user: 'pacs', password: 'pw' }] } });
    const { body, contentType } = multipartRelated([{ bytes: files[0].bytes }]);
    const send = (authorization?: string) =>
      fetch(`${node.url}/studies`, { method: 'POST', headers: { 'Content-Type': contentType, ...(authorization ? { Authorization: authorization } : {}) }, body });
    assert.equal((await send()).status, 401);
    assert.equal((await send('Bearer wrong')).status, 401);
    assert.equal((await send('Bearer s3cret-token')).status, 200);
    assert.equal((await send(`Basic ${Buffer.from('pacs:pw').toString('base64')}`)).status, 200);
  });

  it('refuses files with empty UIDs (the shared original/ series) per instance, and keeps serving', async function () {
    const dir = dataPath('totalsegmentator_example_ct_dicom_T11-T12', 'original');
    requirePaths(this, dir);
    const originals = readdirSync(dir).slice(0, 3).map((name) => ({ bytes: new Uint8Array(readFileSync(join(dir, name))) }));
    const result = await stow(node.url, [...originals, { bytes: files[0].bytes }]);
    assert.equal(result.status, 202);
    assert.equal(result.stored.length, 1);
    const failed = result.body!['00081198'].Value as Array<Record<string, { Value: number[] }>>;
    assert.equal(failed.length, 3);
    for (const item of failed) assert.equal(item['00081197'].Value[0], 0xc000);
    assert.equal((await stow(node.url, [{ bytes: files[1].bytes }])).status, 200, 'still serving');
  });

  it('accepts the same instances again (a retried push) and keeps one file each', async () => {
    const first = await stow(node.url, files.slice(0, 3).map((f) => ({ bytes: f.bytes })));
    const second = await stow(node.url, files.slice(0, 3).map((f) => ({ bytes: f.bytes })));
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.deepEqual(second.stored, first.stored);
  });
});
