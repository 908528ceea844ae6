/**
 * Work while the study arrives (issue #16, item 2): a running node puts each CT instance on the
 * level finder's working grid as it is spooled (a sidecar beside it), and the analysis files
 * those slices instead of decoding them. Sent over STOW-RS to a real node on loopback; each
 * analysis is compared with a cold one (the same spooled files, nothing precomputed): the same
 * working stack, level, slice, mask bytes and figures. Late instances, a duplicate with other
 * bytes, damaged sidecars and a better series arriving later must not change that. The lane
 * itself waits for a lull in arrivals (decode.whileArrivingLullMs) and drops what an analysis
 * that has begun will decode anyway.
 */
import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../src/config.ts';
import { scanBuffers, scanPaths } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import { planVolume, sliceJobOf } from '../src/dicom/volume.ts';
import { stowInstances } from '../src/dicomweb/client/stow-client.ts';
import { spooledStudyDir, spoolInstance } from '../src/intake/spool.ts';
import { canonicalGrid } from '../src/level/canonical.ts';
import type { WorkStack } from '../src/level/index.ts';
import { bodyMaskOf, packBodyMask, startStack, unpackBodyMask } from '../src/level/stack.ts';
import type { LevelInfo, MuscleMeasurements } from '../src/model/index.ts';
import { generatePhantomStudy, PHANTOM_TRANSFER_SYNTAXES, type PhantomOptions } from '../src/phantom/index.ts';
import { analyzeHeaders, DEFAULT_STAGES, type Stages } from '../src/pipeline/index.ts';
import { createArrivalGrid } from '../src/node/arrival-grid.ts';
import { applyRetention } from '../src/node/retention.ts';
import { decodeSidecar, encodeSidecar, sidecarKey } from '../src/node/grid-sidecar.ts';
import { ANALYZE_STUDY, requeueStudy, startNode, type AnalyzeStudyResult, type RunningNode } from '../src/server.ts';
import { makeTempDir } from './support/env.ts';
import { countsByOutcome } from './support/metrics.ts';
import { nodeConfig } from './support/node-config.ts';

/** What one analysis saw and measured: the working stack given to the level finder, the measured slice's mask and figures. */
interface Seen {
  stack?: { hu: Buffer; body: Buffer; depth: number };
  level?: LevelInfo;
  measured?: { sopInstanceUid: string; mask: Buffer; muscle: MuscleMeasurements };
}

function capturingStages(seen: Seen): Stages {
  return {
    findLevel: async (input) => {
      const stack = input.stack as WorkStack | null | undefined;
      if (stack) seen.stack = { hu: Buffer.from(stack.hu.slice().buffer), body: Buffer.from(stack.body), depth: stack.depth };
      seen.level = await DEFAULT_STAGES.findLevel(input);
      return seen.level;
    },
    segmentAndMeasure: async (input) => {
      const output = await DEFAULT_STAGES.segmentAndMeasure(input);
      seen.measured = { sopInstanceUid: input.volume.slices[input.sliceIndex].sopInstanceUid, mask: Buffer.from(output.mask), muscle: output.muscle };
      return output;
    },
  };
}

type Instance = { bytes: Uint8Array; sopInstanceUid: string };

async function phantom(options: PhantomOptions): Promise<{ studyInstanceUid: string; instances: Instance[] }> {
  const study = await generatePhantomStudy(options);
  const uidOf = new Map(study.truth.slices.map((s) => [s.fileName, s.sopInstanceUid]));
  return { studyInstanceUid: study.truth.studyInstanceUid, instances: study.files.map((f) => ({ bytes: f.bytes, sopInstanceUid: uidOf.get(f.fileName)! })) };
}

const BASE: PhantomOptions = { rows: 256, columns: 256, fromLevel: 'L2', toLevel: 'T11', sliceThicknessMm: 3, arms: true, seed: 11 };

