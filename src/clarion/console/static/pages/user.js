// user page: one account, its role (changed with confirmation; audited by the
// API), its preferences with a "would this be sent?" check, the suppressions of
// its email address and phone number, and a link to its notifications.
import { api, ApiError, confirmDialog, failed, h, item, notify, page, replace, table, when } from '../console.js';

const ROLES = ['USER', 'ADMIN'];
const TYPES = ['TRANSACTIONAL', 'MARKETING', 'ALERT', 'REMINDER'];
const CHANNELS = ['EMAIL', 'SMS', 'PUSH', 'IN_APP', 'WEBHOOK'];
const SUPPRESSIBLE = ['EMAIL', 'SMS'];
const PAGE = 200;
const MOST_PAGES = 10;
const userId = item();

const details = h('section', { 'aria-labelledby': 'details-title' });
const preferences = h('section', { 'aria-labelledby': 'preferences-title' });
const suppressions = h('section', { 'aria-labelledby': 'suppressions-title' });

function row(label, value) {
  return h('div', null, h('div', { class: 'label' }, label), h('div', null, value));
}

function renderDetails(user) {
  const select = h('select', { id: 'role', name: 'role' },
    ROLES.map((role) => h('option', { value: role, selected: role === user.role }, role)));
  const form = h('form', { class: 'filters', id: 'role-form' },
    h('div', { class: 'stack' }, h('label', { for: 'role' }, 'Role'), select),
    h('button', { type: 'submit', class: 'primary' }, 'Change role'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const role = select.value;
    if (role === user.role) {
      notify(`${user.email} is already ${role}.`);
      return;
    }
    const ok = await confirmDialog({
      title: 'Change role',
      message: `Make ${user.email} ${role}? ${role === 'ADMIN' ? 'Admins can see and change everything.' : 'They lose admin rights at once.'}`,
      confirm: `Make ${role}`,
      danger: role === 'ADMIN',
    });
    if (!ok) return;
    try {
      const changed = await api(`/admin/users/${user.id}/role`, { method: 'POST', body: { role } });
      notify(`${changed.email} is now ${changed.role}.`, 'good');
      renderDetails(changed);
    } catch (error) {
      failed(error);
    }
  });
  replace(details,
    h('h2', { id: 'details-title' }, user.name || user.email),
    h('div', { class: 'card grid' },
      row('Email', h('span', { class: 'mono' }, user.email)),
      row('Role', h('span', { class: `badge ${user.role}`, id: 'current-role' }, user.role)),
      row('Phone', user.phone || '—'),
      row('Locale', user.locale || '—'),
      row('Created', when(user.createdAt)),
      row('Updated', when(user.updatedAt)),
      row('Id', h('span', { class: 'mono' }, user.id))),
    form,
    h('p', null, h('a', { href: `/console/notifications?userId=${encodeURIComponent(user.id)}` },
      'Their notifications')));
}

function onOff(value) {
  return h('span', { class: value ? 'good' : 'error' }, value ? 'on' : 'off');
}

function explainForm() {
  const type = h('select', { id: 'explain-type', name: 'type' }, TYPES.map((t) => h('option', { value: t }, t)));
  const channel = h('select', { id: 'explain-channel', name: 'channel' }, CHANNELS.map((c) => h('option', { value: c }, c)));
  const answer = h('p', { id: 'explain-answer', role: 'status', 'aria-live': 'polite' });
  const form = h('form', { class: 'filters' },
    h('div', { class: 'stack' }, h('label', { for: 'explain-type' }, 'Type'), type),
    h('div', { class: 'stack' }, h('label', { for: 'explain-channel' }, 'Channel'), channel),
    h('button', { type: 'submit' }, 'Would it be sent?'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const verdict = await api(`/users/${userId}/preferences/explain`, {
        params: { type: type.value, channel: channel.value },
      });
      replace(answer, h('strong', { class: verdict.send ? 'good' : 'error' }, verdict.send ? 'Sent' : 'Not sent'),
        ` — ${verdict.reason} (rule: ${verdict.rule})`);
    } catch (error) {
      failed(error);
    }
  });
  return [h('h3', null, 'Would a notification be sent now?'), form, answer];
}

