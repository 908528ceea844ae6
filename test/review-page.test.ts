/**
 * The status and review page, driven with Debian's Chromium (playwright-core) against the node on
 * loopback, on the demo's phantom study measured by the real stages: the list, the measured
 * slice's mask pixels against the SEG, the level line on the reformat, accept (dciodvfy, VERIFIED),
 * an edited SEG upload (area changes by the erased pixels), bad uploads, another slice, and the
 * authentication and CSRF refusals (the node bound to a non-loopback address of this machine).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadImage, createCanvas } from '@napi-rs/canvas';
import dcmjs from 'dcmjs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig, type Config } from '../src/config.ts';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { scanBuffers } from '../src/dicom/scan.ts';
import type { InstanceHeader } from '../src/dicom/types.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { readSegMask, writeSeg, type ResultJson } from '../src/report/index.ts';
import { startNode, type RunningNode } from '../src/server.ts';
import { hasCommand, makeTempDir, repoRoot } from './support/env.ts';
import { dciodvfy, naturalize, withGeometry } from './support/report-fixtures.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
/** docs/img is rewritten only on request (CT_MUSCLE_UPDATE_SCREENSHOTS=1), so a test run leaves the tree clean. */
const UPDATE_SCREENSHOTS = process.env.CT_MUSCLE_UPDATE_SCREENSHOTS === '1';

function nodeConfig(dir: string, server: Partial<Config['server']> = {}): Config {
  const base = loadConfig({ env: {} });
  return {
    ...base,
    spoolDir: join(dir, 'spool'),
    output: { ...base.output, dir: join(dir, 'results') },
    queue: { ...base.queue, path: join(dir, 'jobs.sqlite'), maxAttempts: 1 },
    server: { ...base.server, host: '127.0.0.1', port: 0, ...server },
    assembly: { quietPeriodSeconds: 0.2 },
  };
}

/** RGBA of a PNG (a screenshot). */
async function pixels(png: Buffer): Promise<{ data: Uint8ClampedArray; width: number; height: number }> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  return { data: context.getImageData(0, 0, image.width, image.height).data, width: image.width, height: image.height };
}

const isMaskColour = (d: Uint8ClampedArray, i: number) => d[i * 4] - Math.max(d[i * 4 + 1], d[i * 4 + 2]) > 40;
const isLevelLine = (d: Uint8ClampedArray, i: number) => d[i * 4] > 200 && d[i * 4 + 1] > 170 && d[i * 4 + 2] < 90;

/** The picture as shown: a screenshot of exactly its box, which must sit on whole pixels (not resampled). */
async function shotOf(page: Page, selector: string): Promise<{ data: Uint8ClampedArray; width: number; height: number }> {
  await page.waitForFunction(`document.querySelector('${selector}').complete && document.querySelector('${selector}').naturalWidth > 0`);
  const box = (await page.locator(selector).boundingBox())!;
  assert.ok([box.x, box.y, box.width, box.height].every(Number.isInteger), `${selector} at ${JSON.stringify(box)}`);
  return pixels(await page.screenshot({ clip: box, fullPage: true }));
}

/** A non-loopback IPv4 address of this machine, or null. */
function outsideAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return null;
}

