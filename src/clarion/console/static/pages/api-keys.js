// api-keys page: create a key (its secret is shown here once, with a copy
// button, and never again), list every key, revoke one with confirmation.
import { api, ApiError, confirmDialog, copyText, failed, h, notify, page, replace, table, when } from '../console.js';

const form = document.getElementById('create-key');
const created = document.getElementById('created');

function showSecret(key) {
  const secret = h('code', { class: 'mono', id: 'new-secret' }, key.key);
  const copy = h('button', { type: 'button' }, 'Copy');
  copy.addEventListener('click', async () => {
    notify(await copyText(key.key) ? 'The key is copied.' : 'Copying failed: select the key and copy it.',
      'good');
  });
  const done = h('button', { type: 'button' }, 'Done, hide it');
  done.addEventListener('click', () => replace(created));
  replace(created,
    h('div', { class: 'secret stack', role: 'region', 'aria-labelledby': 'secret-title' },
      h('h3', { id: 'secret-title' }, `The secret of “${key.name}”`),
      secret,
      h('p', null, h('strong', null, 'Store it now: it will not be shown again.'),
        ' Send it as the X-API-Key header.'),
      h('div', { class: 'actions' }, copy, done)));
  copy.focus();
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const scopes = data.getAll('scopes');
  if (!scopes.length) {
    notify('Choose at least one scope.', 'error');
    return;
  }
  const body = { name: String(data.get('name')).trim(), scopes };
  const rateLimit = String(data.get('rateLimit') || '').trim();
  if (rateLimit) body.rateLimit = rateLimit;
  try {
    const key = await api('/admin/api-keys', { method: 'POST', body });
    showSecret(key);
    notify(`Key “${key.name}” created.`, 'good');
    form.reset();
    await load();
  } catch (error) {
    if (error instanceof ApiError && error.details.length) {
      notify(`${error.message}: ${error.details.map((d) => `${d.field}: ${d.message}`).join('; ')}`, 'error');
    } else {
      failed(error);
    }
  }
});

async function revoke(key) {
  const ok = await confirmDialog({
    title: 'Revoke API key',
    message: `Revoke “${key.name}” (${key.prefix}…)? Every request with it is refused from now on.`,
    confirm: 'Revoke',
    danger: true,
  });
  if (!ok) return;
  try {
    await api(`/admin/api-keys/${key.id}`, { method: 'DELETE' });
    notify(`Key “${key.name}” revoked.`, 'good');
    await load();
  } catch (error) {
    failed(error);
  }
}

async function load() {
  try {
    const keys = await api('/admin/api-keys');
    replace(page(),
      h('h2', null, 'API keys'),
      table([
        ['Name', (k) => k.name],
        ['Prefix', (k) => h('span', { class: 'mono' }, k.prefix)],
        ['Scopes', (k) => k.scopes.join(', ')],
        ['Rate limit', (k) => k.rateLimit || 'default'],
        ['Created', (k) => when(k.createdAt)],
        ['State', (k) => (k.revokedAt
          ? h('span', { class: 'badge revoked' }, `revoked ${when(k.revokedAt)}`)
          : h('span', { class: 'badge active' }, 'active'))],
        ['', (k) => (k.revokedAt ? '' : h('button', { type: 'button', class: 'danger', onclick: () => revoke(k),
          'aria-label': `Revoke ${k.name}` }, 'Revoke'))],
      ], keys, { caption: 'Every key, revoked ones too', empty: 'No API key yet.' }));
  } catch (error) {
    failed(error);
  }
}

load();
