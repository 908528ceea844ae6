// The review page's script: live refresh and filters on the list, the actions as fetch calls
// with the CSRF token, and slice picking on the reformat. The server renders every view; this
// only refreshes it.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';

function say(text, isError) {
  const box = document.getElementById('message');
  box.textContent = text;
  box.className = isError ? 'error' : 'ok';
  box.hidden = false;
}

async function post(url, body, headers = {}) {
  const init = { method: 'POST', headers: { 'X-CSRF-Token': csrf, ...headers }, credentials: 'same-origin' };
  if (body instanceof Blob) init.body = body;
  else {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  const response = await fetch(url, init);
  const answer = await response.json().catch(() => ({ code: 'E_INTERNAL', message: `HTTP ${response.status}` }));
  if (!response.ok) throw Object.assign(new Error(answer.message), { code: answer.code });
  return answer;
}

async function refreshList() {
  const filters = document.getElementById('filters');
  if (!filters) return;
  const query = new URLSearchParams(new FormData(filters));
  for (const [key, value] of [...query]) if (!value) query.delete(key);
  const html = await (await fetch(`/?${query}`, { credentials: 'same-origin' })).text();
  const fresh = new DOMParser().parseFromString(html, 'text/html');
  for (const id of ['studies', 'dead']) {
    document.querySelector(`#${id} tbody`).innerHTML = fresh.querySelector(`#${id} tbody`).innerHTML;
  }
  document.getElementById('refreshed').textContent = new Date().toLocaleTimeString();
}

function wireList() {
  const filters = document.getElementById('filters');
  if (!filters) return;
  filters.addEventListener('change', () => void refreshList());
  setInterval(() => void refreshList().catch(() => undefined), 5000);
  document.getElementById('refreshed').textContent = new Date().toLocaleTimeString();
}

function wireForms() {
  for (const form of document.querySelectorAll('form[data-action]')) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      // One name field for all actions (shown when no signed-in person is known).
      const name = document.getElementById('observer-name')?.value.trim();
      if (name) data.set('observerName', name);
      try {
        if (form.hasAttribute('data-upload')) {
          const file = data.get('seg');
          await post(form.dataset.action, file, { 'Content-Type': 'application/dicom', ...(name ? { 'X-Observer-Name': encodeURIComponent(name) } : {}) });
        } else {
          await post(form.dataset.action, Object.fromEntries(data));
        }
        say('Done. Reloading…', false);
        setTimeout(() => location.reload(), 600);
      } catch (error) {
        say(`${error.code}: ${error.message}`, true);
      }
    });
  }
  document.addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    try {
      await post(button.dataset.action, {});
      say('Queued again.', false);
      await refreshList();
    } catch (error) {
      say(`${error.code}: ${error.message}`, true);
    }
  });
}

async function wireReformat() {
  const image = document.getElementById('reformat');
  const input = document.querySelector('#slice-form input[name="sliceIndex"]');
  if (!image || !input) return;
  const meta = await (await fetch(image.dataset.meta, { credentials: 'same-origin' })).json();
  image.addEventListener('click', (event) => {
    const row = (event.offsetY * meta.height) / image.clientHeight;
    const z = meta.topZMm - (row / (meta.height - 1)) * (meta.topZMm - meta.bottomZMm);
    let best = 0;
    meta.slicesZMm.forEach((sz, i) => {
      if (Math.abs(sz - z) < Math.abs(meta.slicesZMm[best] - z)) best = i;
    });
    input.value = String(best);
    say(`Slice ${best} (z ${meta.slicesZMm[best].toFixed(1)} mm) chosen: press "Measure this slice".`, false);
  });
}

wireList();
wireForms();
void wireReformat();
