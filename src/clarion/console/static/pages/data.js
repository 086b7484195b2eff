// data page: the archive (what it holds, a pass now), exports (a plain link the
// browser downloads with the session cookie), and anonymising a user, whose
// confirmation asks for the user's email to be typed.
import { api, ApiError, h, replace, page, when, notify, failed, confirmDialog } from '../console.js';

const STATUSES = ['PENDING', 'SCHEDULED', 'PROCESSING', 'SENT', 'FAILED', 'CANCELLED', 'NOT_SENT'];
const CHANNELS = ['EMAIL', 'SMS', 'PUSH', 'IN_APP', 'WEBHOOK'];
const TYPES = {
  notifications: ['TRANSACTIONAL', 'MARKETING', 'ALERT', 'REMINDER'],
  events: ['CREATED', 'SCHEDULED', 'SENT', 'DELIVERED', 'OPENED', 'CLICKED', 'FAILED', 'RETRIED',
    'CANCELLED', 'NOT_SENT', 'DEFERRED'],
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function moment(local) {
  if (!local) return null;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function bytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

function figure(label, value, name) {
  return h('div', { class: 'card' }, h('div', { class: 'label' }, label),
    h('div', { class: 'figure', dataset: name ? { stat: name } : null }, value));
}


function section(id, title, ...children) {
  return h('section', { 'aria-labelledby': id, class: 'pipeline' }, h('h2', { id }, title), ...children);
}

// ---- archive ---------------------------------------------------------------

const archiveStats = h('div', null, h('p', { class: 'hint' }, 'Loading…'));
const archiveResult = h('div', { role: 'status', 'aria-live': 'polite', id: 'archive-result' });
const olderThan = h('input', { id: 'older-than', name: 'olderThanDays', type: 'number', min: 1, max: 36500,
  placeholder: 'server default', inputmode: 'numeric' });
const archiveButton = h('button', { type: 'submit', class: 'primary' }, 'Run archive now');
const archiveForm = h('form', { class: 'filters', 'aria-label': 'Run an archive pass' },
  h('label', { for: 'older-than' }, 'Older than (days)', olderThan),
  h('div', { class: 'actions' }, archiveButton));

function runLine(run) {
  const text = `${run.outcome}: ${run.notifications} notifications and ${run.events} events in ${run.files} files `
    + `(${bytes(run.bytes)}), created before ${when(run.cutoff)}`;
  return run.error ? `${text}. Error: ${run.error}` : `${text}.`;
}

async function loadArchive() {
  try {
    const stats = await api('/data-pipeline/archive/stats');
    replace(archiveStats,
      h('div', { class: 'grid' },
        figure('Archived notifications', String(stats.notifications), 'archived-notifications'),
        figure('Archived events', String(stats.events)),
        figure('Files', `${stats.files} (${bytes(stats.bytes)})`),
        figure('Oldest – newest', stats.oldest ? `${when(stats.oldest)} – ${when(stats.newest)}` : '—')),
      h('p', { class: 'hint' }, 'Stored at ', h('span', { class: 'mono' }, stats.location)),
      h('p', null, h('span', { class: 'label' }, 'Last pass: '),
        stats.lastRun ? `${when(stats.lastRun.startedAt)} (${stats.lastRun.trigger}) — ${runLine(stats.lastRun)}` : 'none yet.'));
  } catch (error) {
    replace(archiveStats, h('p', { class: 'error' }, 'The archive statistics could not be read.'));
    failed(error);
  }
}

archiveForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const days = olderThan.value.trim();
  if (days && !(Number.isInteger(Number(days)) && Number(days) >= 1 && Number(days) <= 36500)) {
    notify('Older than: a whole number of days from 1 to 36500.', 'error');
    return;
  }
  const ok = await confirmDialog({
    title: 'Run an archive pass now?',
    message: `Finished notifications created more than ${days || 'the configured number of'} days ago, with their `
      + 'events, move out of the database into archive files. The pass runs to its end before answering.',
    confirm: 'Run archive now',
  });
  if (!ok) return;
  archiveButton.disabled = true;
  replace(archiveResult, h('p', { class: 'hint' }, 'Archiving…'));
  try {
    const run = await api('/data-pipeline/archive', { method: 'POST', params: { olderThanDays: days || undefined } });
    replace(archiveResult, h('p', { class: 'good' }, `Archive pass done — ${runLine(run)}`));
    loadArchive();
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      replace(archiveResult, h('p', { class: 'warn' },
        'Another archive pass is already running; this one did not start. Try again when it has finished.'));
    } else {
      replace(archiveResult, h('p', { class: 'error' }, `The archive pass failed: ${error.message}`));
      failed(error);
    }
  } finally {
    archiveButton.disabled = false;
  }
});