describe('review page (Chromium against the node)', function () {
  this.timeout(300_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode;
  let study: Awaited<ReturnType<typeof generatePhantomStudy>>;
  let uid: string;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  let imgDir: string;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const api = async (path: string): Promise<any> => (await fetch(`${node.url}${path}`)).json();
  const result = (): ResultJson => JSON.parse(readFileSync(join(tmp.path, 'results', uid, 'result.json'), 'utf8')) as ResultJson;
  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }

  before(async function () {
    if (!existsSync(CHROMIUM)) this.skip();
    tmp = makeTempDir('ctmn-review-');
    imgDir = UPDATE_SCREENSHOTS ? join(repoRoot, 'docs', 'img') : join(tmp.path, 'img');
    mkdirSync(imgDir, { recursive: true });
    node = await startNode(nodeConfig(tmp.path));
    study = await generatePhantomStudy({ seed: 1, arms: true, fieldOfViewMm: 500 });
    uid = study.truth.studyInstanceUid;
    const sent = study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: study.truth.slices.find((s) => s.fileName === f.fileName)!.sopInstanceUid }));
    await stowInstances({ url: `${node.url}/dicomweb` }, sent);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await node.idle();
    profile = mkdtempSync(join(tmpdir(), 'ctmn-chromium-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1500, height: 1000 } });
    page = browser.pages()[0] ?? (await browser.newPage());
  });

  after(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await node?.stop();
    tmp?.remove();
  });

  it('lists the processed phantom study with its state, level and figures', async () => {
    await page.goto(`${node.url}/`);
    const row = page.locator('#studies tbody tr', { hasText: uid });
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /measured/);
    assert.match(text, /T12 \/ \d+/);
    assert.match(text, new RegExp(result().measurements!.areaCm2!.toFixed(2).replace('.', '\\.')));
    assert.match(text, /not reviewed/);
    await page.screenshot({ path: join(imgDir, 'review-list.png') });
  });

  it('study page: the coloured pixels of the measured slice are the SEG mask', async () => {
    await page.goto(`${node.url}/studies/${uid}`);
    const shot = await shotOf(page, '#axial');
    const readout = await readSegMask(new Uint8Array(readFileSync(join(tmp.path, 'results', uid, 'seg.dcm'))));
    const frame = readout.frames.find((f) => f.pixelCount > 0)!;
    assert.deepEqual([shot.width, shot.height], [readout.columns, readout.rows]);
    let both = 0;
    let coloured = 0;
    for (let i = 0; i < frame.mask.length; i++) {
      const c = isMaskColour(shot.data, i);
      coloured += c ? 1 : 0;
      both += c && frame.mask[i] ? 1 : 0;
    }
    assert.ok(both / frame.pixelCount > 0.99, `mask pixels coloured: ${both}/${frame.pixelCount}`);
    assert.ok(both / coloured > 0.99, `coloured pixels on the mask: ${both}/${coloured}`);
  });

  it('study page: the reformat has the level line at the measured slice and names the vertebrae', async () => {
    const shot = await shotOf(page, '#reformat');
    const lineRows: number[] = [];
    for (let r = 0; r < shot.height; r++) {
      let n = 0;
      for (let c = 0; c < shot.width; c++) n += isLevelLine(shot.data, r * shot.width + c) ? 1 : 0;
      if (n > shot.width / 2) lineRows.push(r);
    }
    const zs = study.truth.slices.map((s) => s.zMm).sort((a, b) => a - b);
    const expected = ((zs.at(-1)! - result().slice.zMm!) / (zs.at(-1)! - zs[0])) * (shot.height - 1);
    assert.equal(lineRows.length, 1, `level line rows: ${lineRows}`);
    // The body fills the picture from top to bottom (the phantom covers the whole series).
    const emptyRows = [];
    for (let r = 0; r < shot.height; r++) {
      let bright = 0;
      for (let c = 0; c < shot.width / 2; c++) bright += shot.data[(r * shot.width + c) * 4] > 60 ? 1 : 0;
      if (bright < 10) emptyRows.push(r);
    }
    assert.deepEqual(emptyRows, [], 'rows without anatomy');
    assert.ok(Math.abs(lineRows[0] - expected) <= 1, `line at row ${lineRows[0]}, slice at ${expected.toFixed(1)}`);
    const evidenceText = await page.locator('.evidence').innerText();
    for (const name of ['T11', 'T12', 'L1']) assert.match(evidenceText, new RegExp(`\\b${name}\\b`));
    await page.screenshot({ path: join(imgDir, 'review-study.png'), fullPage: true });
  });

  it('accept writes an amended SR, VERIFIED by the named observer, that dciodvfy accepts, and queues it for write-back', async () => {
    const original = result().outputs.sr!;
    await page.fill('#observer-name', 'Doe^Jane');
    const reloaded = page.waitForEvent('load');
    await page.click('#accept-form button');
    await reloaded;
    const record = await waitFor('the accept record', async () => ((await api(`/api/studies/${uid}`)).reviews as Array<{ action: string; detail: { srPath: string } }>).find((r) => r.action === 'accept'));
    const bytes = new Uint8Array(readFileSync(record.detail.srPath));
    const ds = naturalize(bytes);
    assert.equal(ds.VerificationFlag, 'VERIFIED');
    const observer = (ds.VerifyingObserverSequence as Array<Record<string, unknown>>)[0];
    assert.match(JSON.stringify(observer.VerifyingObserverName), /Doe\^Jane/);
    assert.match(JSON.stringify(ds.PredecessorDocumentsSequence), new RegExp(original.sopInstanceUid.replace(/\./g, '\\.')));
    assert.notEqual(ds.SOPInstanceUID, original.sopInstanceUid);
    if (hasCommand('dciodvfy')) {
      const report = dciodvfy(bytes);
      assert.deepEqual(report.errors, [], report.output);
    }
    const writeBacks = (await node.queue.list()).filter((j) => j.kind === 'write-back' && JSON.stringify(j.payload).includes(record.detail.srPath));
    assert.equal(writeBacks.length, 1);
    assert.match(await page.locator('#figures').innerText(), /accepted by Doe\^Jane/);
  });

  /** Upload on the study page; the page's message, and (on success) after the page reloaded. */
  async function uploadAndRead(path: string, succeeds = false): Promise<string> {
    await page.fill('#observer-name', 'Doe^Jane');
    await page.setInputFiles('#correct-form input[name="seg"]', path);
    const reloaded = succeeds ? page.waitForEvent('load') : null;
    await page.click('#correct-form button');
    const message = page.locator('#message');
    await message.waitFor({ state: 'visible' });
    const text = await message.innerText();
    await reloaded;
    return text;
  }

  /** A SEG on `source` (possibly with changed geometry) holding `mask`. */
  function segOn(source: InstanceHeader, mask: Uint8Array, revision: string): Uint8Array {
    return writeSeg({ source, level: { name: 'as-provided', sopInstanceUid: source.sopInstanceUid, warnings: [] }, segmenter: { id: 'viewer-edit', version: '1' }, flags: [], huWindow: { lowerHu: -29, upperHu: 150 }, mask, options: { revision } }).bytes;
  }

  /** The same SEG with every frame's pixels cleared: what a viewer stores after erasing everything. */
  function emptied(bytes: Uint8Array): Uint8Array {
    const message = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    for (const frame of message.dict['7FE00010'].Value as ArrayBuffer[]) new Uint8Array(frame).fill(0);
    return new Uint8Array(message.write());
  }

  it('refuses a file that is not a SEG, a SEG of another study or geometry and an empty mask, with a typed message, and changes nothing', async () => {
    const before = (await api(`/api/studies/${uid}`)).reviews.length;
    const figures = async () => page.locator('#figures').innerText();
    await page.goto(`${node.url}/studies/${uid}`);
    const shownBefore = await figures();
    const headers = scanBuffers(study.files.map((f) => ({ bytes: f.bytes, label: f.fileName }))).headers;
    const measured = headers.find((h) => h.sopInstanceUid === result().slice.sopInstanceUid)!;
    const other = await generatePhantomStudy({ rows: 64, columns: 64, fromLevel: 'L1', toLevel: 'T12', seed: 3 });
    const otherSource = scanBuffers([{ bytes: other.files[0].bytes, label: 'other' }]).headers[0];
    const band = (rows: number, columns: number) => new Uint8Array(rows * columns).fill(1, columns * 20, columns * 30);
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['a CT slice', study.files[0].bytes, /^E_NOT_SEG: /],
      ['a SEG of another study', segOn(otherSource, band(64, 64), 'foreign'), /^E_SEG_MISMATCH: /],
      ['a SEG of another geometry', segOn(withGeometry(measured, { rows: 100, columns: 120 }), band(100, 120), 'geometry'), /^E_INCONSISTENT_GEOMETRY: /],
      ['an empty mask', emptied(segOn(measured, band(measured.rows!, measured.columns!), 'empty')), /^E_EMPTY_MASK: /],
    ];
    for (const [what, bytes, expected] of cases) {
      const path = join(tmp.path, `bad-${what.replace(/\W+/g, '-')}.dcm`);
      writeFileSync(path, bytes);
      await page.goto(`${node.url}/studies/${uid}`);
      assert.match(await uploadAndRead(path), expected, what);
    }
    assert.equal((await api(`/api/studies/${uid}`)).reviews.length, before, 'no review recorded');
    await page.goto(`${node.url}/studies/${uid}`);
    assert.equal(await figures(), shownBefore, 'the figures are unchanged');
  });

  it('an uploaded edited SEG (left half erased) changes the area by the erased pixels', async () => {
    const json = result();
    const readout = await readSegMask(new Uint8Array(readFileSync(join(tmp.path, 'results', uid, 'seg.dcm'))));
    const frame = readout.frames.find((f) => f.pixelCount > 0)!;
    const edited = frame.mask.slice();
    for (let r = 0; r < readout.rows; r++) for (let c = 0; c < readout.columns / 2; c++) edited[r * readout.columns + c] = 0;
    const kept = edited.reduce((n, v) => n + v, 0);
    const headers = scanBuffers(study.files.map((f) => ({ bytes: f.bytes, label: f.fileName }))).headers;
    const source = headers.find((h) => h.sopInstanceUid === frame.referencedSopInstanceUid)!;
    const seg = writeSeg({ source, level: { name: 'as-provided', sopInstanceUid: source.sopInstanceUid, warnings: [] }, segmenter: { id: 'viewer-edit', version: '1' }, flags: [], huWindow: { lowerHu: -29, upperHu: 150 }, mask: edited, options: { revision: 'edit-1' } });
    const path = join(tmp.path, 'edited.dcm');
    writeFileSync(path, seg.bytes);
    await page.goto(`${node.url}/studies/${uid}`);
    assert.match(await uploadAndRead(path, true), /Done/);
    const [rowMm, colMm] = source.pixelSpacing!;
    const expectedArea = (json.measurements!.areaCm2! * kept) / frame.pixelCount;
    assert.ok(Math.abs(expectedArea - (kept * rowMm * colMm) / 100) < 1e-6);
    const row = await waitFor('the corrected row', async () => {
      const r = (await api('/api/studies')).studies.find((s: { studyInstanceUid: string; review: string }) => s.studyInstanceUid === uid && s.review === 'corrected');
      return r as { areaCm2: number } | undefined;
    });
    assert.ok(Math.abs(row.areaCm2 - expectedArea) < 1e-6, `area ${row.areaCm2}, expected ${expectedArea}`);
    assert.match(await page.locator('#figures').innerText(), new RegExp(expectedArea.toFixed(2).replace('.', '\\.')));
    const shot = await shotOf(page, '#axial');
    let colouredLeft = 0;
    for (let r = 0; r < readout.rows; r++) for (let c = 0; c < readout.columns / 2; c++) colouredLeft += isMaskColour(shot.data, r * readout.columns + c) ? 1 : 0;
    assert.equal(colouredLeft, 0, 'the picture shows the edited mask');
  });

  it('another slice chosen on the page is measured', async () => {
    const chosen = result().slice.sliceIndex! + 3;
    await page.goto(`${node.url}/studies/${uid}`);
    await page.fill('#observer-name', 'Doe^Jane');
    // Picked on the reformat: a click on the row of that slice's z fills in the slice index.
    const zs = study.truth.slices.map((s) => s.zMm).sort((a, b) => a - b);
    await page.waitForFunction("document.getElementById('reformat').complete");
    const box = (await page.locator('#reformat').boundingBox())!;
    const clickRow = ((zs.at(-1)! - zs[chosen]) / (zs.at(-1)! - zs[0])) * (box.height - 1);
    await page.locator('#reformat').click({ position: { x: box.width / 3, y: clickRow + 0.5 } });
    assert.equal(await page.inputValue('#slice-form input[name="sliceIndex"]'), String(chosen));
    const reloaded = page.waitForEvent('load');
    await page.click('#slice-form button');
    await reloaded;
    await new Promise((resolve) => setTimeout(resolve, 300));
    await node.idle();
    const after = result();
    assert.equal(after.level.name, 'as-provided');
    assert.equal(after.slice.sliceIndex, chosen);
    assert.ok(Math.abs(after.slice.zMm! - zs[chosen]) < 1e-3);
    assert.ok(after.measurements!.areaCm2! > 0);
    const row = (await api('/api/studies')).studies.find((s: { studyInstanceUid: string }) => s.studyInstanceUid === uid);
    assert.equal(row.sliceIndex, chosen);
    assert.equal(row.review, 'not reviewed', 'a new result waits for a new review');
  });

  it('reject writes an amended SR without figures that says the result is not to be used', async () => {
    const inForce = result().outputs.sr!;
    await page.goto(`${node.url}/studies/${uid}`);
    await page.fill('#observer-name', 'Doe^Jane');
    await page.fill('#reject-form input[name="reason"]', 'wrong level');
    const reloaded = page.waitForEvent('load');
    await page.click('#reject-form button');
    await reloaded;
    const records = (await api(`/api/studies/${uid}`)).reviews as Array<{ action: string; who: string; detail: { srPath: string } }>;
    const record = records.at(-1)!;
    assert.deepEqual([record.action, record.who], ['reject', 'Doe^Jane']);
    const bytes = new Uint8Array(readFileSync(record.detail.srPath));
    const ds = naturalize(bytes);
    const text = JSON.stringify(ds.ContentSequence);
    assert.match(text, /Rejected on review by Doe\^Jane \([^)]+\): wrong level\. The measurement of the predecessor report is not to be used\./);
    assert.doesNotMatch(text, /"NUM"[^]*131184002/, 'no area item');
    assert.equal(ds.VerificationFlag, 'UNVERIFIED');
    assert.match(JSON.stringify(ds.PredecessorDocumentsSequence), new RegExp(inForce.sopInstanceUid.replace(/\./g, '\\.')));
    if (hasCommand('dciodvfy')) assert.deepEqual(dciodvfy(bytes).errors, []);
    const row = (await api('/api/studies?review=rejected')).studies.find((s: { studyInstanceUid: string }) => s.studyInstanceUid === uid);
    assert.ok(row, 'the list filtered on "rejected" shows the study');
    assert.match(await page.locator('#history').innerText(), /reject/);
  });

  it('lists a dead letter with its reason and queues it again', async () => {
    // A job of a kind no worker takes, failed for good: the dead letter the page must show.
    const deadUid = '1.2.826.0.1.3680043.8.498.1';
    await node.queue.enqueue('review-test', deadUid, { studyInstanceUid: deadUid, note: 'kept as is' });
    const claimed = (await node.queue.claim(['review-test']))!;
    const dead = await node.queue.fail(claimed.id, { code: 'E_IO', message: 'disk full (test)' }, { retryable: false });
    assert.equal(dead.state, 'dead');
    await page.goto(`${node.url}/`);
    const row = page.locator('#dead tbody tr', { hasText: deadUid });
    assert.match(await row.innerText(), /E_IO disk full \(test\)/);
    await row.locator('button').click();
    await page.locator('#message', { hasText: 'Queued again' }).waitFor();
    const again = (await node.queue.list()).filter((j) => j.key === deadUid && j.id > dead.id);
    assert.equal(again.length, 1);
    assert.deepEqual(again[0].payload, dead.payload);
  });

  it('refuses a POST without the CSRF token, or from another origin, and changes nothing', async () => {
    const before = (await api(`/api/studies/${uid}`)).reviews.length;
    const bare = await fetch(`${node.url}/api/studies/${uid}/accept`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ observerName: 'Mallory' }) });
    assert.equal(bare.status, 403);
    assert.equal(((await bare.json()) as { code: string }).code, 'E_CSRF');
    const token = await page.locator('meta[name="csrf-token"]').getAttribute('content');
    const foreign = await fetch(`${node.url}/api/studies/${uid}/accept`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token!, Origin: 'http://evil.example' }, body: JSON.stringify({ observerName: 'Mallory' }) });
    assert.equal(foreign.status, 403);
    assert.equal((await api(`/api/studies/${uid}`)).reviews.length, before);
  });

  it('off loopback: 401 without credentials, the page with them, CSRF still required', async function () {
    const address = outsideAddress();
    if (!address) this.skip();
    const dir = makeTempDir('ctmn-review-auth-');
    const secured = await startNode(nodeConfig(dir.path, { host: address!, credentials: { bearerTokens: [], basic: [{ user: 'jane', password: 'correct horse' }] } }));
    try {
      assert.ok(!secured.url.includes('127.0.0.1'));
      const anonymous = await fetch(`${secured.url}/`);
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /Basic/);
      assert.equal((await fetch(`${secured.url}/api/studies`)).status, 401);
      const authorization = `Basic ${Buffer.from('jane:correct horse').toString('base64')}`;
      const signedIn = await fetch(`${secured.url}/`, { headers: { authorization } });
      assert.equal(signedIn.status, 200);
      assert.equal((await fetch(`${secured.url}/`, { headers: { authorization: `Basic ${Buffer.from('jane:wrong').toString('base64')}` } })).status, 401);
      const post = await fetch(`${secured.url}/api/jobs/1/requeue`, { method: 'POST', headers: { authorization } });
      assert.equal(post.status, 403);
      // With the token the page gave this user, the same POST gets through to the action (no such job).
      const token = /name="csrf-token" content="([^"]+)"/.exec(await signedIn.text())![1];
      const withToken = await fetch(`${secured.url}/api/jobs/1/requeue`, { method: 'POST', headers: { authorization, 'X-CSRF-Token': token } });
      assert.deepEqual([withToken.status, ((await withToken.json()) as { code: string }).code], [409, 'E_REVIEW_STATE']);
      const otherUsersToken = await fetch(`${secured.url}/api/jobs/1/requeue`, { method: 'POST', headers: { authorization, 'X-CSRF-Token': `${token}x` } });
      assert.equal(otherUsersToken.status, 403);
      assert.equal((await fetch(`${secured.url}/healthz`)).status, 200, 'health stays open');
    } finally {
      await secured.stop();
      dir.remove();
    }
  });
});
