/** Write-back client: judged per instance, against real Orthanc, the node's own receiver, and a dead port. */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { readStowAnswer, stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { createInstanceStore } from '../src/intake/store-instance.ts';
import { stowRouter } from '../src/dicomweb/server/stow-receiver.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { makeTempDir } from './support/env.ts';
import { freeLoopbackPort, type OrthancHandle, requireOrthanc, startOrthanc } from './support/orthanc.ts';

async function phantomInstances() {
  const study = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'L1', toLevel: 'T12', sliceThicknessMm: 5, seed: 11 });
  return {
    studyUid: study.truth.studyInstanceUid,
    instances: study.files.map((f, i) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)?.sopInstanceUid ?? String(i) })),
  };
}

describe('STOW-RS write-back client', function () {
  this.timeout(60_000);
  it('reads an answer per instance: a UID missing from 00081199 is a failure even under 200', () => {
    const body = { '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.2.1'] } }] } };
    const outcome = readStowAnswer(200, body, ['1.2.1', '1.2.2']);
    assert.deepEqual(outcome.stored, ['1.2.1']);
    assert.deepEqual(outcome.missing, ['1.2.2']);
  });

  it('a PACS that is down is a retryable E_PACS_UNAVAILABLE', async () => {
    const port = await freeLoopbackPort();
    const { instances } = await phantomInstances();
    await assert.rejects(
      stowInstances({ url: `http://127.0.0.1:${port}/dicom-web`, timeoutMs: 5000 }, instances.slice(0, 1)),
      (e: unknown) => isCtMuscleError(e) && e.code === 'E_PACS_UNAVAILABLE' && e.details?.retryable === true,
    );
  });

  it('a 409 from the receiving node is a final E_PACS_REJECTED', async () => {
    const tmp = makeTempDir('ctmn-stowc-');
    const app = express();
    app.use(stowRouter({ storeInstance: createInstanceStore({ spoolDir: tmp.path }), maxInstanceBytes: 1 << 22, maxRequestBytes: 1 << 26, maxParts: 100 }));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dicomweb`;
      const { instances } = await phantomInstances();
      const ok = await stowInstances({ url }, instances);
      assert.equal(ok.status, 200);
      assert.equal(ok.stored.length, instances.length);
      await assert.rejects(
        stowInstances({ url }, [{ sopInstanceUid: '9.9', bytes: new Uint8Array(200) }]),
        (e: unknown) => isCtMuscleError(e) && e.code === 'E_PACS_REJECTED' && e.details?.retryable === false,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
      tmp.remove();
    }
  });

  describe('against Orthanc', function () {
    let orthanc: OrthancHandle | undefined;
    before(async function () {
      requireOrthanc(this);
      orthanc = await startOrthanc();
    });
    after(async () => orthanc?.stop());

    it('stores a phantom series and confirms every UID', async () => {
      const { instances, studyUid } = await phantomInstances();
      const outcome = await stowInstances({ url: orthanc!.dicomWebRoot }, instances, studyUid);
      assert.deepEqual([...outcome.stored].sort(), instances.map((i) => i.sopInstanceUid).sort());
      assert.deepEqual(outcome.missing, []);
    });
  });
});