// ---- export ----------------------------------------------------------------

function checks(legend, name, values) {
  return h('fieldset', { class: 'choices' }, h('legend', null, legend),
    values.map((value) => {
      const id = `export-${name}-${value}`;
      return h('span', { class: 'choice' },
        h('input', { type: 'checkbox', id, name, value }), h('label', { for: id }, value));
    }));
}

const typeBox = h('div');
const exportLink = h('a', { id: 'export-link', class: 'button primary', download: true }, 'Download');
const exportUrl = h('p', { class: 'hint mono' });
const exportProblem = h('p', { class: 'error', role: 'alert' });
const exportForm = h('form', { class: 'filters', 'aria-label': 'Export filters' },
  h('label', { for: 'export-kind' }, 'What',
    h('select', { id: 'export-kind', name: 'kind' },
      h('option', { value: 'notifications' }, 'Notifications'), h('option', { value: 'events' }, 'Events'))),
  h('label', { for: 'export-format' }, 'Format',
    h('select', { id: 'export-format', name: 'format' },
      h('option', { value: 'ndjson' }, 'NDJSON'), h('option', { value: 'csv' }, 'CSV'))),
  h('label', { for: 'export-from' }, 'From (inclusive)', h('input', { id: 'export-from', name: 'from', type: 'datetime-local', step: 1 })),
  h('label', { for: 'export-to' }, 'To (exclusive)', h('input', { id: 'export-to', name: 'to', type: 'datetime-local', step: 1 })),
  h('label', { for: 'export-user' }, 'User id', h('input', { id: 'export-user', name: 'userId', size: 36, class: 'mono' })),
  h('span', { class: 'choice' }, h('input', { type: 'checkbox', id: 'export-archived', name: 'includeArchived', value: 'true' }),
    h('label', { for: 'export-archived' }, 'Include archived rows')),
  checks('Status', 'status', STATUSES),
  checks('Channel', 'channel', CHANNELS),
  typeBox);

function exportTypes() {
  const kind = exportForm.elements.kind.value;
  replace(typeBox, checks(kind === 'events' ? 'Event type' : 'Type', 'type', TYPES[kind]));
}

// The link follows the form: a plain GET the session cookie authenticates, so
// the browser streams the file to disk however large it is.
function exportHref() {
  const data = new FormData(exportForm);
  const kind = data.get('kind');
  const search = new URLSearchParams({ format: data.get('format') });
  const problems = [];
  const from = moment(data.get('from'));
  const to = moment(data.get('to'));
  if (from) search.append('from', from);
  if (to) search.append('to', to);
  if (from && to && from >= to) problems.push('From must be before To.');
  const user = String(data.get('userId') || '').trim();
  if (user && !UUID.test(user)) problems.push('User id must be a UUID.');
  if (user) search.append('userId', user);
  for (const name of ['status', 'channel', 'type']) {
    for (const value of data.getAll(name)) search.append(name, value);
  }
  if (data.get('includeArchived')) search.append('includeArchived', 'true');
  const href = `/data-pipeline/export/${kind}?${search}`;
  exportProblem.textContent = problems.join(' ');
  if (problems.length) {
    exportLink.removeAttribute('href');
    exportLink.setAttribute('aria-disabled', 'true');
  } else {
    exportLink.setAttribute('href', href);
    exportLink.removeAttribute('aria-disabled');
  }
  exportLink.textContent = `Download ${kind} (${data.get('format').toUpperCase()})`;
  exportUrl.textContent = href;
}

exportForm.addEventListener('change', (event) => {
  if (event.target.name === 'kind') exportTypes();
  exportHref();
});
exportForm.addEventListener('input', exportHref);
exportForm.addEventListener('submit', (event) => { event.preventDefault(); exportLink.click(); });
exportTypes();

// ---- anonymise -------------------------------------------------------------

