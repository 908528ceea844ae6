/**
 * Issue #11 item 6: errors that leak or mislead. Bad bytes in a part header and a bad
 * percent-encoding are the client's fault (400, plain message, no stack or path); /readyz names
 * no path; a white-space token fails configuration; the Authorization header is parsed exactly.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { startNode, type RunningNode } from '../src/server.ts';
import { makeTempDir } from './support/env.ts';
import { multipartRelated } from './support/orthanc.ts';

const TOKEN = 'a-token-of-thirty-two-characters';

function nodeConfig(dir: string): Config {
  const base = loadConfig({ env: {} });
  return {
    ...base,
    logLevel: 'error',
    spoolDir: join(dir, 'spool'),
    output: { ...base.output, dir: join(dir, 'out'), overlay: false },
    server: { ...base.server, port: 0, credentials: { bearerTokens: [TOKEN], basic: [] } },
    queue: { ...base.queue, path: join(dir, 'jobs.sqlite') },
    disk: { retryAfterSeconds: 30 },
    health: { ...base.health, minFreeSpoolMb: 0 },
  };
}

/** No stack frame, no absolute path of this machine. */
function assertNoLeak(text: string): void {
  assert.doesNotMatch(text, /\bat [\w.<>]+ \(|node_modules|\/work\/|\/tmp\//, text);
}

describe('error answers that neither leak nor mislead', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  beforeEach(async () => {
    tmp = makeTempDir('ctmn-errors-');
    node = await startNode(nodeConfig(tmp.path));
  });
  afterEach(async () => {
    await node.stop();
    tmp.remove();
  });

  it('a non-UTF-8 byte in a part header: 400 with FailureReason 0xC000, not 500', async () => {
    const body = Buffer.concat([Buffer.from('--b\r\nContent-Type: application/dicom\r\nX-Name: a'), Buffer.from([0xff, 0xfe]), Buffer.from('\r\n\r\nxxxx\r\n--b--\r\n')]);
    const response = await fetch(`${node.url}/dicomweb/studies`, { method: 'POST', headers: { ...auth, 'Content-Type': 'multipart/related; type="application/dicom"; boundary=b' }, body });
    assert.equal(response.status, 400);
    const json = (await response.json()) as Record<string, { Value: Array<Record<string, { Value: number[] }>> }>;
    assert.equal(json['00081198'].Value[0]['00081197'].Value[0], 0xc000);
    assert.equal((await fetch(`${node.url}/healthz`)).status, 200);
  });

  it('a bad percent-encoding in the URL: 400 with a plain message, no stack trace or file path', async () => {
    for (const path of ['/dicomweb/studies/%E0%A4%A', '/dicomweb/studies/%zz']) {
      const response = await fetch(`${node.url}${path}`, { method: 'POST', headers: { ...auth, 'Content-Type': 'multipart/related; type="application/dicom"; boundary=b' }, body: '--b--' });
      assert.equal(response.status, 400, path);
      const text = await response.text();
      assertNoLeak(text);
      assert.match(text, /percent-encoding/);
    }
  });

  it("/readyz's 503 names no path when the spool is gone", async () => {
    rmSync(join(tmp.path, 'spool'), { recursive: true });
    const response = await fetch(`${node.url}/readyz`);
    assert.equal(response.status, 503);
    const text = await response.text();
    assertNoLeak(text);
    assert.doesNotMatch(text, new RegExp(tmp.path.replace(/[/.]/g, '\\$&')));
  });

  it('Authorization is parsed exactly: "Bearer <token> junk" and doubled tokens are refused, the plain token is not', async () => {
    const { files } = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'L1', toLevel: 'T12', sliceThicknessMm: 5 });
    const { body, contentType } = multipartRelated([{ bytes: files[0].bytes }]);
    const send = (authorization: string) => fetch(`${node.url}/dicomweb/studies`, { method: 'POST', headers: { 'Content-Type': contentType, Authorization: authorization }, body });
    for (const bad of [`Bearer ${TOKEN} junk`, `Bearer ${TOKEN} ${TOKEN}`, `Bearer  ${TOKEN}\tx`, `Bearer`, `${TOKEN}`]) assert.equal((await send(bad)).status, 401, bad);
    assert.equal((await send(`Bearer ${TOKEN}`)).status, 200);
  });

  it('a token of white space only (or holding white space) fails configuration validation', () => {
    for (const token of [' '.repeat(16), `${'x'.repeat(16)} y`, '\t'.repeat(20)]) {
      const file = join(tmp.path, 'bad.json');
      writeFileSync(file, JSON.stringify({ server: { credentials: { bearerTokens: [token], basic: [] } } }));
      assert.throws(() => loadConfig({ file, env: {} }), (error: unknown) => isCtMuscleError(error) && error.code === 'E_CONFIG_INVALID' && /white space/.test(error.message));
    }
    const file = join(tmp.path, 'bad-basic.json');
    writeFileSync(file, JSON.stringify({ server: { credentials: { bearerTokens: [], basic: [{ user: 'pacs', password: ' '.repeat(10) }] } } }));
    assert.throws(() => loadConfig({ file, env: {} }), /E_CONFIG_INVALID|white space/);
  });
});
