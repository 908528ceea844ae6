/**
 * The review page's HTML, rendered on the server (the page works without its script; the script
 * adds live refresh, filters, clicks on the reformat and the actions' fetch calls).
 */
import type { ResultJson } from '../report/index.ts';
import type { ReviewRecord } from './review-store.ts';
import type { DeadLetter, StudyRow } from './studies.ts';

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const fixed = (v: number | null | undefined, digits: number) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');
const when = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

export function layout(title: string, csrf: string, body: string, user: string | null): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${esc(csrf)}"><title>${esc(title)} · ct-muscle-node</title>
<link rel="stylesheet" href="/assets/review.css"><script type="module" src="/assets/review.js"></script></head>
<body><header><a href="/" class="home">ct-muscle-node</a><span class="who">${user ? `signed in as ${esc(user)}` : ''}</span></header>
<main>${body}</main><div id="message" role="status" hidden></div></body></html>`;
}

export function studyRowHtml(row: StudyRow): string {
  const uid = esc(row.studyInstanceUid);
  return `<tr data-state="${esc(row.state)}" data-review="${esc(row.review)}" data-flagged="${row.flags.length > 0}">
<td><a href="/studies/${uid}">${uid}</a></td><td class="state-${esc(row.state.replace(' ', '-'))}">${esc(row.state)}</td><td>${esc(row.studyDate ?? '–')}</td>
<td>${esc(row.level ?? '–')}${row.sliceIndex !== null ? ` / ${row.sliceIndex}` : ''}</td><td class="num">${fixed(row.areaCm2, 2)}</td><td class="num">${fixed(row.smraHu, 1)}</td>
<td class="num">${fixed(row.imatAreaCm2, 2)}</td><td class="num">${fixed(row.smiCm2PerM2, 2)}</td><td class="num">${fixed(row.bodyAreaCm2?.mean, 2)}</td><td>${esc(row.verdict ?? '–')}</td>
<td class="flags">${row.flags.map((f) => `<span class="flag">${esc(f)}</span>`).join(' ')}</td><td>${esc(row.segmenter ?? '–')}</td>
<td class="review-${esc(row.review.replace(' ', '-'))}">${esc(row.review)}${row.reviewedBy ? ` (${esc(row.reviewedBy)})` : ''}</td></tr>`;
}

export function deadLetterHtml(d: DeadLetter): string {
  return `<tr><td>${d.id}</td><td>${esc(d.kind)}</td><td><a href="/studies/${esc(d.studyInstanceUid)}">${esc(d.studyInstanceUid)}</a></td>
<td><code>${esc(d.code)}</code> ${esc(d.reason)}</td><td>${d.attempts}</td><td>${when(d.updatedAt)}</td>
<td><button data-action="/api/jobs/${d.id}/requeue">Queue again</button></td></tr>`;
}

function filterSelect(name: string, options: string[]): string {
  return `<label>${name} <select name="${name}"><option value="">all</option>${options.map((o) => `<option>${esc(o)}</option>`).join('')}</select></label>`;
}

export function listPage(rows: StudyRow[], dead: DeadLetter[]): string {
  return `<h1>Studies</h1>
