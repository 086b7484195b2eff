// Notifications: every filter of GET /admin/notifications (one value each),
// kept in the address bar; newest first, paged on with the API's cursor.
import { api, failed, h, page, replace, syncForm, table, when } from '../console.js';

const STATUSES = ['PENDING', 'SCHEDULED', 'PROCESSING', 'SENT', 'FAILED', 'CANCELLED', 'NOT_SENT'];
const CHANNELS = ['EMAIL', 'SMS', 'PUSH', 'IN_APP', 'WEBHOOK'];
const TYPES = ['TRANSACTIONAL', 'MARKETING', 'ALERT', 'REMINDER'];
const PRIORITIES = ['LOW', 'MEDIUM', 'HIGH', 'URGENT'];

function field(id, text, control) {
  return h('label', { for: id }, text, control);
}

function choice(name, text, options) {
  const id = `filter-${name}`;
  return field(id, text, h('select', { id, name },
    h('option', { value: '' }, 'Any'), options.map((o) => h('option', { value: o }, o))));
}

function input(name, text, attrs = {}) {
  const id = `filter-${name}`;
  return field(id, text, h('input', { id, name, ...attrs }));
}

const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Search notifications' },
  input('q', 'Text (content, address, email or phone)', { type: 'search', maxlength: 200 }),
  input('userId', 'User id', { pattern: '[0-9a-fA-F-]{36}', size: 38, spellcheck: 'false' }),
  choice('status', 'Status', STATUSES),
  choice('channel', 'Channel', CHANNELS),
  choice('type', 'Type', TYPES),
  choice('priority', 'Priority', PRIORITIES),
  input('createdFrom', 'Created from', { type: 'datetime-local' }),
  input('createdTo', 'Created before', { type: 'datetime-local' }),
  field('filter-limit', 'Per page', h('select', { id: 'filter-limit', name: 'limit' },
    [50, 20, 100, 200].map((n) => h('option', { value: n }, n)))),
  h('button', { type: 'submit', class: 'primary' }, 'Search'));

const results = h('section', { 'aria-labelledby': 'results-heading', id: 'results' });
replace(page(), form, results);

// datetime-local is the browser's local time; the API wants RFC 3339 with a zone.
function moment(local) {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? local : date.toISOString();
}

function apiParams(values, cursor) {
  return {
    ...values,
    createdFrom: moment(values.createdFrom),
    createdTo: moment(values.createdTo),
    cursor,
  };
}

function summary(n) {
  const p = n.payload || {};
  const text = p.subject || p.title || p.body || p.message || (p.templateName ? `template ${p.templateName}` : '');
  return String(text).slice(0, 80);
}

const COLUMNS = [
  ['Notification', (n) => h('a', { href: `/console/notifications/${n.id}`, class: 'mono' }, n.id)],
  ['Status', (n) => h('span', { class: `badge ${n.status}` }, n.status)],
  ['Channel', (n) => n.channel],
  ['Type', (n) => n.type],
  ['Priority', (n) => n.priority],
  ['User', (n) => h('span', { class: 'mono' }, n.userId)],
  ['Content', (n) => summary(n)],
  ['Attempts', (n) => n.attempts],
  ['Error', (n) => (n.errorMessage ? h('span', { class: 'error' }, n.errorMessage) : '')],
  ['Created', (n) => when(n.createdAt)],
];

let filters = {};
const pages = []; // cursors of the pages before this one, to go back

async function search(cursor) {
  replace(results, h('h2', { id: 'results-heading' }, 'Results'), h('p', { class: 'hint' }, 'Searching…'));
  try {
    const found = await api('/admin/notifications', { params: apiParams(filters, cursor) });
    const nav = h('div', { class: 'actions' },
      pages.length ? h('button', { type: 'button', onclick: () => search(pages.pop()) }, 'Previous page') : null,
      found.nextCursor ? h('button', { type: 'button', onclick: () => { pages.push(cursor); search(found.nextCursor); } },
        'Next page') : null);
    replace(results,
      h('h2', { id: 'results-heading' }, 'Results'),
      h('p', { class: 'hint', role: 'status' },
        `${found.items.length} notification${found.items.length === 1 ? '' : 's'} on this page, newest first.`),
      table(COLUMNS, found.items, { empty: 'No notification matches these filters.' }),
      nav);
  } catch (error) {
    replace(results, h('h2', { id: 'results-heading' }, 'Results'));
    failed(error);
  }
}

filters = syncForm(form, (values) => {
  filters = values;
  pages.length = 0;
  search(undefined);
});
search(undefined);
