// templates page: every template's current version, and a form that creates a
// new one (version 1, with empty content) and opens it for editing.
import { api, h, replace, page, when, failed, table, ApiError } from '../console.js';

const CHANNELS = ['EMAIL', 'SMS', 'PUSH', 'IN_APP'];
// The fields a new template starts with: the ones its channel requires.
const STARTING_CONTENT = {
  EMAIL: { subject: '', body: '' },
  SMS: { body: '' },
  PUSH: { title: '', body: '' },
  IN_APP: { title: '', body: '' },
};

const link = (name) => h('a', { href: `/console/templates/${encodeURIComponent(name)}` }, name);

function listing(items) {
  return table([
    ['Name', (t) => link(t.name)],
    ['Channel', (t) => h('span', { class: 'badge' }, t.channel)],
    ['Locales', (t) => Object.keys(t.locales).map((tag) => (tag === t.defaultLocale ? `${tag} (default)` : tag)).join(', ')],
    ['Version', (t) => String(t.version)],
    ['Updated', (t) => when(t.createdAt)],
  ], items, { caption: 'Templates, current versions', empty: 'No templates yet.' });
}

function field(id, label, control, hint) {
  return h('label', { for: id }, label, control, hint ? h('span', { class: 'hint' }, hint) : null);
}

function createForm() {
  const problem = h('p', { id: 'new-template-error', class: 'error', role: 'alert', hidden: true });
  const form = h('form', { class: 'filters', 'aria-labelledby': 'new-template-heading', novalidate: true },
    field('new-name', 'Name',
      h('input', { id: 'new-name', name: 'name', required: true, pattern: '[a-z0-9][a-z0-9._\\-]{0,199}',
        autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'new-template-error' })),
    field('new-channel', 'Channel',
      h('select', { id: 'new-channel', name: 'channel' }, CHANNELS.map((c) => h('option', { value: c }, c)))),
    field('new-locale', 'Default locale',
      h('input', { id: 'new-locale', name: 'defaultLocale', value: 'en', required: true, size: 8 })),
    field('new-description', 'Description', h('input', { id: 'new-description', name: 'description' })),
    h('button', { type: 'submit', class: 'primary' }, 'Create template'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const data = new FormData(form);
    const name = String(data.get('name')).trim();
    const channel = String(data.get('channel'));
    const locale = String(data.get('defaultLocale')).trim() || 'en';
    const description = String(data.get('description')).trim();
    if (!name) {
      replace(problem, 'Give the template a name: lower-case letters, digits, dot, dash or underscore.');
      problem.hidden = false;
      return;
    }
    try {
      await api('/templates', {
        method: 'POST',
        body: {
          name, channel, defaultLocale: locale, description: description || null,
          locales: { [locale]: STARTING_CONTENT[channel] },
        },
      });
      location.assign(`/console/templates/${encodeURIComponent(name)}?created=1`);
    } catch (error) {
      if (error instanceof ApiError && error.details.length) {
        replace(problem, error.message, ' ', error.details.map((d) => `${d.field}: ${d.message}`).join('; '));
        problem.hidden = false;
      } else {
        failed(error);
      }
    }
  });
  return h('section', { class: 'stack' },
    h('h2', { id: 'new-template-heading' }, 'New template'),
    form, problem);
}

async function load() {
  const list = h('div', null, h('p', { class: 'hint' }, 'Loading…'));
  replace(page(),
    h('section', { class: 'stack' }, h('h2', null, 'All templates'), list),
    createForm());
  try {
    const items = [];
    // pages of 200 until a short one: the list is small, and an operator wants all of it
    for (let offset = 0; ; offset += 200) {
      const found = await api('/templates', { params: { offset, limit: 200 } });
      items.push(...found.items);
      if (found.items.length < 200 || offset >= 10_000) break;
    }
    replace(list, listing(items));
  } catch (error) {
    replace(list, h('p', { class: 'error' }, 'The templates could not be loaded.'));
    failed(error);
  }
}

load().catch(failed);
