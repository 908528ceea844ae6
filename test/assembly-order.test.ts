/**
 * The assembly records a study's arrivals in the order they were stored, also when instances are
 * stored several at a time (one STOW request's parts): the job's payload ends with the count of
 * everything spooled, and a burst costs fewer queue writes than instances.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { scanBuffers } from '../src/dicom/scan.ts';
import { spoolInstance } from '../src/intake/spool.ts';
import { createAssembly } from '../src/node/assembly.ts';
import { ANALYZE_STUDY, type AnalyzeStudyPayload } from '../src/node/jobs.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { SqliteJobQueue } from '../src/queue/sqlite-queue.ts';
import { makeTempDir } from './support/env.ts';

describe('assembly: arrivals stored at once', () => {
  it("a study's job ends with the count of all its spooled instances, in fewer queue writes than instances", async () => {
    const tmp = makeTempDir('ctmn-assembly-order-');
    const queue = new SqliteJobQueue(join(tmp.path, 'jobs.sqlite'));
    try {
      const study = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'L1', toLevel: 'T12', sliceThicknessMm: 1.5 });
      const { headers } = scanBuffers(study.files.map((f) => ({ bytes: f.bytes, label: f.fileName })));
      assert.ok(headers.length >= 12, `${headers.length} instances`);
      let writes = 0;
      const counting = new Proxy(queue, {
        get: (target, name, receiver) => (name === 'enqueue' ? (...args: Parameters<SqliteJobQueue['enqueue']>) => (writes++, target.enqueue(...args)) : Reflect.get(target, name, receiver)),
      });
      const spoolDir = join(tmp.path, 'spool');
      const assembly = createAssembly({ queue: counting, spoolDir, quietMs: 60_000, ownManufacturer: 'ct-muscle-node' });
      const studyUid = headers[0].studyInstanceUid;
      // As the receiver does with one request's parts: each spooled, then handed on, all at once.
      await Promise.all(
        headers.map(async (header, i) => {
          const path = await spoolInstance(spoolDir, header.studyInstanceUid, header.sopInstanceUid, study.files[i].bytes);
          await assembly.stored({ status: 'stored', sopClassUid: header.sopClassUid, sopInstanceUid: header.sopInstanceUid, studyInstanceUid: studyUid, seriesInstanceUid: header.seriesInstanceUid, path, header: { ...header, source: { kind: 'file', path } }, written: null });
        }),
      );
      const job = await queue.active<AnalyzeStudyPayload>(ANALYZE_STUDY, studyUid);
      assert.equal(job?.payload.instanceCount, headers.length);
      assert.ok(writes >= 1 && writes < headers.length, `${writes} queue writes for ${headers.length} instances`);
    } finally {
      await queue.close();
      tmp.remove();
    }
  });
});