const who = h('input', { id: 'anon-who', name: 'who', autocomplete: 'off', spellcheck: 'false', required: true });
const findForm = h('form', { class: 'filters', 'aria-label': 'Find the user to anonymise' },
  h('label', { for: 'anon-who' }, 'User id or email', who),
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Find user')));
const chosen = h('div', { id: 'anon-user' });
const anonResult = h('div', { role: 'status', 'aria-live': 'polite', id: 'anon-result' });
const anonStats = h('div', null, h('p', { class: 'hint' }, 'Loading…'));

function choose(user) {
  const start = h('button', { type: 'button', class: 'danger' }, 'Anonymise this user…');
  start.addEventListener('click', () => anonymise(user, start));
  replace(chosen, h('div', { class: 'card stack' },
    h('p', null, h('strong', null, user.name), ' ', h('span', { class: 'badge' }, user.role)),
    h('p', null, h('span', { class: 'label' }, 'Email: '), h('span', { class: 'mono' }, user.email)),
    h('p', null, h('span', { class: 'label' }, 'Id: '), h('a', { class: 'mono', href: `/console/users/${user.id}` }, user.id)),
    user.role === 'ADMIN' ? h('p', { class: 'warn' }, 'An administrator must be demoted before being anonymised.') : null,
    h('div', { class: 'actions' }, start)));
}

async function find(text) {
  replace(anonResult);
  replace(chosen, h('p', { class: 'hint' }, 'Looking…'));
  try {
    if (UUID.test(text)) {
      choose(await api(`/users/${encodeURIComponent(text)}`));
      return;
    }
    const found = await api('/admin/users', { params: { search: text, limit: 20 } });
    const exact = found.items.find((u) => u.email.toLowerCase() === text.toLowerCase());
    if (exact) { choose(exact); return; }
    if (!found.items.length) { replace(chosen, h('p', { class: 'empty' }, 'No user matches.')); return; }
    replace(chosen, h('p', null, `${found.total} users match; choose one:`),
      h('ul', null, found.items.map((u) => {
        const pick = h('button', { type: 'button' }, `${u.email} (${u.name})`);
        pick.addEventListener('click', () => choose(u));
        return h('li', null, pick);
      })));
  } catch (error) {
    replace(chosen, h('p', { class: 'error' }, error instanceof ApiError && error.status === 404 ? 'No user has this id.' : 'The user could not be found.'));
    if (!(error instanceof ApiError && error.status === 404)) failed(error);
  }
}

async function anonymise(user, button) {
  const ok = await confirmDialog({
    title: 'Anonymise this user?',
    message: `${user.email} loses their email, name, phone and password everywhere, for good: their sessions and `
      + 'API keys end and what still waits to be sent is cancelled. Counts and statistics stay. Type the email '
      + 'address to confirm.',
    confirm: 'Anonymise',
    typed: user.email,
    danger: true,
  });
  if (!ok) return;
  button.disabled = true;
  try {
    const done = await api(`/data-pipeline/anonymize/${user.id}`, { method: 'DELETE' });
    const rows = Object.entries(done.rows).filter(([, n]) => n);
    replace(anonResult, h('div', { class: 'card stack' },
      h('p', { class: 'good' }, done.alreadyAnonymised
        ? `This user was already anonymised on ${when(done.anonymisedAt)}.`
        : `Anonymised: ${user.email} is now ${done.pseudonym}.`),
      h('p', null, h('span', { class: 'label' }, 'Pseudonym: '), h('span', { class: 'mono', id: 'anon-pseudonym' }, done.pseudonym)),
      rows.length
        ? h('ul', null, rows.map(([name, n]) => h('li', null, `${name}: ${n} rows changed`)))
        : h('p', { class: 'hint' }, 'No rows changed.')));
    replace(chosen);
    who.value = '';
    loadAnonStats();
  } catch (error) {
    button.disabled = false;
    replace(anonResult, h('p', { class: 'error' }, `Not anonymised: ${error.message}`));
    failed(error);
  }
}

async function loadAnonStats() {
  try {
    const stats = await api('/data-pipeline/anonymization/stats');
    const rows = Object.entries(stats.rows);
    replace(anonStats,
      h('div', { class: 'grid' },
        figure('Users anonymised', String(stats.users), 'anonymised-users'),
        figure(`Last 30 days (since ${when(stats.since)})`, String(stats.recent)),
        figure('Last', stats.lastAt ? when(stats.lastAt) : '—')),
      rows.length
        ? h('details', null, h('summary', null, 'Rows changed, by table'),
          h('ul', null, rows.map(([name, n]) => h('li', null, `${name}: ${n}`))))
        : null);
  } catch (error) {
    replace(anonStats, h('p', { class: 'error' }, 'The anonymisation statistics could not be read.'));
    failed(error);
  }
}

findForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = who.value.trim();
  if (text) find(text);
});

replace(page(),
  section('archive-title', 'Archive', archiveStats, archiveForm, archiveResult),
  section('export-title', 'Export',
    h('p', { class: 'hint' }, 'Filters combine with AND; ticking several values of one filter matches any of them. '
      + 'Times are in your time zone.'),
    exportForm, h('p', null, exportLink), exportProblem, exportUrl),
  section('anon-title', 'Anonymise a user', findForm, chosen, anonResult,
    h('h3', null, 'Anonymisations so far'), anonStats));

exportHref();
loadArchive();
loadAnonStats();
