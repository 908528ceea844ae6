/**
 * Self-contained HTML pages with a sortable table (the batch's index.html, validate's
 * validation.html): no external scripts or styles, so the page opens from a file on any
 * workstation. Click a column header to sort; numbers sort as numbers, empty cells last.
 */
export interface Column<T> {
  title: string;
  /** Text shown (escaped) and used for sorting, unless `html` is given. */
  text: (row: T) => string | number | null;
  /** Raw HTML for the cell (e.g. an <img>); the sort still uses `text`. */
  html?: (row: T) => string;
}

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function sortableTable<T>(id: string, columns: Array<Column<T>>, rows: T[]): string {
  const head = columns.map((c, i) => `<th data-col="${i}" title="click to sort">${escapeHtml(c.title)}</th>`).join('');
  const body = rows
    .map((row) => {
      const cells = columns.map((c) => {
        const value = c.text(row);
        const sort = value === null || value === undefined ? '' : String(value);
        return `<td data-sort="${escapeHtml(sort)}">${c.html ? c.html(row) : escapeHtml(sort)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<table id="${escapeHtml(id)}" class="sortable"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const SORT_SCRIPT = `
for (const table of document.querySelectorAll('table.sortable')) {
  table.querySelectorAll('th').forEach((th) => th.addEventListener('click', () => {
    const col = Number(th.dataset.col);
    const ascending = th.dataset.dir !== 'asc';
    table.querySelectorAll('th').forEach((h) => delete h.dataset.dir);
    th.dataset.dir = ascending ? 'asc' : 'desc';
    const body = table.tBodies[0];
    const key = (tr) => tr.cells[col].dataset.sort;
    const rows = [...body.rows].sort((a, b) => {
      const x = key(a), y = key(b);
      if (x === '' || y === '') return x === y ? 0 : x === '' ? 1 : -1;
      const nx = Number(x), ny = Number(y);
      const c = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
      return ascending ? c : -c;
    });
    body.append(...rows);
  }));
}`;

const STYLE = `body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:middle}
th{background:#eee;cursor:pointer;position:sticky;top:0}th[data-dir=asc]::after{content:' ▲'}th[data-dir=desc]::after{content:' ▼'}
td img{display:block;max-width:200px}.note{color:#555;max-width:60em}.bad{color:#a00}`;

export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
<script>${SORT_SCRIPT}</script>
</body></html>
`;
}
