/**
 * measurement.slices "body": which slices lie inside the vertebral body, their mean and range,
 * and the whole path on a phantom through the real stages (level finder, anatomic segmenter):
 * a SEG frame per measured slice, SR groups per slice and for the body, the JSON result, the
 * accepted SR of the review page; "mid" keeps a run's figures as they were.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config.ts';
import { correctionReport } from '../src/correction.ts';
import { readNiftiVolume } from '../src/dicom/nifti.ts';
import { scanBuffers } from '../src/dicom/scan.ts';
import type { InstanceHeader } from '../src/dicom/types.ts';
import { isCtMuscleError } from '../src/errors.ts';
import { slicesInsideBody } from '../src/level/index.ts';
import { bodyFlags, spreadOf, summarizeBody } from '../src/measure/index.ts';
import { MUSCLE_HU_WINDOW, type MuscleMeasurements, type SliceMeasurement, type StudyResult } from '../src/model/index.ts';
import { generatePhantomStudy } from '../src/phantom/index.ts';
import { analyzeHeaders, DEFAULT_STAGES, type ReportStageInput } from '../src/pipeline/index.ts';
import { readSegMask, writeReport, writeSr, type ResultJson } from '../src/report/index.ts';
import type { Job } from '../src/queue/job-queue.ts';
import { basisFor } from '../src/review/basis.ts';
import { listPage, studyPage } from '../src/review/html.ts';
import { ANALYZE_KIND, studyRow } from '../src/review/studies.ts';
import { dataPath, hasCommand, makeTempDir, requirePaths } from './support/env.ts';
import { dciodvfy, naturalize } from './support/report-fixtures.ts';
import { volumeAsDicomSeries } from '../bench/support/nifti-series.ts';

type Item = Record<string, unknown>;
const seq = (value: unknown): Item[] => (value === undefined ? [] : Array.isArray(value) ? (value as Item[]) : [value as Item]);
const conceptOf = (item: Item) => seq(item.ConceptNameCodeSequence)[0] ?? {};

/** The measurement groups of an SR, each with its tracking identifier and its area NUMs by derivation. */
function srGroups(bytes: Uint8Array): Array<{ label: string; areas: Map<string, number>; sources: string[] }> {
  const root = naturalize(bytes) as Item;
  const measurements = seq(root.ContentSequence).find((i) => conceptOf(i).CodeValue === '126010')!;
  return seq(measurements.ContentSequence).map((group) => {
    const children = seq(group.ContentSequence);
    const label = String(children.find((c) => conceptOf(c).CodeValue === '112039')!.TextValue);
    const areas = new Map<string, number>();
    for (const num of children.filter((c) => c.ValueType === 'NUM' && conceptOf(c).CodeValue === '131184002')) {
      const derivation = seq(num.ContentSequence).find((c) => conceptOf(c).CodeValue === '121401');
      const value = Number(seq(num.MeasuredValueSequence)[0].NumericValue);
      areas.set(derivation ? String(seq(derivation.ConceptCodeSequence)[0].CodeValue) : 'value', value);
    }
    const sources = children.filter((c) => conceptOf(c).CodeValue === '121233').map((c) => String(seq(c.ReferencedSOPSequence)[0].ReferencedSOPInstanceUID));
    return { label, areas, sources };
  });
}

const MEAN = '373098007';
const MIN = '255605001';
const MAX = '56851009';
const round2 = (v: number) => Math.round(v * 100) / 100;

function muscle(areaCm2: number, smi: number | null = null): MuscleMeasurements {
  return { areaCm2, meanHu: 40, sdHu: 10, imatAreaCm2: 1, lowAttenuationFraction: 0.1, smiCm2PerM2: smi, pixelCount: Math.round(areaCm2 * 100) };
}

function slice(k: number, areaCm2: number, smi: number | null = null): SliceMeasurement {
  return { sliceIndex: k, sopInstanceUid: `1.2.3.${k}`, zMm: k * 3, muscle: muscle(areaCm2, smi), flags: [] };
}

