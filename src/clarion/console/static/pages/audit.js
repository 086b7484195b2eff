// audit page: the audit trail, newest first, filtered and paged by cursor,
// with counts by action and by actor over the same window at the top.
// Reading the trail is itself audited (`audit_log.read`, `audit_log.stats`).
import { api, h, replace, page, when, notify, failed, table, syncForm } from '../console.js';

const ACTION = /^[a-z_]+(\.[a-z_]+)*$/;

// A datetime-local value (the browser's time zone) as RFC 3339 in UTC.
function moment(local) {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}


function input(id, label, attrs = {}) {
  return h('label', { for: id }, label, h('input', { id, name: id, ...attrs }));
}

const form = h('form', { class: 'filters', 'aria-label': 'Filter the audit trail' },
  input('actor', 'Actor (user id)', { size: 36, pattern: '[0-9a-fA-F-]{36}', class: 'mono' }),
  input('action', 'Actions (comma-separated)', { placeholder: 'user.create, data.export' }),
  input('entityType', 'Target type', { placeholder: 'user', maxlength: 50 }),
  input('entityId', 'Target id', { maxlength: 100 }),
  input('from', 'From', { type: 'datetime-local', step: 1 }),
  input('to', 'To', { type: 'datetime-local', step: 1 }),
  h('label', { for: 'limit' }, 'Per page',
    h('select', { id: 'limit', name: 'limit' },
      ['25', '50', '100', '200'].map((n) => h('option', { value: n, selected: n === '50' }, n)))),
  h('div', { class: 'actions' },
    h('button', { type: 'submit', class: 'primary' }, 'Apply'),
    h('a', { href: '/console/audit' }, 'Clear')));

const stats = h('section', { 'aria-labelledby': 'stats-title' });
const results = h('section', { 'aria-labelledby': 'entries-title' });
replace(page(), stats, h('h2', null, 'Filters'), form, results);

// The cursors of the pages before this one: Newer pops, Older pushes.
let cursors = [];
let filters = {};

function apiParams(values) {
  const search = new URLSearchParams();
  if (values.actor) search.append('actor', values.actor.trim());
  for (const action of (values.action || '').split(',').map((a) => a.trim()).filter(Boolean)) {
    search.append('action', action);
  }
  if (values.entityType) search.append('entityType', values.entityType.trim());
  if (values.entityId) search.append('entityId', values.entityId.trim());
  const from = moment(values.from);
  const to = moment(values.to);
  if (from) search.append('from', from);
  if (to) search.append('to', to);
  return search;
}

function counted(rows, cell) {
  if (!rows.length) return h('p', { class: 'empty' }, 'None.');
  return h('ol', { class: 'counts' }, rows.map((row) => h('li', null, cell(row), ` — ${row.count}`)));
}

function actorCell(actorId) {
  if (!actorId) return h('span', { class: 'hint' }, 'system');
  return h('a', { href: `/console/users/${actorId}`, class: 'mono' }, actorId);
}

async function loadStats(values) {
  const search = new URLSearchParams();
  const from = moment(values.from);
  const to = moment(values.to);
  if (from) search.append('from', from);
  if (to) search.append('to', to);
  try {
    const body = await api(`/data-pipeline/audit-logs/stats${search.size ? `?${search}` : ''}`);
    replace(stats,
      h('h2', { id: 'stats-title' }, `Activity from ${when(body.from)} to ${when(body.to)}`),
      h('div', { class: 'grid' },
        h('div', { class: 'card' },
          h('div', { class: 'label' }, 'Entries'),
          h('div', { class: 'figure', 'data-stat': 'total' }, String(body.total))),
        h('div', { class: 'card' },
          h('h3', { class: 'label' }, 'Top actions'),
          counted(body.byAction, (row) => h('code', null, row.action))),
        h('div', { class: 'card' },
          h('h3', { class: 'label' }, 'Top actors'),
          counted(body.byActor, (row) => actorCell(row.actorId)))));
  } catch (error) {
    replace(stats, h('h2', { id: 'stats-title' }, 'Activity'), h('p', { class: 'error' }, 'Counts unavailable.'));
    failed(error);
  }
}

function target(entry) {
  if (!entry.entityType && !entry.entityId) return '';
  const id = entry.entityId || '';
  const links = { user: '/console/users/', notification: '/console/notifications/', template: '/console/templates/' };
  const base = links[entry.entityType];
  return [
    h('span', { class: 'badge' }, entry.entityType || '?'), ' ',
    base && id ? h('a', { href: base + encodeURIComponent(id), class: 'mono' }, id) : h('span', { class: 'mono' }, id),
  ];
}

function details(entry) {
  const changes = entry.changes && Object.keys(entry.changes).length
    ? h('ul', { class: 'changes' }, Object.entries(entry.changes).map(([key, value]) =>
      h('li', null, h('span', { class: 'label' }, `${key}: `),
        h('span', { class: 'mono' }, typeof value === 'string' ? value : JSON.stringify(value)))))
    : null;
  const origin = [entry.ipAddress, entry.userAgent].filter(Boolean).join(' · ');
  return [changes, origin ? h('div', { class: 'hint' }, origin) : null];
}

async function loadEntries() {
  const search = apiParams(filters);
  search.append('limit', filters.limit || '50');
  const cursor = cursors[cursors.length - 1];
  if (cursor) search.append('cursor', cursor);
  replace(results, h('h2', { id: 'entries-title' }, 'Entries'), h('p', { class: 'hint' }, 'Loading…'));
  try {
    const body = await api(`/data-pipeline/audit-logs?${search}`);
    const newer = h('button', { type: 'button', disabled: cursors.length === 0 }, 'Newer');
    const older = h('button', { type: 'button', disabled: !body.nextCursor }, 'Older');
    newer.addEventListener('click', () => { cursors.pop(); loadEntries(); });
    older.addEventListener('click', () => { cursors.push(body.nextCursor); loadEntries(); });
    replace(results,
      h('h2', { id: 'entries-title' }, 'Entries'),
      h('p', { class: 'hint' }, cursors.length ? `Page ${cursors.length + 1}, newest first.` : 'Newest first.'),
      table([
        ['When', (e) => h('time', { datetime: e.timestamp }, when(e.timestamp))],
        ['Actor', (e) => actorCell(e.actorId)],
        ['Action', (e) => h('code', null, e.action)],
        ['Target', target],
        ['Details', details],
      ], body.items, { caption: 'Audit entries', empty: 'No entries match these filters.' }),
      h('nav', { class: 'actions pager', 'aria-label': 'Pages' }, newer, older));
  } catch (error) {
    replace(results, h('h2', { id: 'entries-title' }, 'Entries'), h('p', { class: 'error' }, 'The entries could not be read.'));
    failed(error);
  }
}

function show(values) {
  const bad = (values.action || '').split(',').map((a) => a.trim()).filter((a) => a && !ACTION.test(a));
  if (bad.length) {
    notify(`Not an action name: ${bad.join(', ')} (lower case words joined by dots, e.g. user.create).`, 'error');
    return;
  }
  replace(document.getElementById('notice'));
  filters = values;
  cursors = [];
  loadStats(values);
  loadEntries();
}

show(syncForm(form, show));
