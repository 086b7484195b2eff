// users page: search accounts (GET /admin/users: free text over name and email),
// one page at a time; each row links to the user's own page.
import { api, failed, h, page, query, replace, syncForm, table, when } from '../console.js';

const form = document.getElementById('user-search');
let filters = {};

function pager(found) {
  const { offset, limit, total } = found;
  const go = (to) => () => {
    filters = { ...filters, offset: to || undefined };
    history.replaceState(null, '', location.pathname + query(filters));
    load();
  };
  const last = Math.min(offset + found.items.length, total);
  return h('nav', { class: 'actions', 'aria-label': 'Pages of users' },
    h('span', { class: 'hint' }, total ? `${offset + 1}–${last} of ${total}` : '0 users'),
    h('button', { type: 'button', disabled: offset <= 0, onclick: go(Math.max(0, offset - limit)) }, 'Previous'),
    h('button', { type: 'button', disabled: offset + limit >= total, onclick: go(offset + limit) }, 'Next'));
}

async function load() {
  const box = page();
  box.setAttribute('aria-busy', 'true');
  try {
    const found = await api('/admin/users', { params: filters });
    replace(box,
      h('h2', null, 'Users'),
      table([
        ['Name', (u) => h('a', { href: `/console/users/${u.id}` }, u.name || u.email)],
        ['Email', (u) => h('span', { class: 'mono' }, u.email)],
        ['Role', (u) => h('span', { class: `badge ${u.role}` }, u.role)],
        ['Phone', (u) => u.phone || ''],
        ['Created', (u) => when(u.createdAt)],
      ], found.items, { caption: 'Users matching the search', empty: 'No user matches.' }),
      pager(found));
  } catch (error) {
    failed(error);
  } finally {
    box.removeAttribute('aria-busy');
  }
}

const offset = new URLSearchParams(location.search).get('offset');
filters = { ...syncForm(form, (values) => { filters = values; load(); }), offset: offset || undefined };
load();