describe('measurement.slices "body": slices, mean and range', () => {
  it('takes the slices whose slab lies between the endplates, sorted, the mid one always among them', () => {
    const z = [0, 3, 6, 9, 12, 15, 18, 21, 24];
    // Body 4.0..20.0 mm, 3 mm slices: centres 5.5..18.5 qualify → 6, 9, 12, 15, 18.
    const choice = slicesInsideBody(z, [4, 20], 3, 4);
    assert.deepEqual(choice.indices, [2, 3, 4, 5, 6]);
    assert.match(choice.rule, /slab \(centre ± 1\.5 mm\) lies between the endplates \(z 4\.0 to 20\.0 mm\)/);
    // Reversed bounds and slices stored superior → inferior give the same slices.
    assert.deepEqual(slicesInsideBody([...z].reverse(), [20, 4], 3, 4).indices.map((k) => 8 - k).sort((a, b) => a - b), [2, 3, 4, 5, 6]);
    // 20 mm slices: no slab fits in 16 mm; the centres inside are taken (and say so).
    const thick = slicesInsideBody([0, 10, 20, 30], [4, 20], 20, 1);
    assert.deepEqual(thick.indices, [1, 2]);
    assert.match(thick.rule, /centre lies between the endplates/);
    // A mid slice outside the extent (a 3 mm warning case) is still measured.
    assert.deepEqual(slicesInsideBody(z, [4, 20], 3, 7).indices, [2, 3, 4, 5, 6, 7]);
  });

  it('the mean is the mean of the per-slice figures, the range their minimum and maximum; a figure some slice lacks has none', () => {
    const body = summarizeBody({ bodyMm: [0, 30], rule: 'r', slices: [slice(3, 120, 40), slice(1, 100, 35), slice(2, 110, null)], notMeasured: [] });
    assert.deepEqual(body.slices.map((s) => s.sliceIndex), [1, 2, 3]);
    assert.deepEqual(body.areaCm2, { mean: 110, min: 100, max: 120 });
    assert.equal(body.smiCm2PerM2, null);
    assert.deepEqual(spreadOf([1, 2, 6]), { mean: 3, min: 1, max: 6 });
    assert.equal(spreadOf([]), null);
    assert.equal(spreadOf([1, Number.NaN]), null);
  });

  it('flags a mid slice more than 10 % from the body mean, and body slices left out', () => {
    const body = summarizeBody({ bodyMm: [0, 30], rule: 'r', slices: [slice(1, 100), slice(2, 100), slice(3, 130)], notMeasured: [] });
    assert.deepEqual(bodyFlags(muscle(100), body), [], '100 vs mean 110: 9 %');
    const [flag] = bodyFlags(muscle(130), body);
    assert.match(flag, /^mid-slice-deviates: mid-slice area 130\.0 cm² is 18% from the body mean 110\.0 cm² \(range 100\.0–130\.0 cm² over 3 slices\)/);
    const partial = summarizeBody({ ...body, slices: body.slices, notMeasured: [{ sliceIndex: 4, sopInstanceUid: '1.2.3.4', zMm: 12, code: 'E_EMPTY_MASK', message: 'none' }] });
    assert.match(bodyFlags(muscle(110), partial)[0], /^body-slices-not-measured: 1 of 4 slices .*z 12\.0 mm: E_EMPTY_MASK/);
  });

  it('measurement.slices is validated: mid (default) or body', () => {
    assert.equal(loadConfig({ env: {} }).measurement.slices, 'mid');
    assert.equal(loadConfig({ env: { CT_MUSCLE_NODE__MEASUREMENT__SLICES: 'body' } }).measurement.slices, 'body');
    assert.throws(
      () => loadConfig({ env: { CT_MUSCLE_NODE__MEASUREMENT__SLICES: 'all' } }),
      (error: unknown) => isCtMuscleError(error) && error.code === 'E_CONFIG_INVALID' && /measurement\.slices/.test(error.message),
    );
  });
});

