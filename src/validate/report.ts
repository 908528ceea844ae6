/** validation.json, validation.html and the two plots from the case records. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { escapeHtml, htmlPage, sortableTable, type Column } from '../render/html-table.ts';
import { renderPlotPng } from '../render/plots.ts';
import { PAPER, summarize, type AgreementSummary, type AreaComparison } from './metrics.ts';
import type { CaseRecord, LevelSummary, ValidationReport } from './types.ts';

function levelSummary(records: CaseRecord[]): LevelSummary | null {
  const levels = records.flatMap((r) => (r.level && 'differenceMm' in r.level && r.level.differenceMm !== null ? [r.level] : []));
  if (levels.length === 0) return null;
  const mm = levels.map((l) => l.differenceMm!);
  return {
    n: levels.length,
    meanAbsMm: mm.reduce((a, b) => a + b, 0) / mm.length,
    maxAbsMm: Math.max(...mm),
    withinOneSlice: levels.filter((l) => l.differenceSlices !== null && l.differenceSlices <= 1.001).length / levels.length,
  };
}

export function summarizeRecords(records: CaseRecord[]): ValidationReport['summary'] {
  const ok = records.filter((r) => r.status === 'ok');
  const primary = ok.flatMap((r) => (r.primary ? [r.primary as AreaComparison] : []));
  const full = ok.flatMap((r) => (r.full ? [r.full as AreaComparison] : []));
  return { primary: summarize(primary), full: summarize(full), level: levelSummary(ok) };
}

export async function writePlots(outDir: string, records: CaseRecord[], summary: AgreementSummary | null): Promise<{ blandAltman: string | null; scatter: string | null }> {
  const pairs = records.flatMap((r) => (r.status === 'ok' && r.primary ? [r.primary] : []));
  if (pairs.length === 0 || !summary?.blandAltman) return { blandAltman: null, scatter: null };
  const ba = summary.blandAltman;
  await writeFile(
    join(outDir, 'bland-altman.png'),
    renderPlotPng({
      title: `Bland–Altman: muscle area, node − reader (n = ${ba.n})`,
      xLabel: 'mean of node and reader (cm²)',
      yLabel: 'node − reader (cm²)',
      points: pairs.map((p) => ({ x: (p.oursAreaCm2 + p.readerAreaCm2) / 2, y: p.differenceCm2 })),
      hLines: [
        { y: ba.biasCm2, label: `bias ${ba.biasCm2.toFixed(2)}` },
        { y: ba.limitsCm2[0], label: `−1.96 SD ${ba.limitsCm2[0].toFixed(2)}`, dashed: true },
        { y: ba.limitsCm2[1], label: `+1.96 SD ${ba.limitsCm2[1].toFixed(2)}`, dashed: true },
      ],
    }),
  );
  await writeFile(
    join(outDir, 'area-scatter.png'),
    renderPlotPng({ title: `Muscle area: node vs reader (n = ${pairs.length})`, xLabel: 'reader (cm²)', yLabel: 'node (cm²)', points: pairs.map((p) => ({ x: p.readerAreaCm2, y: p.oursAreaCm2 })), identity: true }),
  );
  return { blandAltman: 'bland-altman.png', scatter: 'area-scatter.png' };
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${(100 * v).toFixed(1)} %`);
const num = (v: number | null | undefined, d = 2) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));

function summaryTable(report: ValidationReport): string {
  const { primary, full, level } = report.summary;
  const row = (label: string, a: string, b: string, paper: string) => `<tr><th>${escapeHtml(label)}</th><td>${a}</td><td>${b}</td><td>${paper}</td></tr>`;
  const ba = (s: AgreementSummary | null) => (s?.blandAltman ? `${num(s.blandAltman.biasCm2)} (${num(s.blandAltman.limitsCm2[0])} to ${num(s.blandAltman.limitsCm2[1])})` : '—');
  return `<table id="summary"><thead><tr><th></th><th>node vs reader, reader's −29..150 HU pixels</th><th>node vs reader's whole mask</th><th>paper</th></tr></thead><tbody>
${row('cases compared', String(primary?.n ?? 0), String(full?.n ?? 0), '—')}
${row('Dice (mean)', num(primary?.meanDice, 4), num(full?.meanDice, 4), String(PAPER.dice))}
${row('mean |area error| (cm²)', num(primary?.meanAbsAreaErrorCm2), num(full?.meanAbsAreaErrorCm2), String(PAPER.meanAreaErrorCm2))}
${row('max |area error| (cm²)', num(primary?.maxAbsAreaErrorCm2), num(full?.maxAbsAreaErrorCm2), '—')}
${row('< 5 % (expert level)', pct(primary?.gradeShares.expert), pct(full?.gradeShares.expert), pct(PAPER.gradeShares.expert))}
${row('5–10 % (clinically acceptable)', pct(primary?.gradeShares.acceptable), pct(full?.gradeShares.acceptable), pct(PAPER.gradeShares.acceptable))}
${row('≥ 10 % (unacceptable)', pct(primary?.gradeShares.unacceptable), pct(full?.gradeShares.unacceptable), pct(PAPER.gradeShares.unacceptable))}
${row('Bland–Altman bias (limits), cm²', ba(primary), ba(full), '—')}
${row('level: mean |Δ| mm (max; within one slice)', level ? `${num(level.meanAbsMm, 1)} (${num(level.maxAbsMm, 1)}; ${pct(level.withinOneSlice)})` : '—', '', '—')}
</tbody></table>`;
}

const CASE_COLUMNS: Array<Column<CaseRecord>> = [
  { title: 'picture', text: (r) => r.picture, html: (r) => (r.picture ? `<img src="${escapeHtml(r.picture)}" alt="case ${escapeHtml(r.id)}" loading="lazy">` : '') },
  { title: 'case', text: (r) => r.id },
  { title: 'status', text: (r) => r.status },
  { title: 'grade', text: (r) => r.primary?.grade ?? null },
  { title: 'Dice (−29..150)', text: (r) => (r.primary?.dice == null ? null : Number(r.primary.dice.toFixed(4))) },
  { title: 'Dice (whole mask)', text: (r) => (r.full?.dice == null ? null : Number(r.full.dice.toFixed(4))) },
  { title: 'reader cm² (−29..150)', text: (r) => (r.primary ? Number(r.primary.readerAreaCm2.toFixed(2)) : null) },
  { title: 'reader cm² (whole)', text: (r) => (r.full ? Number(r.full.readerAreaCm2.toFixed(2)) : null) },
  { title: 'node cm²', text: (r) => (r.primary ? Number(r.primary.oursAreaCm2.toFixed(2)) : null) },
  { title: 'node body mean cm² (range)', text: (r) => (r.oursBody ? `${r.oursBody.meanCm2.toFixed(2)} (${r.oursBody.minCm2.toFixed(2)}–${r.oursBody.maxCm2.toFixed(2)}; ${r.oursBody.slices} slices)` : null) },
  { title: 'difference %', text: (r) => (r.primary ? Number((100 * r.primary.relativeDifference).toFixed(1)) : null) },
  { title: 'level Δ mm', text: (r) => (r.level && 'differenceMm' in r.level && r.level.differenceMm !== null ? Number(r.level.differenceMm.toFixed(1)) : null) },
  { title: 'our level', text: (r) => (r.level ? ('error' in r.level ? r.level.error.code : r.level.ours) : null) },
  { title: 'slice', text: (r) => r.sliceIndex },
  { title: 'notes', text: (r) => [...r.notes, r.status === 'ok' ? '' : r.message].filter(Boolean).join('; ') },
];

export function validationHtml(report: ValidationReport): string {
  const plots = [report.files.blandAltman, report.files.scatter].filter(Boolean).map((p) => `<img src="${escapeHtml(p)}" alt="${escapeHtml(p)}">`).join(' ');
  const body = `<p class="note">Agreement of the node (${escapeHtml(report.segmenters.join(', ') || 'no segmenter ran')}) with the reference in <code>${escapeHtml(report.reference)}</code>.
The primary comparison takes the reader's pixels within −29..150 HU, the range the node's mask is trimmed to; the whole-mask column shows how much the reader's outline includes outside it.
Grades as in the paper: |node − reader| / reader &lt; 5 %, 5–10 %, ≥ 10 %. ${report.failed} case(s) could not be compared (see the status column).
Agreement with a reference is not accuracy unless the reference is expert readers' work (docs/validation.md).</p>
${summaryTable(report)}
<h2>Plots</h2>${plots || '<p>No case compared.</p>'}
<h2>Cases</h2><p class="note">Picture: the reader's slice, the node's mask in red, the reader's outline in cyan.</p>
${sortableTable('cases', CASE_COLUMNS, report.cases)}`;
  return htmlPage('ct-muscle-node validation', body);
}
