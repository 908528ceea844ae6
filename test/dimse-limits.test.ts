/**
 * The SCP's limits and the pieces behind them: concurrent associations (a lingering dcmjs-dimse
 * association and echoscu), PDU length (a raw TCP peer announcing a huge P-DATA-TF), the calling
 * AE/host rules, the Part 10 wrapping of a received data set, and the dimse configuration checks.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';
import { parseDicom } from '../src/dicom/read.ts';
import { TS } from '../src/dicom/transfer-syntax.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { Client, requests } from '../src/dimse/library.ts';
import { part10FromDataSet } from '../src/dimse/part10.ts';
import { createPduGuard } from '../src/dimse/pdu-guard.ts';
import { judgeCallingAe } from '../src/dimse/peers.ts';
import { resolveWriteBackTarget } from '../src/dimse/write-back-target.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { startNode, type RunningNode } from '../src/server.ts';
import { echoscu, requireDcmtk, writeFiles } from './support/dimse.ts';
import { makeTempDir } from './support/env.ts';

const AE = 'CTMN_TEST';

function dimseConfig(dir: string, dimse: Partial<Config['dimse']>): Config {
  const base = loadConfig({ env: {} });
  return {
    ...base,
    spoolDir: join(dir, 'spool'),
    output: { ...base.output, dir: join(dir, 'out'), overlay: false },
    server: { ...base.server, port: 0 },
    queue: { ...base.queue, path: join(dir, 'jobs.sqlite') },
    assembly: { quietPeriodSeconds: 60 },
    dimse: { ...base.dimse, enabled: true, aeTitle: AE, port: 0, ...dimse },
  };
}

describe('DIMSE limits', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  before(function () {
    requireDcmtk(this);
  });
  beforeEach(() => (tmp = makeTempDir('ctmn-dimse-limits-')));
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    tmp.remove();
  });

  it('rejects an association beyond dimse.maxAssociations (transient, local limit exceeded) while another is open', async () => {
    node = await startNode(dimseConfig(tmp.path, { maxAssociations: 1 }));
    const study = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'T12', toLevel: 'T12', sliceThicknessMm: 5, seed: 61 });
    const [path] = writeFiles(join(tmp.path, 'in'), study.files.slice(0, 1));
    const client = new Client();
    client.addRequest(new requests.CStoreRequest(path));
    const accepted = new Promise<void>((resolve) => client.on('associationAccepted', () => resolve()));
    const closed = new Promise<void>((resolve) => client.on('closed', () => resolve()));
    // The first association lingers 3 s after its last response before it is released.
    client.send('127.0.0.1', node.dimse!.port, 'LINGER', AE, { associationLingerTimeout: 3000 });
    await accepted;
    const second = await echoscu(node.dimse!.port, 'MODALITY', AE);
    assert.notEqual(second.code, 0);
    assert.match(second.output, /Local Limit Exceeded/i);
    await closed;
    assert.equal((await echoscu(node.dimse!.port, 'MODALITY', AE)).code, 0, 'accepted again once the first is released');
  });

  it('drops a connection whose P-DATA-TF announces more than dimse.maxPduBytes, and keeps serving', async () => {
    node = await startNode(dimseConfig(tmp.path, { maxPduBytes: 16384 }));
    const socket = connect(node.dimse!.port, '127.0.0.1');
    const ended = new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 5000);
    });
    socket.on('error', () => undefined);
    socket.write(Buffer.from([0x04, 0x00, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
    assert.equal(await ended, true, 'the node closed the connection');
    assert.equal((await echoscu(node.dimse!.port, 'MODALITY', AE)).code, 0);
  });
});

describe('DIMSE pieces', () => {
  it('the PDU guard reads headers across chunk boundaries', () => {
    const guard = createPduGuard(1000);
    const pdu = (type: number, length: number) => {
      const head = Buffer.alloc(6);
      head[0] = type;
      head.writeUInt32BE(length, 2);
      return Buffer.concat([head, Buffer.alloc(length)]);
    };
    const stream = Buffer.concat([pdu(0x04, 1000), pdu(0x04, 10), pdu(0x04, 1001)]);
    assert.equal(guard.inspect(stream.subarray(0, 3)), null);
    assert.equal(guard.inspect(stream.subarray(3, 1010)), null);
    assert.match(guard.inspect(stream.subarray(1010)) ?? '', /announces 1001 bytes/);
    assert.equal(createPduGuard(1000).inspect(pdu(0x01, 5000)), null, 'an A-ASSOCIATE-RQ is not held to the P-DATA limit');
  });

  it('calling AE rules: empty list admits any, titles and IP addresses must match', () => {
    assert.deepEqual(judgeCallingAe([], 'ANY', '10.0.0.1'), { ok: true });
    const known = [{ aeTitle: 'PACS', hosts: ['10.0.0.5'] }, { aeTitle: 'MODALITY' }];
    assert.equal(judgeCallingAe(known, 'PACS', '::ffff:10.0.0.5').ok, true);
    assert.deepEqual(judgeCallingAe(known, 'PACS', '10.0.0.6'), { ok: false, reason: 'host-not-allowed' });
    assert.deepEqual(judgeCallingAe(known, 'OTHER', '10.0.0.5'), { ok: false, reason: 'calling-ae-not-recognized' });
    assert.equal(judgeCallingAe(known, 'MODALITY', '192.168.1.1').ok, true);
  });

  it('wraps a received data set as a Part 10 file that reads back with the negotiated syntax', async () => {
    const study = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'T12', toLevel: 'T12', sliceThicknessMm: 5, seed: 62 });
    const original = parseDicom(study.files[0].bytes, { headerOnly: true });
    const buffer = Buffer.from(study.files[0].bytes);
    const dataSet = buffer.subarray(144 + buffer.readUInt32LE(140));
    const wrapped = part10FromDataSet(dataSet, { sopClassUid: original.dataset.SOPClassUID as string, sopInstanceUid: original.dataset.SOPInstanceUID as string, transferSyntaxUid: original.transferSyntaxUid, sourceAeTitle: 'MOD' });
    const read = parseDicom(wrapped, { headerOnly: true });
    assert.equal(read.transferSyntaxUid, TS.explicitVrLittleEndian);
    assert.equal(read.meta.SourceApplicationEntityTitle, 'MOD');
    assert.equal(read.dataset.SOPInstanceUID, original.dataset.SOPInstanceUID);
  });

  it('routes write-back: the sending AE when known with returnTo, else the destination (DICOM AE or URL), else local', () => {
    const routing = {
      destination: { host: 'pacs', port: 104, calledAeTitle: 'PACS' },
      pollSource: null,
      toSendingAe: true,
      ownAeTitle: 'CTMN',
      knownAes: [{ aeTitle: 'ORTHANC', returnTo: { host: 'orthanc', port: 4242 } }, { aeTitle: 'MOD' }],
    };
    assert.deepEqual(resolveWriteBackTarget(routing, 'ORTHANC'), { kind: 'dimse', target: { host: 'orthanc', port: 4242, calledAeTitle: 'ORTHANC', callingAeTitle: 'CTMN' } });
    assert.deepEqual(resolveWriteBackTarget(routing, 'MOD'), { kind: 'dimse', target: { host: 'pacs', port: 104, calledAeTitle: 'PACS', callingAeTitle: 'CTMN' } });
    assert.deepEqual(resolveWriteBackTarget({ ...routing, destination: null, pollSource: { url: 'http://pacs/dicom-web' } }, undefined), { kind: 'dicomweb', target: { url: 'http://pacs/dicom-web' } });
    assert.equal(resolveWriteBackTarget({ ...routing, destination: null }, undefined), null);
  });

  it('configuration: DIMSE is off by default; a network listener needs callingAes; AE titles are checked', () => {
    assert.equal(loadConfig({ env: {} }).dimse.enabled, false);
    const invalid = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(() => loadConfig({ env }), (error: unknown) => isCtMuscleError(error) && error.code === 'E_CONFIG_INVALID' && pattern.test(error.message));
    invalid({ CT_MUSCLE_NODE__DIMSE__ENABLED: 'true', CT_MUSCLE_NODE__DIMSE__HOST: '0.0.0.0' }, /dimse\.callingAes must list/);
    invalid({ CT_MUSCLE_NODE__DIMSE__AE_TITLE: 'MUCH_TOO_LONG_AE_TITLE' }, /dimse\.aeTitle: AE titles have at most 16/);
    invalid({ CT_MUSCLE_NODE__DIMSE__CALLING_AES: '[{"aeTitle":"PACS","hosts":["pacs.local"]}]' }, /must be an IP address/);
    const open = loadConfig({ env: { CT_MUSCLE_NODE__DIMSE__ENABLED: 'true', CT_MUSCLE_NODE__DIMSE__HOST: '0.0.0.0', CT_MUSCLE_NODE__DIMSE__CALLING_AES: '[{"aeTitle":"PACS"}]' } });
    assert.equal(open.dimse.callingAes[0].aeTitle, 'PACS');
  });
});