describe('measurement.slices "body" on a phantom, real stages', function () {
  const created = new Date('2025-01-01T00:00:00Z');
  let tmp: ReturnType<typeof makeTempDir>;
  let headers: InstanceHeader[];
  let files: Array<{ bytes: Uint8Array; fileName: string }>;
  let bodyConfig: Config;
  let body: StudyResult;
  let mid: StudyResult;
  let segmentRuns = 0;
  let reportInput: ReportStageInput | undefined;

  before(async () => {
    tmp = makeTempDir('ctmn-body-');
    const study = await generatePhantomStudy({ rows: 256, columns: 256, fromLevel: 'L2', toLevel: 'T11', sliceThicknessMm: 3, orientation: 'FFP', seed: 5 });
    files = study.files;
    headers = scanBuffers(files.map((f) => ({ bytes: f.bytes, label: f.fileName }))).headers;
    bodyConfig = loadConfig({ env: { CT_MUSCLE_NODE__MEASUREMENT__SLICES: 'body' } });
    const stages = { ...DEFAULT_STAGES, writeReport: (input: ReportStageInput) => ((reportInput = input), DEFAULT_STAGES.writeReport(input)) };
    const observer = (e: { stage: string }) => void (e.stage === 'segment-measure' && segmentRuns++);
    [body] = await analyzeHeaders(headers, { config: bodyConfig, stages, observer, outDir: join(tmp.path, 'body'), created });
    [mid] = await analyzeHeaders(headers, { config: loadConfig({ env: {} }), outDir: join(tmp.path, 'mid'), created });
  });
  after(() => tmp.remove());

  it('measures every slice inside the body through the segment-measure stage, the mid slice among them with its own figures', () => {
    assert.equal(body.status, 'ok', body.message);
    const figures = body.body!;
    assert.ok(figures.slices.length >= 5, `${figures.slices.length} slices`);
    assert.equal(segmentRuns, figures.slices.length + figures.notMeasured.length, 'one stage run per slice');
    const [inferior, superior] = figures.bodyMm;
    for (const s of figures.slices) assert.ok(s.zMm - 1.5 >= inferior && s.zMm + 1.5 <= superior, `z ${s.zMm} inside ${inferior}..${superior}`);
    const own = figures.slices.find((s) => s.sopInstanceUid === body.level!.sopInstanceUid)!;
    assert.deepEqual({ ...own.muscle, pixelCount: undefined }, { ...body.muscle, pixelCount: undefined });
    const areas = figures.slices.map((s) => s.muscle.areaCm2);
    assert.equal(figures.areaCm2.mean, areas.reduce((a, b) => a + b, 0) / areas.length);
    assert.equal(figures.areaCm2.min, Math.min(...areas));
    assert.equal(figures.areaCm2.max, Math.max(...areas));
    assert.ok(figures.areaCm2.max > figures.areaCm2.min, 'the slices differ');
  });

  it('"mid" gives the same mid-slice figures and no body; the outputs do not share UIDs', () => {
    assert.deepEqual(mid.muscle, body.muscle);
    assert.deepEqual(mid.level, body.level);
    assert.equal('body' in mid, false);
    assert.notEqual(mid.outputs.seg!.sopInstanceUid, body.outputs.seg!.sopInstanceUid);
    assert.notEqual(mid.outputs.sr!.sopInstanceUid, body.outputs.sr!.sopInstanceUid);
    assert.equal('body' in (JSON.parse(readFileSync(mid.outputs.json!, 'utf8')) as object), false);
  });

  it('the SEG has one segment and a frame per measured slice, each referencing its CT slice with that slice\'s mask', async () => {
    const readout = await readSegMask(new Uint8Array(readFileSync(body.outputs.seg!.path)));
    const figures = body.body!;
    assert.equal(readout.segments.length, 1);
    assert.equal(readout.frames.length, figures.slices.length);
    assert.deepEqual(readout.frames.map((f) => f.referencedSopInstanceUid), figures.slices.map((s) => s.sopInstanceUid));
    assert.deepEqual(readout.frames.map((f) => f.pixelCount), figures.slices.map((s) => s.muscle.pixelCount));
    const byUid = new Map(headers.map((h) => [h.sopInstanceUid, h]));
    for (const frame of readout.frames) assert.deepEqual(frame.imagePositionPatient, byUid.get(frame.referencedSopInstanceUid!)!.imagePositionPatient);
    const json = JSON.parse(readFileSync(body.outputs.json!, 'utf8')) as ResultJson;
    assert.deepEqual(json.body!.slices.map((s) => s.segFrameNumber), readout.frames.map((f) => f.frameNumber));
    assert.deepEqual(json.body!.areaCm2, figures.areaCm2);
  });

  it('the SR holds the mid-slice group, the body group (mean, minimum, maximum) and a group per other slice', () => {
    const groups = srGroups(new Uint8Array(readFileSync(body.outputs.sr!.path)));
    const figures = body.body!;
    const n = figures.slices.length;
    assert.equal(groups.length, n + 1);
    assert.equal(groups[0].label, 'Skeletal muscle at T12');
    assert.equal(groups[0].areas.get('value'), round2(body.muscle!.areaCm2));
    assert.equal(groups[1].label, `Skeletal muscle at T12, mean of ${n} body slices`);
    assert.equal(groups[1].areas.get(MEAN), round2(figures.areaCm2.mean));
    assert.equal(groups[1].areas.get(MIN), round2(figures.areaCm2.min));
    assert.equal(groups[1].areas.get(MAX), round2(figures.areaCm2.max));
    assert.deepEqual(groups[1].sources, figures.slices.map((s) => s.sopInstanceUid));
    const others = figures.slices.filter((s) => s.sopInstanceUid !== body.level!.sopInstanceUid);
    assert.deepEqual(groups.slice(2).map((g) => g.sources), others.map((s) => [s.sopInstanceUid]));
    assert.deepEqual(groups.slice(2).map((g) => g.areas.get('value')), others.map((s) => round2(s.muscle.areaCm2)));
    for (const g of groups.slice(2)) assert.match(g.label, new RegExp(`^Skeletal muscle at T12, body slice \\d of ${n} \\(z -?\\d+\\.\\d mm\\)$`));
  });

  it('SEG and SR pass dciodvfy; dsrdump reads the SR without complaint', function () {
    if (!hasCommand('dciodvfy') || !hasCommand('dsrdump')) this.skip();
    const seg = dciodvfy(new Uint8Array(readFileSync(body.outputs.seg!.path)));
    assert.deepEqual([seg.errors, seg.warnings], [[], []], seg.output);
    const sr = dciodvfy(new Uint8Array(readFileSync(body.outputs.sr!.path)));
    assert.deepEqual(sr.errors, [], sr.output);
    for (const warning of sr.warnings) assert.match(warning, /<99CTMN>/, sr.output);
    const dump = spawnSync('dsrdump', ['+Pl', body.outputs.sr!.path], { encoding: 'utf8' });
    assert.equal(dump.status, 0, dump.stderr);
    const complaints = dump.stderr.split('\n').filter((l) => /^(E|W):/.test(l) && !/Specific Character Set: ISO_IR 192/.test(l));
    assert.deepEqual(complaints, []);
    assert.match(dump.stdout, /Derivation"\)=\(255605001,SCT,"Minimum"\)/);
  });

  it('the SEG writer refuses a body that does not hold the measured slice\'s mask, or lacks the measured slice', () => {
    const input = reportInput!;
    const { ordered } = input.planned;
    const common = {
      source: ordered[input.sliceIndex],
      seriesSlices: ordered,
      level: input.level,
      segmenter: input.segmented.segmenter,
      flags: [],
      huWindow: MUSCLE_HU_WINDOW,
      mask: input.segmented.mask,
      measurements: input.segmented.muscle,
      options: { created },
    };
    const slices = input.body!.figures.slices.map((s, i) => ({ source: ordered[s.sliceIndex], mask: input.body!.masks[i] }));
    assert.ok(writeReport({ ...common, body: { figures: input.body!.figures, slices } }).seg);
    const own = slices.findIndex((s) => s.source.sopInstanceUid === common.source.sopInstanceUid);
    const other = own === 0 ? 1 : 0;
    const swapped = slices.map((s, i) => (i === own ? { ...s, mask: slices[other].mask } : s));
    const invalid = (error: unknown) => isCtMuscleError(error) && error.code === 'E_REPORT_INVALID';
    assert.throws(() => writeReport({ ...common, body: { figures: input.body!.figures, slices: swapped } }), invalid);
    const figures = { ...input.body!.figures, slices: input.body!.figures.slices.filter((_, i) => i !== own) };
    assert.throws(() => writeReport({ ...common, body: { figures, slices: slices.filter((_, i) => i !== own) } }), invalid);
  });

  it('a given slice names no body: only the mid slice, and a flag says why', async () => {
    const [given] = await analyzeHeaders(headers, { config: bodyConfig, sliceSopInstanceUid: body.level!.sopInstanceUid });
    assert.equal(given.status, 'ok');
    assert.equal(given.body, undefined);
    assert.ok(given.flags.some((f) => f.startsWith('body-not-measured: the slice was given')), given.flags.join('\n'));
  });

  it('an SR accepted on the review page keeps the body groups', async () => {
    const spool = join(tmp.path, 'spool', body.studyInstanceUid);
    mkdirSync(spool, { recursive: true });
    for (const f of files) writeFileSync(join(spool, f.fileName), f.bytes);
    const json = JSON.parse(readFileSync(body.outputs.json!, 'utf8')) as ResultJson;
    const basis = await basisFor({ spoolDir: join(tmp.path, 'spool'), outputsDir: join(tmp.path, 'body') }, json, null, []);
    const accepted = writeSr({ ...basis.srInput, verification: { observerName: 'Doe^Jane', organization: 'test', dateTime: created }, predecessor: basis.predecessor, options: { revision: 'accept:1', created } });
    const original = srGroups(new Uint8Array(readFileSync(body.outputs.sr!.path)));
    assert.deepEqual(srGroups(accepted.bytes), original);
  });

  it('the review page lists the body mean and shows it with its range on the study page', async () => {
    const now = Date.now();
    const job: Job = { id: 1, kind: ANALYZE_KIND, key: body.studyInstanceUid, payload: {}, state: 'done', attempts: 1, maxAttempts: 8, nextRunAt: now, leaseUntil: null, lastErrorCode: null, lastError: null, result: { ...body, outcome: 'measured' }, createdAt: now, updatedAt: now };
    const row = await studyRow(body.studyInstanceUid, { latest: job, done: job }, [], join(tmp.path, 'body'));
    const { areaCm2, slices } = body.body!;
    assert.deepEqual(row.bodyAreaCm2, { ...areaCm2, slices: slices.length });
    assert.match(listPage([row], []), new RegExp(`<td class="num">${areaCm2.mean.toFixed(2)}</td>`));
    const json = JSON.parse(readFileSync(body.outputs.json!, 'utf8')) as ResultJson;
    const page = studyPage({ row, json, kind: 'original', records: [], files: [], askName: false });
    assert.ok(page.includes(`${areaCm2.mean.toFixed(2)} cm² (range ${areaCm2.min.toFixed(2)}–${areaCm2.max.toFixed(2)} over ${slices.length} slices)`), page);
  });

  it('a reviewer\'s edited "body" SEG is re-measured on the measured slice, not on its largest mask', async () => {
    const seg = new Uint8Array(readFileSync(body.outputs.seg!.path));
    const mid = body.level!.sopInstanceUid;
    const largest = [...body.body!.slices].sort((a, b) => b.muscle.pixelCount - a.muscle.pixelCount)[0];
    assert.notEqual(largest.sopInstanceUid, mid, 'precondition: another slice holds the largest mask');
    const onMid = await correctionReport(seg, headers, 'edited', mid);
    assert.equal(onMid.result.measuredSlice.sopInstanceUid, mid);
    assert.equal(onMid.result.muscle.pixelCount, body.body!.slices.find((s) => s.sopInstanceUid === mid)!.muscle.pixelCount);
    const unknown = await correctionReport(seg, headers, 'edited');
    assert.equal(unknown.result.measuredSlice.sopInstanceUid, largest.sopInstanceUid, 'without the measured slice: the largest mask, as before');
  });
});

describe('measurement.slices "body" through analyze on real CT (the shared example_ct, sent as a DICOM series)', function () {
  this.timeout(120_000);
  const niftiPath = dataPath('totalsegmentator_example_ct_full', 'example_ct.nii.gz');
  let tmp: ReturnType<typeof makeTempDir>;
  let headers: InstanceHeader[];
  const config = loadConfig({ env: { CT_MUSCLE_NODE__MEASUREMENT__SLICES: 'body' } });
  before(async function () {
    requirePaths(this, niftiPath);
    tmp = makeTempDir('ctmn-body-real-');
    const series = volumeAsDicomSeries(await readNiftiVolume(niftiPath), niftiPath);
    headers = scanBuffers(series.instances.map((i) => ({ bytes: i.bytes, label: i.sopInstanceUid }))).headers;
  });
  after(() => tmp?.remove());

  for (const target of ['T12', 'L1', 'L2', 'L3'] as const) {
    it(`${target}: every slice inside the vertebral body measured, the mid slice among them, a SEG frame each`, async () => {
      const [result] = await analyzeHeaders(headers, { config, target, outDir: join(tmp.path, target) });
      assert.equal(result.status, 'ok', result.message);
      assert.equal(result.level!.name, target);
      const figures = result.body!;
      // 3 mm slices through a 20–35 mm vertebral body.
      assert.ok(figures.slices.length >= 5 && figures.slices.length <= 12, `${figures.slices.length} slices`);
      assert.deepEqual(figures.notMeasured, []);
      const [inferior, superior] = figures.bodyMm;
      for (const s of figures.slices) assert.ok(s.zMm - 1.5 >= inferior - 1e-6 && s.zMm + 1.5 <= superior + 1e-6, `z ${s.zMm} inside ${inferior}..${superior}`);
      assert.ok(figures.slices.some((s) => s.sopInstanceUid === result.level!.sopInstanceUid), 'the mid slice is a body slice');
      const { min, max, mean } = figures.areaCm2;
      assert.ok(min <= result.muscle!.areaCm2 && result.muscle!.areaCm2 <= max && min <= mean && mean <= max);
      const readout = await readSegMask(new Uint8Array(readFileSync(result.outputs.seg!.path)));
      assert.deepEqual(readout.frames.map((f) => f.referencedSopInstanceUid), figures.slices.map((s) => s.sopInstanceUid));
      if (hasCommand('dciodvfy')) {
        const seg = dciodvfy(new Uint8Array(readFileSync(result.outputs.seg!.path)));
        assert.deepEqual([seg.errors, seg.warnings], [[], []], seg.output);
      }
    });
  }
});
