// Dead letters: GET /admin/dlq, newest first, paged by offset. The API has no
// filter, so the error filter narrows the loaded page here in the browser.
// Re-drive one or a selection (POST /admin/notifications/{id}/retry, audited).
import { api, confirmDialog, failed, h, notify, page, replace, syncForm, when } from '../console.js';

const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter dead letters' },
  h('label', { for: 'filter-error' }, 'Error contains',
    h('input', { id: 'filter-error', name: 'error', type: 'search' })),
  h('label', { for: 'filter-limit' }, 'Per page',
    h('select', { id: 'filter-limit', name: 'limit' }, [50, 100, 200].map((n) => h('option', { value: n }, n)))),
  h('button', { type: 'submit', class: 'primary' }, 'Filter'));
const hint = h('p', { class: 'hint' },
  'The error filter applies to the dead letters loaded on this page (the API has no error filter).');
const results = h('section', { 'aria-labelledby': 'dlq-heading' });
replace(page(), form, hint, results);

let filters = {};
let offset = 0;
let shown = [];
const selected = new Set();

function lastError(letter) {
  const n = letter.notification;
  return n.errorMessage || (letter.errors.length ? (letter.errors[letter.errors.length - 1].metadata || {}).error : '') || '';
}

function matches(letter) {
  const needle = (filters.error || '').toLowerCase();
  if (!needle) return true;
  const texts = [lastError(letter), ...letter.errors.map((e) => (e.metadata || {}).error || '')];
  return texts.some((text) => String(text).toLowerCase().includes(needle));
}

function checkbox(letter) {
  const id = `pick-${letter.notification.id}`;
  const box = h('input', { type: 'checkbox', id, checked: selected.has(letter.notification.id) ? true : null,
    onchange: (event) => {
      if (event.target.checked) selected.add(letter.notification.id);
      else selected.delete(letter.notification.id);
      updateButton();
    } });
  return [box, h('label', { for: id, class: 'offscreen' }, `Select ${letter.notification.id}`)];
}

const redriveButton = h('button', { type: 'button', class: 'danger', id: 'redrive-selected', onclick: redriveSelected },
  'Re-drive selected');

const counts = h('p', { class: 'hint', role: 'status', id: 'dlq-counts' });

function updateButton() {
  replace(counts, `${shown.length} shown (from offset ${offset}); ${selected.size} selected.`);
  redriveButton.disabled = selected.size === 0;
  redriveButton.textContent = selected.size ? `Re-drive selected (${selected.size})` : 'Re-drive selected';
}

function selectAll(event) {
  for (const letter of shown) {
    if (event.target.checked) selected.add(letter.notification.id);
    else selected.delete(letter.notification.id);
  }
  render();
}

function render() {
  const allPicked = shown.length > 0 && shown.every((l) => selected.has(l.notification.id));
  const head = h('tr', null,
    h('th', { scope: 'col' }, h('input', { type: 'checkbox', id: 'pick-all', checked: allPicked ? true : null, onchange: selectAll }),
      h('label', { for: 'pick-all', class: 'offscreen' }, 'Select all shown')),
    ['Notification', 'Channel', 'Attempts', 'Last error', 'Failed', 'Errors'].map((x) => h('th', { scope: 'col' }, x)));
  const body = shown.map((letter) => {
    const n = letter.notification;
    return h('tr', null,
      h('td', null, checkbox(letter)),
      h('td', null, h('a', { href: `/console/notifications/${n.id}`, class: 'mono' }, n.id)),
      h('td', null, n.channel),
      h('td', null, n.attempts),
      h('td', { class: 'error' }, lastError(letter)),
      h('td', null, when(n.failedAt)),
      h('td', null, letter.errors.length));
  });
  updateButton();
  replace(results,
    h('h2', { id: 'dlq-heading' }, 'Dead letters'),
    counts,
    shown.length
      ? h('div', { class: 'table-wrap' }, h('table', { id: 'dead-letters' }, h('thead', null, head), h('tbody', null, body)))
      : h('p', { class: 'empty' }, 'No dead letter matches.'),
    h('div', { class: 'actions' },
      offset > 0 ? h('button', { type: 'button', onclick: () => load(Math.max(0, offset - limit())) }, 'Previous page') : null,
      loadedCount >= limit() ? h('button', { type: 'button', onclick: () => load(offset + limit()) }, 'Next page') : null,
      redriveButton));
}

const limit = () => Number(filters.limit || 50);
let loadedCount = 0;

async function load(from = 0) {
  offset = from;
  try {
    const letters = await api('/admin/dlq', { params: { offset, limit: limit() } });
    loadedCount = letters.length;
    shown = letters.filter(matches);
    const visible = new Set(shown.map((l) => l.notification.id));
    for (const id of [...selected]) if (!visible.has(id)) selected.delete(id);
    render();
  } catch (error) {
    failed(error);
  }
}

async function redriveSelected() {
  const ids = [...selected];
  if (!ids.length) return;
  const ok = await confirmDialog({
    title: `Re-drive ${ids.length} dead letter${ids.length === 1 ? '' : 's'}?`,
    message: 'Each is sent again from its first attempt. Every re-drive is audited.',
    confirm: 'Re-drive',
    danger: true,
  });
  if (!ok) return;
  const outcomes = await Promise.allSettled(ids.map((id) => api(`/admin/notifications/${id}/retry`, { method: 'POST' })));
  const good = outcomes.filter((o) => o.status === 'fulfilled').length;
  const bad = outcomes.length - good;
  const reasons = [...new Set(outcomes.filter((o) => o.status === 'rejected').map((o) => o.reason.message))];
  selected.clear();
  notify(`Re-drove ${good} of ${ids.length}.${bad ? ` ${bad} refused: ${reasons.join('; ')}` : ''}`, bad ? 'error' : 'good');
  await load(offset);
}

filters = syncForm(form, (values) => {
  filters = values;
  load(0);
});
load(0);