async function metric(node: RunningNode, name: string, outcome: string): Promise<number> {
  return (await countsByOutcome(node, name))[outcome] ?? 0;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The same instance (UIDs, size, anatomy) with other pixels: the low byte of the last 20,000
 * pixels flipped in its lowest bit (the phantom's uncompressed pixel data ends the file), ±1 HU.
 */
function otherPixels(instance: Instance): Instance {
  const bytes = Uint8Array.from(instance.bytes);
  for (let i = 0; i < 20_000; i++) bytes[bytes.length - 2 - 2 * i] ^= 1;
  return { ...instance, bytes };
}

/** The instance with its JPEG 2000 main header (SIZ) zeroed: complete, but the codestream says 0×0. */
function brokenCodestream(instance: Instance): Instance {
  const bytes = Uint8Array.from(instance.bytes);
  const at = Buffer.from(bytes).indexOf(Buffer.from([0xff, 0x4f, 0xff, 0x51]));
  assert.ok(at > 0, 'a JPEG 2000 codestream');
  bytes.fill(0, at + 4, at + 40);
  return { ...instance, bytes };
}

/** The niceness of each thread of this process (or of the main thread only), from /proc. */
async function threadNiceness(mainOnly = false): Promise<number[]> {
  const tasks = mainOnly ? [String(process.pid)] : await readdir('/proc/self/task');
  const nicenessOf = async (task: string) => {
    const stat = await readFile(`/proc/self/task/${task}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  };
  return Promise.all(tasks.map(nicenessOf));
}

/** The spooled instances that were put on the grid while arriving (made, or kept for the same bytes). */
async function putOnGrid(node: RunningNode): Promise<number> {
  return (await metric(node, 'ctmn_arrival_grid_slices_total', 'made')) + (await metric(node, 'ctmn_arrival_grid_slices_total', 'kept'));
}

async function lookups(node: RunningNode): Promise<Record<'used' | 'absent' | 'stale' | 'corrupt', number>> {
  const of = (outcome: string) => metric(node, 'ctmn_precomputed_slices_total', outcome);
  return { used: await of('used'), absent: await of('absent'), stale: await of('stale'), corrupt: await of('corrupt') };
}

/** The same spooled files analysed as `analyze` does: nothing precomputed. */
async function coldAnalysis(config: Config, studyInstanceUid: string): Promise<Seen> {
  const seen: Seen = {};
  const { headers } = await scanPaths([spooledStudyDir(config.spoolDir, studyInstanceUid)]);
  const [result] = await analyzeHeaders(headers, { config, stages: capturingStages(seen) });
  assert.equal(result.status, 'ok', result.message);
  return seen;
}

function assertSameAnalysis(actual: Seen, cold: Seen): void {
  assert.ok(cold.stack && actual.stack, 'both built a working stack');
  assert.equal(actual.stack.depth, cold.stack.depth, 'slices on the stack');
  assert.ok(actual.stack.hu.equals(cold.stack.hu), 'working-grid HU');
  assert.ok(actual.stack.body.equals(cold.stack.body), 'body mask');
  assert.deepEqual(actual.level, cold.level);
  assert.equal(actual.measured?.sopInstanceUid, cold.measured?.sopInstanceUid, 'measured slice');
  assert.ok(actual.measured!.mask.equals(cold.measured!.mask), 'mask bytes');
  assert.deepEqual(actual.measured!.muscle, cold.measured!.muscle);
}

describe('node: work while the study arrives (precomputed working-grid slices)', function () {
  this.timeout(300_000);
  let tmp: ReturnType<typeof makeTempDir>;
  let node: RunningNode | undefined;
  let config: Config;
  let seen: Seen;
  beforeEach(async () => {
    tmp = makeTempDir('ctmn-node-arrival-');
    // A quiet period longer than the test: each analysis runs when the test requeues the study.
    config = nodeConfig(tmp.path, { assembly: { quietPeriodSeconds: 3600 } });
    seen = {};
    node = await startNode(config, { stages: capturingStages(seen) });
  });
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    tmp.remove();
  });

  const send = (instances: Instance[]) => stowInstances({ url: `${node!.url}/dicomweb` }, instances);

  /** Analyse the study now (as when its quiet period ends) and wait for the result. */
  async function analyse(studyInstanceUid: string): Promise<AnalyzeStudyResult> {
    const { job } = await requeueStudy(config, studyInstanceUid, { force: true });
    await node!.idle();
    const done = (await node!.queue.list('done')).find((j) => j.id === job.id && j.kind === ANALYZE_STUDY);
    assert.ok(done, JSON.stringify(await node!.queue.list()));
    return done.result as AnalyzeStudyResult;
  }

  it('files every slice made while the study arrived; the same stack, slice, mask and figures as a cold analysis', async () => {
    const study = await phantom(BASE);
    await send(study.instances);
    await until(async () => (await putOnGrid(node!)) === study.instances.length, 'every instance on the grid');
    const sidecars = await readdir(join(spooledStudyDir(config.spoolDir, study.studyInstanceUid), '.grid'));
    assert.equal(sidecars.length, study.instances.length);
    // The work ran on a thread of its own, at a lower priority than the receivers' (Linux: /proc).
    if (process.platform === 'linux') assert.ok((await threadNiceness()).includes(Math.min(19, (await threadNiceness(true))[0] + 10)), JSON.stringify(await threadNiceness()));
    const result = await analyse(study.studyInstanceUid);
    assert.equal(result.outcome, 'measured', JSON.stringify(result));
    assert.deepEqual(await lookups(node!), { used: study.instances.length, absent: 0, stale: 0, corrupt: 0 });
    // Every header came from the intake (known-headers.ts), none was parsed again.
    assert.equal(await metric(node!, 'ctmn_known_headers_total', 'used'), study.instances.length);
    assertSameAnalysis(seen, await coldAnalysis(config, study.studyInstanceUid));
    // Retention takes the sidecars with the study's spool folder, even one written after the analysis (not an arrival).
    const late = new Date(Date.now() + 500);
    await utimes(join(spooledStudyDir(config.spoolDir, study.studyInstanceUid), '.grid', sidecars[0]), late, late);
    const report = await applyRetention({ queue: node!.queue, spoolDir: config.spoolDir, outputDir: config.output.dir, settings: { spoolDaysAfterWriteBack: 0, resultsDays: null }, now: Date.now() + 1000 });
    assert.equal(report.spoolDeleted, 1, JSON.stringify(report));
    assert.deepEqual((await readdir(config.spoolDir)).filter((name) => name.includes(study.studyInstanceUid)), [], 'no study folder, no .grid left');
  });

  it('late instances (after a first analysis) are filed too; the answer is that of a cold analysis of all', async () => {
    const study = await phantom(BASE);
    const early = study.instances.slice(0, -3);
    await send(early);
    await until(async () => (await putOnGrid(node!)) === early.length, 'the early instances on the grid');
    await analyse(study.studyInstanceUid);
    assert.equal((await lookups(node!)).used, early.length);
    await send(study.instances.slice(-3));
    await until(async () => (await putOnGrid(node!)) === study.instances.length, 'the late instances on the grid');
    seen.stack = undefined;
    const result = await analyse(study.studyInstanceUid);
    assert.equal(result.outcome, 'measured', JSON.stringify(result));
    assert.equal((await lookups(node!)).used, early.length + study.instances.length);
    assertSameAnalysis(seen, await coldAnalysis(config, study.studyInstanceUid));
  });

  it('a duplicate with other bytes: remade when sent again; stale (decoded) when the spooled file changed after its sidecar was made', async () => {
    const study = await phantom(BASE);
    await send(study.instances);
    const m = study.instances.length;
    await until(async () => (await putOnGrid(node!)) === m, 'every instance on the grid');
    const k = Math.floor(m / 2);
    // Sent again over STOW-RS with other pixels: the node puts the new bytes on the grid.
    await send([otherPixels(study.instances[k])]);
    await until(async () => (await putOnGrid(node!)) === m + 1, 'the duplicate on the grid');
    assert.equal(await metric(node!, 'ctmn_arrival_grid_slices_total', 'made'), m + 1, 'the new bytes replaced the copy and were put on the grid');
    await analyse(study.studyInstanceUid);
    assert.deepEqual(await lookups(node!), { used: m, absent: 0, stale: 0, corrupt: 0 });
    const cold = await coldAnalysis(config, study.studyInstanceUid);
    assertSameAnalysis(seen, cold);
    // The spooled file replaced once more, its sidecar not remade (as when the new copy's turn has not come yet).
    const replaced = otherPixels(study.instances[k + 1]);
    await spoolInstance(config.spoolDir, study.studyInstanceUid, replaced.sopInstanceUid, replaced.bytes);
    await analyse(study.studyInstanceUid);
    assert.deepEqual(await lookups(node!), { used: 2 * m - 1, absent: 0, stale: 1, corrupt: 0 });
    // Its header too is read from the file again: the intake's is of the bytes it wrote.
    assert.equal(await metric(node!, 'ctmn_known_headers_total', 'changed'), 1);
    const coldAfter = await coldAnalysis(config, study.studyInstanceUid);
    assert.ok(!coldAfter.stack!.hu.equals(cold.stack!.hu), 'the replaced bytes change the working grid');
    assertSameAnalysis(seen, await coldAnalysis(config, study.studyInstanceUid));
  });

  it('a damaged or truncated sidecar is detected and that slice decoded', async () => {
    const study = await phantom(BASE);
    await send(study.instances);
    await until(async () => (await putOnGrid(node!)) === study.instances.length, 'every instance on the grid');
    const folder = join(spooledStudyDir(config.spoolDir, study.studyInstanceUid), '.grid');
    const [first, second] = (await readdir(folder)).sort();
    const flipped = await readFile(join(folder, first));
    flipped[flipped.length >> 1] ^= 0x40;
    await writeFile(join(folder, first), flipped);
    const whole = await readFile(join(folder, second));
    await writeFile(join(folder, second), whole.subarray(0, whole.length - 1000));
    const result = await analyse(study.studyInstanceUid);
    assert.equal(result.outcome, 'measured', JSON.stringify(result));
    assert.deepEqual(await lookups(node!), { used: study.instances.length - 2, absent: 0, stale: 0, corrupt: 2 });
    assertSameAnalysis(seen, await coldAnalysis(config, study.studyInstanceUid));
  });

  it('broken instances are not put on the grid; the analysis meets the same typed error (the lowest broken slice\'s) as a cold one', async () => {
    const study = await phantom({ ...BASE, rows: 128, columns: 128, transferSyntaxUid: PHANTOM_TRANSFER_SYNTAXES.jpeg2000Lossless });
    // Two instances whose JPEG 2000 main header says 0×0: accepted (complete), undecodable.
    const instances = study.instances.map((instance, k) => (k === 3 || k === 7 ? brokenCodestream(instance) : instance));
    await send(instances);
    const m = instances.length;
    await until(async () => (await putOnGrid(node!)) + (await metric(node!, 'ctmn_arrival_grid_slices_total', 'failed')) === m, 'every instance tried');
    assert.equal(await metric(node!, 'ctmn_arrival_grid_slices_total', 'failed'), 2);
    const result = await analyse(study.studyInstanceUid);
    const { headers } = await scanPaths([spooledStudyDir(config.spoolDir, study.studyInstanceUid)]);
    const [cold] = await analyzeHeaders(headers, { config });
    assert.equal(cold.status, 'E_DECODE_FAILED', cold.message);
    assert.deepEqual([result.status, result.message], [cold.status, cold.message]);
    assert.deepEqual(await lookups(node!), { used: m - 2, absent: 2, stale: 0, corrupt: 0 });
  });

  it('a better series arriving later is chosen and filed from its own slices', async () => {
    const thick = await phantom({ ...BASE, sliceThicknessMm: 5 });
    await send(thick.instances);
    await until(async () => (await putOnGrid(node!)) === thick.instances.length, 'the first series on the grid');
    const first = await analyse(thick.studyInstanceUid);
    const thin = await phantom({ ...BASE, sliceThicknessMm: 2.5, study: { studyInstanceUid: thick.studyInstanceUid } });
    assert.notEqual(first.seriesInstanceUid, null);
    await send(thin.instances);
    const all = thick.instances.length + thin.instances.length;
    await until(async () => (await putOnGrid(node!)) === all, 'the second series on the grid');
    const second = await analyse(thick.studyInstanceUid);
    assert.notEqual(second.seriesInstanceUid, first.seriesInstanceUid, 'the thinner series is chosen');
    assert.equal(second.selectedInstanceCount, thin.instances.length);
    assert.equal((await lookups(node!)).used, thick.instances.length + thin.instances.length);
    assertSameAnalysis(seen, await coldAnalysis(config, thick.studyInstanceUid));
  });
});

describe('working-grid sidecar key', () => {
  it('a slice made for another grid, other decode inputs (decode.levelGrid too) or another file is stale; a whole file with its key is used', async () => {
    const study = await phantom({ rows: 64, columns: 64, fromLevel: 'T12', toLevel: 'T12', sliceThicknessMm: 10, seed: 2 });
    const { headers } = scanBuffers(study.instances.map((i) => ({ bytes: i.bytes, label: i.sopInstanceUid })));
    const plan = planVolume(groupIntoSeries(headers)[0]);
    const job = sliceJobOf(headers[0], plan.geometry);
    const grid = canonicalGrid(plan.geometry);
    const identity = { ino: 7n, size: 1000n, mtimeNs: 5n, ctimeNs: 5n };
    const hu = Int16Array.from({ length: grid.width * grid.height }, (_, p) => (p % 7) * 100 - 1000);
    const bodyMask = bodyMaskOf(hu, grid.width, grid.height);
    assert.ok(bodyMask.some((v) => v === 1) && bodyMask.some((v) => v === 0));
    const sidecar = encodeSidecar(sidecarKey(identity, job, grid), grid, { hu, bodyBits: packBodyMask(bodyMask) });
    assert.deepEqual(decodeSidecar(sidecar, sidecarKey(identity, job, grid), grid), { hu, bodyMask: { bits: packBodyMask(bodyMask) } });
    assert.deepEqual(unpackBodyMask(packBodyMask(bodyMask), bodyMask.length), bodyMask);
    // The HU go where the stack keeps the slice when asked, and only for a sidecar that is used.
    const into = new Int16Array(hu.length);
    assert.equal((decodeSidecar(sidecar, sidecarKey(identity, job, grid), grid, into) as { hu: Int16Array }).hu, into);
    assert.deepEqual(into, hu);
    const untouched = new Int16Array(hu.length);
    assert.equal(decodeSidecar(sidecar, sidecarKey({ ...identity, ino: 9n }, job, grid), grid, untouched), 'stale');
    assert.ok(untouched.every((v) => v === 0));
    // Another grid object with the same content is the same key; another content is not.
    const sameContent = canonicalGrid(plan.geometry);
    assert.equal(typeof decodeSidecar(sidecar, sidecarKey(identity, job, sameContent), sameContent), 'object');
    const coarser = canonicalGrid({ ...plan.geometry, pixelSpacingMm: [plan.geometry.pixelSpacingMm[0] * 1.5, plan.geometry.pixelSpacingMm[1] * 1.5] });
    assert.equal(decodeSidecar(sidecar, sidecarKey(identity, job, coarser), coarser), 'stale');
    const shifted = { ...grid, sourceIndex: grid.sourceIndex.map((s) => (s >= 0 ? s + 1 : s)) };
    assert.equal(decodeSidecar(sidecar, sidecarKey(identity, job, shifted), shifted), 'stale');
    assert.equal(decodeSidecar(sidecar, sidecarKey(identity, { ...job, intercept: job.intercept + 1 }, grid), grid), 'stale');
    // Made from a full decode: not for an analysis that puts slices on the grid from half-resolution ones (decode.levelGrid).
    assert.equal(decodeSidecar(sidecar, sidecarKey(identity, { ...job, fromHalfResolution: true }, grid), grid), 'stale');
    assert.equal(decodeSidecar(sidecar, sidecarKey({ ...identity, mtimeNs: 6n }, job, grid), grid), 'stale');
    assert.equal(decodeSidecar(sidecar, sidecarKey({ ...identity, ino: 8n }, job, grid), grid), 'stale');
    assert.equal(decodeSidecar(sidecar.subarray(0, 20), sidecarKey(identity, job, grid), grid), 'corrupt');
  });
});

describe('working stack: a packed body mask', () => {
  it('files the same body bits and centre as the mask itself, rows starting on a byte or not', async () => {
    const study = await phantom({ rows: 64, columns: 64, fromLevel: 'T12', toLevel: 'T12', sliceThicknessMm: 10, seed: 2 });
    const { headers } = scanBuffers(study.instances.map((i) => ({ bytes: i.bytes, label: i.sopInstanceUid })));
    const plan = planVolume(groupIntoSeries(headers)[0]);
    const widths = new Set<number>();
    for (const columns of [64, 60, 58, 54, 50]) {
      const geometry = { ...plan.geometry, columns };
      const [unpacked, packed] = [startStack(geometry, plan.ordered.map(() => ({ zMm: 0 }))), startStack(geometry, plan.ordered.map(() => ({ zMm: 0 })))];
      const { width, height } = unpacked.grid;
      widths.add(width % 8);
      plan.ordered.forEach((_, k) => {
        const hu = Int16Array.from({ length: width * height }, (_, p) => (((p * 31 + k * 7) % 13 < 9 && p % width > 2 ? 40 : -1000)));
        const mask = bodyMaskOf(hu, width, height);
        unpacked.addGridSlice(k, hu, mask);
        packed.addGridSlice(k, hu, { bits: packBodyMask(mask) });
      });
      const [a, b] = [unpacked.finish(), packed.finish()];
      assert.ok(a.body.some((v) => v !== 0));
      assert.deepEqual([b.body, b.centreX, b.centreY], [a.body, a.centreX, a.centreY]);
    }
    assert.ok(widths.has(0) && [...widths].some((w) => w !== 0), `both paths: grid widths mod 8 were ${[...widths].join(', ')}`);
  });
});

describe('arrival grid', () => {
  const counter = () => new Counter({ name: 'made', help: 'made', labelNames: ['outcome'], registers: [new Registry()] });
  const countsOf = async (made: Counter<'outcome'>): Promise<Record<string, number>> => Object.fromEntries((await made.get()).values.map((v) => [String(v.labels.outcome), v.value]));
  const small = (seed: number) => phantom({ ...BASE, rows: 64, columns: 64, seed });
  /** The study's instances as the intake reports them stored, at paths that do not exist: one worked on fails (counted), one dropped is never tried. */
  const stored = (study: { instances: Instance[] }) => {
    const { headers } = scanBuffers(study.instances.map((i) => ({ bytes: i.bytes, label: i.sopInstanceUid })));
    return headers.map((header) => ({ status: 'stored' as const, sopClassUid: header.sopClassUid, sopInstanceUid: header.sopInstanceUid, studyInstanceUid: header.studyInstanceUid, seriesInstanceUid: header.seriesInstanceUid, path: `/nonexistent/${header.sopInstanceUid}.dcm`, header, written: null }));
  };
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('drops the waiting instances of a study whose analysis begins; others stay', async () => {
    const made = counter();
    const grid = createArrivalGrid({ lanes: 1, ownManufacturer: 'ct-muscle-node', made });
    const [a, b] = await Promise.all([small(1), small(2)]);
    for (const instance of [...stored(a), ...stored(b)]) grid.arrived(instance);
    grid.analysisStarts(a.studyInstanceUid);
    await grid.idle();
    assert.deepEqual(await countsOf(made), { dropped: a.instances.length, failed: b.instances.length });
  });

  it('works only once arrivals pause for decode.whileArrivingLullMs; with 0, alongside them', async () => {
    const instances = stored(await small(3));
    assert.ok(instances.length >= 6, 'a study of several instances');
    const lullMs = 1000;
    const waitsMade = counter();
    const alongsideMade = counter();
    const waits = createArrivalGrid({ lanes: 1, ownManufacturer: 'ct-muscle-node', made: waitsMade, lullMs });
    const alongside = createArrivalGrid({ lanes: 1, ownManufacturer: 'ct-muscle-node', made: alongsideMade, lullMs: 0 });
    const tried = async (made: Counter<'outcome'>) => Object.values(await countsOf(made)).reduce((a, b) => a + b, 0);
    // Instances arriving 25 ms apart, as one burst: the waiting grid tries none of them meanwhile.
    for (const instance of instances) {
      waits.arrived(instance);
      alongside.arrived(instance);
      await pause(25);
    }
    const lastArrivalAt = performance.now();
    assert.equal(await tried(waitsMade), 0, 'nothing worked on while instances arrive');
    assert.ok((await tried(alongsideMade)) > 0, 'with 0, instances are worked on while others arrive');
    await waits.idle();
    assert.ok(performance.now() - lastArrivalAt >= lullMs - 50, 'the waiting grid began after the lull');
    assert.deepEqual(await countsOf(waitsMade), { failed: instances.length }, 'then every instance was worked on');
    await alongside.idle();
    await Promise.all([waits.stop(), alongside.stop()]);
  });
});
