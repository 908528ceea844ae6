/**
 * The outputs in OHIF (npm run test:viewer; skipped in the normal run because it takes a minute
 * and fetches the 50 MB OHIF build once): Orthanc holds the CT, SEG and SR; a Node server serves
 * OHIF's prebuilt dist and forwards /dicom-web to Orthanc; headless Chromium opens the study,
 * loads the SEG and checks that the coloured overlay pixels land inside the mask on the measured
 * slice, then loads the SR and checks that its measurements are shown on that slice. The SEG
 * check is repeated for phantom series in four patient positions (HFS, FFS, HFP, FFP), each its
 * own study, with the left posterior quarter of the phantom's true T12 muscle mask: feet-first
 * and prone must land on that muscle too, not on its mirror image. One Orthanc, one OHIF server
 * and one browser for all cases.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { writeReport, type ReportOutput } from '../src/report/report.ts';
import { readInstanceHeader } from '../src/dicom/read.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import { planVolume } from '../src/dicom/volume.ts';
import { summarizeBody } from '../src/measure/index.ts';
import { decodeMaskRle, generatePhantomStudy } from '../src/phantom/index.ts';
import { repoRoot, requirePaths } from './support/env.ts';
import { ensureOhifDist, startViewerServer, type ViewerServer } from './support/ohif.ts';
import { orthancUnavailableReason, startOrthanc, stow, unconfirmed, type OrthancHandle } from './support/orthanc.ts';
import type { InstanceHeader } from '../src/dicom/types.ts';
import {
  MEASURED_INDEX,
  PHANTOM_ORIENTATIONS,
  SHARED_LABELS_NIFTI,
  SHARED_SERIES_DIR,
  autochthonMask,
  commonFor,
  loadSharedSeries,
  measureOnSlice,
  measureHu,
  levelFor,
  phantomCase,
  sliceHu,
  type PhantomCase,
  type SharedSeries,
} from './support/report-fixtures.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  // WebGL on the CPU (SwiftShader): cornerstone3D renders with WebGL.
  '--use-gl=angle',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];
const SCREENSHOT_DIR = process.env.CT_MUSCLE_VIEWER_SCREENSHOT_DIR ?? join(repoRoot, '.tmp', 'viewer');

/** Minimal PNG decoder (8-bit RGB/RGBA, non-interlaced: what Chromium writes) → RGBA. */
function decodePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  let offset = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error('unsupported PNG (bit depth or interlace)');
      colorType = data[9];
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const channels = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  if (!channels) throw new Error(`unsupported PNG colour type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      pixels[y * stride + x] = (line[x] + predictor) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(pixels.subarray(i * channels, i * channels + 3), i * 4);
    rgba[i * 4 + 3] = channels === 4 ? pixels[i * channels + 3] : 255;
  }
  return { width, height, rgba };
}

interface ViewportState {
  imageId: string;
  rect: { x: number; y: number; width: number; height: number };
  /** World coordinates of canvas points (0,0), (1,0), (0,1): the canvas → patient affine map. */
  world: [number[], number[], number[]];
}

/*
 * Code that runs in the page is passed as strings: the project's TypeScript has no DOM types.
 */
const VIEWPORT_STATE = `(() => {
  const viewport = window.cornerstone?.getRenderingEngines()?.[0]?.getViewports()?.[0];
  const imageId = viewport?.getCurrentImageId?.();
  if (!viewport || !imageId) return null;
  const r = viewport.canvas.getBoundingClientRect();
  return {
    imageId,
    rect: { x: r.x, y: r.y, width: r.width, height: r.height },
    world: [viewport.canvasToWorld([0, 0]), viewport.canvasToWorld([1, 0]), viewport.canvasToWorld([0, 1])],
  };
})()`;
const RENDER = 'window.cornerstone.getRenderingEngines()[0]?.render()';
const BODY_TEXT = 'document.body.innerText';

async function viewportState(page: Page): Promise<ViewportState | null> {
  return page.evaluate<ViewportState | null>(VIEWPORT_STATE);
}

async function bodyText(page: Page): Promise<string> {
  return page.evaluate<string>(BODY_TEXT);
}

async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const saved: string[] = [];

function saveSmall(name: string, bytes: Buffer): void {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, name);
  writeFileSync(file, bytes);
  saved.push(file);
}

/**
 * The part of a phantom's true muscle mask on the patient's left and posterior (LPS x > 0, y > 0,
 * from the slice's IPP/IOP): asymmetric left-right and front-back whatever the patient position,
 * so an overlay drawn mirrored or flipped misses it.
 */
function leftPosteriorMask(src: InstanceHeader, mask: Uint8Array): Uint8Array {
  const ipp = src.imagePositionPatient!;
  const iop = src.imageOrientationPatient!;
  const [rowSpacing, columnSpacing] = src.pixelSpacing!;
  const columns = src.columns!;
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const c = i % columns;
    const r = Math.floor(i / columns);
    const x = ipp[0] + c * columnSpacing * iop[0] + r * rowSpacing * iop[3];
    const y = ipp[1] + c * columnSpacing * iop[1] + r * rowSpacing * iop[4];
    if (x > 0 && y > 0) out[i] = 1;
  }
  return out;
}

interface BodyCase {
  files: Uint8Array[];
  source: InstanceHeader;
  report: ReportOutput;
}

/**
 * measurement.slices "body" in its own phantom study: the T12 slice and the slices above and
 * below it, each with its true muscle mask and numbers measured on its HU, as the pipeline hands
 * them to writeReport.
 */
async function bodyCase(): Promise<BodyCase> {
  const { files, truth } = await generatePhantomStudy(
    { rows: 256, columns: 256, fromLevel: 'L1', toLevel: 'T11', orientation: 'HFS', patient: { id: 'PHANTOM-BODY', name: 'PHANTOM^BODY' } },
    { masks: 'all' },
  );
  const headers = await Promise.all(files.map((f) => readInstanceHeader({ kind: 'memory', bytes: f.bytes, label: f.fileName })));
  const { ordered } = planVolume(groupIntoSeries(headers)[0]);
  const mid = ordered.findIndex((h) => h.sopInstanceUid === truth.t12.sopInstanceUid);
  const indices = [mid - 1, mid, mid + 1];
  const slices = await Promise.all(
    indices.map(async (k) => {
      const header = ordered[k];
      const mask = decodeMaskRle(truth.slices.find((t) => t.sopInstanceUid === header.sopInstanceUid)!.muscleMask!);
      return { header, mask, muscle: measureHu(await sliceHu(ordered, k), mask, header.pixelSpacing!) };
    }),
  );
  const figures = summarizeBody({
    bodyMm: [ordered[mid - 1].imagePositionPatient![2] - 2, ordered[mid + 1].imagePositionPatient![2] + 2],
    rule: 'the T12 slice and its neighbours (viewer test)',
    slices: slices.map((s, i) => ({ sliceIndex: indices[i], sopInstanceUid: s.header.sopInstanceUid, zMm: s.header.imagePositionPatient![2], muscle: s.muscle, flags: [] })),
    notMeasured: [],
  });
  const source = ordered[mid];
  const own = slices[1];
  const report = writeReport({
    ...commonFor(source),
    level: levelFor(source, mid),
    mask: own.mask,
    measurements: own.muscle,
    body: { figures, slices: figures.slices.map((f) => ({ source: ordered[f.sliceIndex], mask: slices[indices.indexOf(f.sliceIndex)].mask })) },
  });
  return { files: files.map((f) => f.bytes), source, report };
}

describe('report: SEG and SR in the OHIF viewer', function () {
  this.timeout(600000);
  let orthanc: OrthancHandle | null = null;
  let viewer: ViewerServer | null = null;
  let browser: BrowserContext | null = null;
  let profile: string | null = null;
  let page: Page;
  let series: SharedSeries;
  let mask: Uint8Array;
  let report: ReportOutput;
  const pageErrors: string[] = [];
  const phantoms = new Map<string, PhantomCase>();
  const phantomMasks = new Map<string, Uint8Array>();
  let body: BodyCase;

  before(async function () {
    if (process.env.CT_MUSCLE_VIEWER_TEST !== '1') {
      console.log('      skipped: the OHIF viewer check runs with `npm run test:viewer` (CT_MUSCLE_VIEWER_TEST=1)');
      this.skip();
    }
    const reason = orthancUnavailableReason() ?? (existsSync(CHROMIUM) ? null : `${CHROMIUM} not found (apt-get install chromium)`);
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
    requirePaths(this, SHARED_SERIES_DIR, SHARED_LABELS_NIFTI);
    series = await loadSharedSeries();
    // TotalSegmentator's erector spinae on the measured slice: a realistic segmenter output.
    mask = autochthonMask(MEASURED_INDEX);
    report = writeReport({ ...commonFor(series.source), mask, measurements: await measureOnSlice(series, MEASURED_INDEX, mask) });
    const dist = ensureOhifDist();
    orthanc = await startOrthanc();
    const parts = await Promise.all(series.ordered.map(async (h) => ({ bytes: new Uint8Array(await readFile((h.source as { path: string }).path)) })));
    const stored = await stow(orthanc.dicomWebRoot, [...parts, { bytes: report.seg!.bytes }, { bytes: report.sr.bytes }]);
    assert.deepEqual(unconfirmed(stored, [...series.ordered.map((h) => h.sopInstanceUid), report.seg!.sopInstanceUid, report.sr.sopInstanceUid]), []);
    for (const orientation of PHANTOM_ORIENTATIONS) {
      const c = await phantomCase(orientation);
      const quadrant = leftPosteriorMask(c.source, c.mask);
      const r = writeReport({ ...commonFor(c.source), level: c.level, mask: quadrant, measurements: measureHu(c.hu, quadrant, c.source.pixelSpacing!) });
      phantoms.set(orientation, c);
      phantomMasks.set(orientation, quadrant);
      const sent = await stow(orthanc.dicomWebRoot, [...c.files.map((bytes) => ({ bytes })), { bytes: r.seg!.bytes }, { bytes: r.sr.bytes }]);
      assert.deepEqual(unconfirmed(sent, [...c.ordered.map((h) => h.sopInstanceUid), r.seg!.sopInstanceUid, r.sr.sopInstanceUid]), []);
    }
    body = await bodyCase();
    const bodySent = await stow(orthanc.dicomWebRoot, [...body.files.map((bytes) => ({ bytes })), { bytes: body.report.seg!.bytes }, { bytes: body.report.sr.bytes }]);
    assert.deepEqual(unconfirmed(bodySent, [body.report.seg!.sopInstanceUid, body.report.sr.sopInstanceUid]), []);
    viewer = await startViewerServer(dist, orthanc.baseUrl);
    profile = mkdtempSync(join(tmpdir(), 'ctmn-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await openStudy(series.source.studyInstanceUid);
  });

  async function openStudy(studyInstanceUid: string): Promise<void> {
    await page.goto(`${viewer!.url}/viewer?StudyInstanceUIDs=${studyInstanceUid}`);
    await waitFor('the CT in the viewport', () => viewportState(page));
    const skipTour = page.getByText('Skip all');
    if (await skipTour.count()) await skipTour.first().click();
  }

  after(async () => {
    await browser?.close().catch(() => undefined);
    if (profile) rmSync(profile, { recursive: true, force: true });
    await viewer?.close();
    await orthanc?.stop();
  });

  interface OverlayStats {
    coloured: number;
    inside: number;
    /** Coloured pixels that would be on the mask flipped up-down / mirrored left-right on the stored grid. */
    insideIfFlipped: number;
    insideIfMirrored: number;
    covered: number;
    maskCount: number;
  }

  /**
   * Loads the SEG of the open study, waits for the measured slice, and maps every red screen pixel
   * back to the slice's stored grid through the viewport's canvas → patient transform.
   */
  async function overlayOnSlice(src: InstanceHeader, mask: Uint8Array, shotName: string): Promise<OverlayStats> {
    await page.getByText('Muscle SEG T12', { exact: false }).first().dblclick();
    const yes = page.getByRole('button', { name: 'Yes' });
    await yes.waitFor({ timeout: 60000 });
    await yes.click();
    const sopUid = src.sopInstanceUid;
    const state = await waitFor('the measured slice', async () => {
      const s = await viewportState(page);
      return s && s.imageId.includes(sopUid) ? s : null;
    });
    await page.waitForTimeout(3000); // let the labelmap render
    const shot = await page.screenshot({ clip: state.rect });
    saveSmall(`${shotName}.jpg`, await page.screenshot({ clip: state.rect, type: 'jpeg', quality: 70 }));
    const { width, height, rgba } = decodePng(shot);

    const [w0, wx, wy] = (await viewportState(page))!.world;
    const ipp = src.imagePositionPatient!;
    const iop = src.imageOrientationPatient!;
    const [rowSpacing, columnSpacing] = src.pixelSpacing!;
    const columns = src.columns!;
    const rows = src.rows!;
    const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    const toPixel = (x: number, y: number): [number, number] => {
      const world = [0, 1, 2].map((k) => w0[k] + x * (wx[k] - w0[k]) + y * (wy[k] - w0[k]));
      const d = [world[0] - ipp[0], world[1] - ipp[1], world[2] - ipp[2]];
      return [Math.round(dot(d, iop.slice(0, 3)) / columnSpacing), Math.round(dot(d, iop.slice(3, 6)) / rowSpacing)];
    };
    const inMask = (c: number, r: number) => c >= 0 && r >= 0 && c < columns && r < rows && mask[r * columns + c] === 1;
    const nearMask = (c: number, r: number) => {
      for (let dr = -1; dr <= 1; dr++) for (let dc = -1; dc <= 1; dc++) if (inMask(c + dc, r + dr)) return true;
      return false;
    };
    let coloured = 0;
    let inside = 0;
    let insideIfFlipped = 0;
    let insideIfMirrored = 0;
    const flippedNear = (c: number, r: number) => nearMask(c, rows - 1 - r);
    const mirroredNear = (c: number, r: number) => nearMask(columns - 1 - c, r);
    const hit = new Uint8Array(mask.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        const [r, g, b] = [rgba[i], rgba[i + 1], rgba[i + 2]];
        if (!(r > 90 && r - Math.max(g, b) > 40)) continue; // red overlay over grey CT
        coloured++;
        const [c, row] = toPixel(x + 0.5, y + 0.5);
        if (nearMask(c, row)) inside++;
        if (flippedNear(c, row)) insideIfFlipped++;
        if (mirroredNear(c, row)) insideIfMirrored++;
        if (inMask(c, row)) hit[row * columns + c] = 1;
      }
    }
    const maskCount = mask.reduce((a, v) => a + v, 0);
    const covered = hit.reduce((a, v) => a + v, 0);
    console.log(`      overlay: ${coloured} coloured screen pixels, ${((100 * inside) / coloured).toFixed(2)}% on the mask, ${((100 * covered) / maskCount).toFixed(1)}% of mask pixels coloured`);
    return { coloured, inside, insideIfFlipped, insideIfMirrored, covered, maskCount };
  }

  function assertOnMask({ coloured, inside, insideIfFlipped, covered, maskCount }: OverlayStats, minColoured: number): void {
    assert.ok(coloured > minColoured, `too few coloured pixels (${coloured}): the overlay is not shown`);
    assert.ok(inside / coloured > 0.99, `${coloured - inside} coloured pixels outside the mask: the overlay is misplaced or flipped`);
    assert.ok(covered / maskCount > 0.9, `only ${covered}/${maskCount} mask pixels coloured`);
    // The check discriminates: an up-down flipped overlay would put many pixels off the mask.
    assert.ok(insideIfFlipped / coloured < 0.9, `a flipped mask would also pass (${insideIfFlipped}/${coloured})`);
  }

  it('shows the SEG overlay on the measured slice, every coloured pixel inside the mask', async () => {
    assertOnMask(await overlayOnSlice(series.source, mask, 'ohif-seg-viewport'), 500);
    saveSmall('ohif-seg.jpg', await page.screenshot({ type: 'jpeg', quality: 70 }));
  });

  it('shows the SR measurements on the measured slice', async () => {
    await openStudy(series.source.studyInstanceUid);
    await page.getByText('Muscle report T12', { exact: false }).first().dblclick();
    const m = report.result.measurements!;
    // OHIF prints NumericValue with two decimals; the SR rounds area to 0.01 cm², HU and % to 0.1.
    const shown = (v: number, decimals: number) => (Math.round(v * 10 ** decimals) / 10 ** decimals).toFixed(2);
    const label = `Area of defined region: ${shown(m.areaCm2!, 2)} cm2`;
    try {
      // OHIF 3.13 adds the SR annotation after the viewport's last render and draws it on the next
      // one (a user's mouse move); ask for that render instead of moving the mouse.
      await waitFor('the SR measurement text', async () => {
        await page.evaluate(RENDER);
        await page.waitForTimeout(300);
        return (await bodyText(page)).includes(label);
      }, 60000);
    } catch (error) {
      saveSmall('ohif-sr-failure.png', await page.screenshot());
      console.log(await bodyText(page));
      throw error;
    }
    const text = await bodyText(page);
    const expectedLabels = [
      label,
      `Attenuation Coefficient: ${shown(m.meanHu!, 1)} [hnsf'U]`,
      `Attenuation Coefficient: ${shown(m.sdHu!, 1)} [hnsf'U]`,
      `Intermuscular adipose tissue area: ${shown(m.imatAreaCm2!, 2)} cm2`,
      `Low-attenuation muscle fraction: ${shown(m.lowAttenuationFraction! * 100, 1)} %`,
    ];
    for (const expected of expectedLabels) {
      assert.ok(text.includes(expected), `OHIF does not show "${expected}"`);
    }
    const state = await viewportState(page);
    assert.ok(state?.imageId.includes(series.source.sopInstanceUid), 'the SR is not shown on the measured slice');
    const shot = await page.screenshot({ type: 'jpeg', quality: 70 });
    saveSmall('ohif-sr.jpg', shot);
    assert.deepEqual(pageErrors, []);
  });

  for (const orientation of PHANTOM_ORIENTATIONS) {
    it(`${orientation} phantom: the SEG overlay lands on the patient's left posterior muscle, where the mask is`, async () => {
      const c = phantoms.get(orientation)!;
      await openStudy(c.source.studyInstanceUid);
      const stats = await overlayOnSlice(c.source, phantomMasks.get(orientation)!, `ohif-phantom-${orientation}`);
      assertOnMask(stats, 1000);
      // The quadrant mask is asymmetric both ways: a mirrored or flipped overlay would miss it.
      assert.ok(stats.insideIfMirrored / stats.coloured < 0.5, `a left-right mirrored mask would also pass (${stats.insideIfMirrored}/${stats.coloured})`);
      assert.ok(stats.insideIfFlipped / stats.coloured < 0.5, `an up-down flipped mask would also pass (${stats.insideIfFlipped}/${stats.coloured})`);
      assert.deepEqual(pageErrors, []);
    });
  }

  it('measurement.slices "body": OHIF loads the several-frame SEG and the SR, and shows the body mean on the measured slice', async () => {
    await openStudy(body.source.studyInstanceUid);
    await page.getByText('Muscle report T12', { exact: false }).first().dblclick();
    const area = body.report.result.body!.areaCm2;
    const shown = (v: number) => (Math.round(v * 100) / 100).toFixed(2);
    const labels = [`Area of defined region: ${shown(area.mean)} cm2`, `Area of defined region: ${shown(area.min)} cm2`, `Area of defined region: ${shown(area.max)} cm2`];
    try {
      await waitFor('the body figures', async () => {
        await page.evaluate(RENDER);
        await page.waitForTimeout(300);
        const text = await bodyText(page);
        return labels.every((l) => text.includes(l));
      }, 60000);
    } catch (error) {
      saveSmall('ohif-body-failure.png', await page.screenshot());
      console.log(await bodyText(page));
      throw error;
    }
    saveSmall('ohif-body-sr.jpg', await page.screenshot({ type: 'jpeg', quality: 70 }));
    assert.deepEqual(pageErrors, []);
  });

  after(function () {
    for (const file of saved) console.log(`      screenshot: ${file} (${Math.round(statSync(file).size / 1024)} KB)`);
  });
});
