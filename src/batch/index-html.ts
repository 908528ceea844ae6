/** index.html of a batch: every study with its thumbnail and figures, sortable, for checking by eye. */
import { escapeHtml, htmlPage, sortableTable, type Column } from '../render/html-table.ts';
import type { BatchRow } from './types.ts';

const f = (v: number | null, digits: number) => (v === null || !Number.isFinite(v) ? null : Number(v.toFixed(digits)));

const COLUMNS: Array<Column<BatchRow>> = [
  { title: 'slice and mask', text: (r) => r.thumbnail, html: (r) => (r.thumbnail ? `<img src="${escapeHtml(r.thumbnail)}" alt="measured slice of ${escapeHtml(r.studyInstanceUid)}" loading="lazy">` : '') },
  { title: 'status', text: (r) => r.status },
  { title: 'study', text: (r) => r.studyInstanceUid },
  { title: 'accession', text: (r) => r.accessionNumber },
  { title: 'age', text: (r) => r.patientAge },
  { title: 'sex', text: (r) => r.patientSex },
  { title: 'height (m)', text: (r) => r.patientHeightM },
  { title: 'level', text: (r) => r.level },
  { title: 'slice z (mm)', text: (r) => f(r.sliceZMm, 1) },
  { title: 'SMA (cm²)', text: (r) => f(r.smaCm2, 1) },
  { title: 'SMRA (HU)', text: (r) => f(r.smraMeanHu, 1) },
  { title: 'SD (HU)', text: (r) => f(r.smraSdHu, 1) },
  { title: 'IMAT (cm²)', text: (r) => f(r.imatCm2, 1) },
  { title: 'low-att. fraction', text: (r) => f(r.lowAttenuationFraction, 3) },
  { title: 'SMI (cm²/m²)', text: (r) => f(r.smiCm2PerM2, 1) },
  { title: 'body SMA mean (range), cm²', text: (r) => (r.body ? `${r.body.smaMeanCm2.toFixed(1)} (${r.body.smaMinCm2.toFixed(1)}–${r.body.smaMaxCm2.toFixed(1)}; ${r.body.slices} slices)` : null) },
  { title: 'flags', text: (r) => r.flags.join(' | ') },
  { title: 'message', text: (r) => (r.status === 'ok' ? '' : r.message) },
  { title: 'source', text: (r) => r.source },
];

export function indexHtml(rows: BatchRow[], summary: { failed: number; stopped: boolean }): string {
  const intro = `<p class="note">${rows.length} studies, ${summary.failed} not measured${summary.stopped ? ' (the run was stopped before the end)' : ''}.
Thumbnails: the measured slice (soft-tissue window) with the muscle mask in red. Figures as in results.csv; click a header to sort.</p>`;
  return htmlPage('ct-muscle-node batch', intro + sortableTable('studies', COLUMNS, rows));
}