function renderPreferences(prefs) {
  const pairs = Object.entries(prefs.typeChannels || {})
    .flatMap(([type, per]) => Object.entries(per).map(([channel, allowed]) => ({ type, channel, allowed })));
  const flags = (map) => Object.entries(map || {}).map(([name, allowed]) => ({ name, allowed }));
  replace(preferences,
    h('h2', { id: 'preferences-title' }, 'Preferences'),
    h('p', { class: 'hint' }, 'Whatever is not set is on; the most specific setting wins.'),
    h('div', { class: 'grid' },
      h('div', null, h('h3', null, 'Channels'),
        table([['Channel', (r) => r.name], ['Receives', (r) => onOff(r.allowed)]], flags(prefs.channels),
          { empty: 'No channel set: all on.' })),
      h('div', null, h('h3', null, 'Types'),
        table([['Type', (r) => r.name], ['Receives', (r) => onOff(r.allowed)]], flags(prefs.types),
          { empty: 'No type set: all on.' })),
      h('div', null, h('h3', null, 'Type on a channel'),
        table([['Type', (r) => r.type], ['Channel', (r) => r.channel], ['Receives', (r) => onOff(r.allowed)]], pairs,
          { empty: 'None set.' }))),
    h('p', null, h('span', { class: 'label' }, 'Time zone: '), prefs.timezone || '—'),
    h('h3', null, 'Quiet hours'),
    prefs.quietHours && prefs.quietHours.length
      ? h('ul', null, prefs.quietHours.map((w) => h('li', null, `${(w.days || []).join(', ')} ${w.from}–${w.to}`)))
      : h('p', { class: 'empty' }, 'None.'),
    explainForm());
}

// GET /admin/suppressions filters by channel only, so the user's own addresses
// are picked out here, reading at most MOST_PAGES pages of each channel.
async function suppressionsOf(user) {
  const addresses = { EMAIL: user.email && user.email.toLowerCase(), SMS: user.phone };
  const found = [];
  let partial = false;
  for (const channel of SUPPRESSIBLE) {
    const address = addresses[channel];
    if (!address) continue;
    for (let n = 0; n < MOST_PAGES; n += 1) {
      const batch = await api('/admin/suppressions', { params: { channel, offset: n * PAGE, limit: PAGE } });
      found.push(...batch.filter((s) => s.address.toLowerCase() === address.toLowerCase()));
      if (batch.length < PAGE) break;
      if (n === MOST_PAGES - 1) partial = true;
    }
  }
  return { found, partial };
}

async function lift(user, suppression) {
  const ok = await confirmDialog({
    title: 'Remove suppression',
    message: `Send ${suppression.channel} to ${suppression.address} again? It was suppressed for: ${suppression.reason}.`,
    confirm: 'Remove suppression',
    danger: true,
  });
  if (!ok) return;
  try {
    const address = encodeURIComponent(suppression.address);
    await api(`/admin/suppressions/${suppression.channel}/${address}`, { method: 'DELETE' });
    notify(`${suppression.address} is no longer suppressed.`, 'good');
    await loadSuppressions(user);
  } catch (error) {
    failed(error);
  }
}

async function loadSuppressions(user) {
  const { found, partial } = await suppressionsOf(user);
  replace(suppressions,
    h('h2', { id: 'suppressions-title' }, 'Suppressed addresses'),
    h('p', { class: 'hint' }, 'Nothing is sent to a suppressed address (hard bounces, spam complaints, SMS STOP).'),
    table([
      ['Channel', (s) => s.channel],
      ['Address', (s) => h('span', { class: 'mono' }, s.address)],
      ['Reason', (s) => s.reason],
      ['Since', (s) => when(s.createdAt)],
      ['', (s) => h('button', { type: 'button', class: 'danger', onclick: () => lift(user, s),
        'aria-label': `Remove suppression of ${s.address}` }, 'Remove')],
    ], found, { empty: 'None of their addresses is suppressed.' }),
    partial ? h('p', { class: 'warn' }, `Only the newest ${PAGE * MOST_PAGES} suppressions of each channel were searched.`) : null);
}

async function load() {
  replace(page(), details, preferences, suppressions);
  let user;
  try {
    user = await api(`/users/${userId}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) replace(page(), h('p', { class: 'error' }, 'No such user.'));
    else failed(error);
    return;
  }
  document.title = `${user.name || user.email} · Clarion console`;
  renderDetails(user);
  const results = await Promise.allSettled([
    api(`/users/${userId}/preferences`).then(renderPreferences),
    loadSuppressions(user),
  ]);
  for (const result of results) if (result.status === 'rejected') failed(result.reason);
}

load();