<form id="filters" class="filters">${filterSelect('state', ['pending', 'running', 'measured', 'not measured', 'dead'])}
${filterSelect('flag', ['flagged', 'not flagged'])}${filterSelect('review', ['not reviewed', 'accepted', 'rejected', 'corrected', 'slice chosen'])}
<span class="refresh">refreshed every 5 s · <span id="refreshed"></span></span></form>
<table id="studies"><thead><tr><th>Study</th><th>State</th><th>Date</th><th>Level / slice</th><th>Area cm²</th><th>SMRA HU</th><th>IMAT cm²</th><th>SMI cm²/m²</th><th>Body mean cm²</th><th>Verdict</th><th>Flags</th><th>Segmenter</th><th>Review</th></tr></thead>
<tbody>${rows.map(studyRowHtml).join('\n')}</tbody></table>
<h2>Dead letters</h2><table id="dead"><thead><tr><th>Job</th><th>Kind</th><th>Study</th><th>Reason</th><th>Attempts</th><th>When</th><th></th></tr></thead>
<tbody>${dead.map(deadLetterHtml).join('\n')}</tbody></table>`;
}

export interface StudyView {
  row: StudyRow;
  json: ResultJson | null;
  kind: 'original' | 'corrected' | null;
  records: ReviewRecord[];
  files: Array<{ name: string; href: string }>;
  /** Whether the reviewer must type their name (no signed-in person). */
  askName: boolean;
}

/** measurement.slices "body": the node's mean area over the vertebral body, with its range (none otherwise). */
function bodyFigure(view: StudyView): Array<[string, string]> {
  const body = view.row.bodyAreaCm2;
  if (!body) return [];
  const note = view.kind === 'corrected' ? " (the node's, before the correction)" : '';
  return [['Muscle area, body mean', `${fixed(body.mean, 2)} cm² (range ${fixed(body.min, 2)}–${fixed(body.max, 2)} over ${body.slices} slices)${note}`]];
}

function figures(view: StudyView): string {
  const { row, json } = view;
  const cells: Array<[string, string]> = [
    ['Level / slice', `${esc(row.level ?? '–')}${row.sliceIndex !== null ? ` / slice ${row.sliceIndex}` : ''}${json?.slice.zMm != null ? ` (z ${json.slice.zMm.toFixed(1)} mm)` : ''}`],
    ['Muscle area', `${fixed(row.areaCm2, 2)} cm²`],
    ['SMRA (mean HU)', `${fixed(row.smraHu, 1)} HU`],
    ['IMAT', `${fixed(row.imatAreaCm2, 2)} cm²`],
    ['SMI', `${fixed(row.smiCm2PerM2, 2)} cm²/m²`],
    ...bodyFigure(view),
    ['Verdict', esc(row.verdict ?? 'none (no site cut-off applies)')],
    ['Segmenter', esc(row.segmenter ?? '–')],
    ['Result in force', esc(view.kind === 'corrected' ? 'corrected (edited SEG)' : view.kind === 'original' ? "the node's" : '–')],
    ['Review', `${esc(row.review)}${row.reviewedBy ? ` by ${esc(row.reviewedBy)}` : ''}`],
  ];
  return `<table class="figures" id="figures">${cells.map(([k, v]) => `<tr><th>${k}</th><td data-figure="${esc(k)}">${v}</td></tr>`).join('')}</table>`;
}

function evidence(json: ResultJson | null, row: StudyRow): string {
  const e = json?.level.evidence;
  const vertebrae = e?.vertebrae.length
    ? `<table class="vertebrae"><thead><tr><th>Vertebra</th><th>z inferior–superior (mm)</th><th>Ribs</th><th>Sacral</th></tr></thead><tbody>${[...e.vertebrae]
        .reverse()
        .map((v) => `<tr><td>${esc(v.name ?? '?')}</td><td>${v.inferiorMm.toFixed(1)} – ${v.superiorMm.toFixed(1)}${v.cutInferior || v.cutSuperior ? ' (cut by the field of view)' : ''}</td><td>${v.bearsRibs === null ? '–' : v.bearsRibs ? 'yes' : 'no'}</td><td>${v.sacral ? 'yes' : ''}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p>No level evidence (a slice given by a person, or the finder kept none).</p>';
  const anchors = e ? `<p>Anchors: ribs ${esc(e.anchors.ribs ?? '–')}; sacrum ${esc(e.anchors.sacrum ?? '–')}. Rib-bearing vertebrae: ${e.ribBearingCount}; lumbar: ${e.lumbarCount ?? '–'}.</p>` : '';
  const method = json ? `<p>Method: ${esc(json.level.method ?? '–')}; rule: ${esc(json.level.rule ?? '–')}; confidence: ${fixed(json.level.confidence, 2)}.</p>` : '';
  // The node repeats the level's warnings among the flags as "level: …": list each once.
  const levelWarnings = json?.level.warnings ?? [];
  const warnings = [...levelWarnings, ...row.flags.filter((f) => !levelWarnings.some((w) => f === `level: ${w}`))];
  return `<section class="evidence"><h2>Evidence</h2>${method}${anchors}${vertebrae}<h3>Warnings and flags</h3>${warnings.length ? `<ul>${warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : '<p>None.</p>'}${row.message && row.message !== 'measured' ? `<p class="note">${esc(row.message)}</p>` : ''}</section>`;
}

function actions(view: StudyView): string {
  const uid = esc(view.row.studyInstanceUid);
  const ask = view.askName
    ? '<p><label>Your name, as the SR names the reviewer <input id="observer-name" name="observerName" required maxlength="64" autocomplete="name" placeholder="Family^Given"></label></p>'
    : '';
  return `<section class="actions"><h2>Review</h2>${ask}
<form data-action="/api/studies/${uid}/accept" id="accept-form"><button>Accept (verified SR)</button></form>
<form data-action="/api/studies/${uid}/reject" id="reject-form"><label>Reason <input name="reason" maxlength="200"></label><button class="danger">Reject (not to be used)</button></form>
<form data-action="/api/studies/${uid}/slice" id="slice-form"><label>Slice index <input name="sliceIndex" type="number" min="0" required></label><button>Measure this slice</button><small>or click the reformat</small></form>
<form data-action="/api/studies/${uid}/correct" data-upload id="correct-form"><label>Edited SEG <input name="seg" type="file" accept=".dcm,application/dicom" required></label><button>Upload and re-measure</button></form></section>`;
}

function history(records: ReviewRecord[]): string {
  if (records.length === 0) return '<p>No review yet.</p>';
  return `<table id="history"><thead><tr><th>When</th><th>Who</th><th>Action</th><th>Detail</th></tr></thead><tbody>${records
    .map((r) => `<tr><td>${when(r.at)}</td><td>${esc(r.who)} <small>(${esc(r.authenticatedAs.split(':').slice(0, 3).join(':'))})</small></td><td>${esc(r.action)}</td><td>${esc(r.detail.reason ?? r.detail.sliceIndex ?? (r.detail.muscle ? `area ${fixed((r.detail.muscle as { areaCm2: number }).areaCm2, 2)} cm²` : ''))}</td></tr>`)
    .join('')}</tbody></table>`;
}

export function studyPage(view: StudyView): string {
  const uid = esc(view.row.studyInstanceUid);
  const measured = view.kind !== null;
  const pictures = measured
    ? `<div class="pictures"><figure><img id="axial" src="/studies/${uid}/axial.png" alt="measured slice with the muscle mask"><figcaption>Measured slice, W400/L40, muscle mask in red</figcaption></figure>
<figure><img id="reformat" src="/studies/${uid}/reformat.png" alt="sagittal reformat with the level line" data-meta="/api/studies/${uid}/reformat"><figcaption>Sagittal slab (MIP ±15 mm), level line yellow, vertebrae cyan; click to choose a slice</figcaption></figure></div>`
    : '<p>No measured slice to show.</p>';
  return `<h1>Study <code>${uid}</code></h1><p class="state">State: <b>${esc(view.row.state)}</b> · study date ${esc(view.row.studyDate ?? '–')}</p>
${pictures}<div class="columns"><section><h2>Figures</h2>${figures(view)}
<h2>Files</h2><ul class="files">${view.files.map((f) => `<li><a href="${esc(f.href)}">${esc(f.name)}</a></li>`).join('')}</ul></section>
${evidence(view.json, view.row)}</div>${measured ? actions(view) : ''}<section><h2>Review history</h2>${history(view.records)}</section>`;
}

export function signInPage(token: string, failed: boolean): string {
  return layout(
    'Sign in',
    token,
    `<h1>Sign in</h1>${failed ? '<p class="error">Those credentials are not valid.</p>' : ''}<p>Use the node's STOW-RS credentials: a basic user and password, or a bearer token.</p>
<form method="post" action="/login" class="signin"><input type="hidden" name="_csrf" value="${esc(token)}">
<label>User <input name="user" autocomplete="username"></label><label>Password <input name="password" type="password" autocomplete="current-password"></label>
<p>or</p><label>Bearer token <input name="token" type="password"></label><button>Sign in</button></form>`,
    null,
  );
}
