// template page: edit a template's content per locale (saved as a new version
// with PUT /templates/{name}; the API's 422 details are shown next to the field
// they name), preview it with sample data (the API reports SMS segments and
// push payload size), and read its version history.
import { api, h, replace, page, item, when, notify, failed, table, ApiError } from '../console.js';

const name = item();
const path = `/templates/${encodeURIComponent(name)}`;
// The content fields of each channel, as the API names them.
const FIELDS = {
  EMAIL: [['subject', 'Subject', 'input'], ['body', 'Text body', 'textarea'], ['html', 'HTML body (optional)', 'textarea']],
  SMS: [['body', 'Body', 'textarea']],
  PUSH: [['title', 'Title', 'input'], ['body', 'Body', 'textarea'], ['data', 'Data (JSON object of strings, optional)', 'json']],
  IN_APP: [['title', 'Title', 'input'], ['body', 'Body', 'textarea'], ['data', 'Data (JSON object of strings, optional)', 'json']],
};

let current = null; // the template's current version, as the API answered it
let history = [];
const editor = h('section', { class: 'stack', 'aria-labelledby': 'edit-heading' });
const preview = h('section', { class: 'stack', 'aria-labelledby': 'preview-heading' });
const versions = h('section', { class: 'stack', 'aria-labelledby': 'history-heading' });
const summary = h('div', { class: 'grid' });

const idFor = (locale, field) => `f-${locale}-${field}`;
const pretty = (value) => JSON.stringify(value, null, 2);

// ---- editing ---------------------------------------------------------------

function control(id, kind, value) {
  if (kind === 'input') return h('input', { id, value: value ?? '', spellcheck: 'false' });
  const area = h('textarea', { id, rows: kind === 'json' ? 4 : 6, spellcheck: 'false' });
  area.value = kind === 'json' ? (value ? pretty(value) : '') : (value ?? '');
  return area;
}

// A label, its control and the (empty until an error) line below it.
function row(id, label, input) {
  input.setAttribute('aria-describedby', `${id}-error`);
  return h('div', { class: 'stack' },
    h('label', { for: id }, label), input,
    h('p', { id: `${id}-error`, class: 'error field-error', hidden: true }));
}

function localeBlock(channel, tag, content, canRemove) {
  const remove = h('button', { type: 'button', 'data-locale': tag }, `Remove locale ${tag}`);
  remove.addEventListener('click', () => {
    const draft = readDraft(false);
    delete draft.locales[tag];
    renderEditor(draft);
  });
  return h('fieldset', { class: 'card stack', id: `locale-${tag}`, 'data-locale': tag },
    h('legend', null, `Locale ${tag}`),
    h('p', { id: `f-${tag}-error`, class: 'error field-error', hidden: true }),
    FIELDS[channel].map(([field, label, kind]) => row(idFor(tag, field), `${label} · ${tag}`, control(idFor(tag, field), kind, content[field]))),
    canRemove ? h('div', { class: 'actions' }, remove) : null);
}

function renderEditor(draft) {
  const tags = Object.keys(draft.locales);
  const defaultSelect = h('select', { id: 'f-defaultLocale' }, tags.map((t) => h('option', { value: t, selected: t === draft.defaultLocale }, t)));
  const newLocale = h('input', { id: 'new-locale', size: 10, placeholder: 'fr-BE', autocomplete: 'off' });
  const addLocale = h('button', { type: 'button' }, 'Add locale');
  addLocale.addEventListener('click', () => {
    const tag = newLocale.value.trim();
    const next = readDraft(false);
    if (!tag || next.locales[tag]) { newLocale.focus(); return; }
    next.locales[tag] = {};
    renderEditor(next);
    document.getElementById(idFor(tag, FIELDS[draft.channel][0][0]))?.focus();
  });
  const form = h('form', { class: 'stack', novalidate: true },
    h('p', { id: 'edit-summary', class: 'error', role: 'alert', hidden: true }),
    row('f-description', 'Description', h('input', { id: 'f-description', value: draft.description ?? '' })),
    row('f-defaultLocale', 'Default locale', defaultSelect),
    row('f-variables', 'Variables (JSON Schema of the data a notification brings)', control('f-variables', 'json', draft.variables)),
    tags.map((tag) => localeBlock(draft.channel, tag, draft.locales[tag], tags.length > 1)),
    h('div', { class: 'filters' },
      h('label', { for: 'new-locale' }, 'New locale tag', newLocale), addLocale),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save as a new version')));
  form.addEventListener('submit', (event) => { event.preventDefault(); save(); });
  replace(editor,
    h('h2', { id: 'edit-heading' }, 'Edit'),
    h('p', { class: 'hint' }, `A ${draft.channel} template. Content is Jinja2; saving makes a new version, and notifications already accepted keep theirs.`),
    form);
}

// The form's values as the API's body. `strict`: JSON fields that do not parse
// are reported next to their field and the draft is null.
function readDraft(strict) {
  clearErrors();
  let ok = true;
  const json = (id, fallback) => {
    const text = document.getElementById(id).value.trim();
    if (!text) return fallback;
    try { return JSON.parse(text); } catch {
      if (strict) { showError(id, 'This is not valid JSON.'); ok = false; }
      return fallback;
    }
  };
  const locales = {};
  for (const block of editor.querySelectorAll('fieldset[data-locale]')) {
    const tag = block.dataset.locale;
    locales[tag] = {};
    for (const [field, , kind] of FIELDS[current.channel]) {
      const id = idFor(tag, field);
      if (kind === 'json') {
        const value = json(id, undefined);
        if (value !== undefined) locales[tag][field] = value;
      } else {
        const value = document.getElementById(id).value;
        if (value !== '' || field !== 'html') locales[tag][field] = value;
      }
    }
  }
  const draft = {
    channel: current.channel,
    description: document.getElementById('f-description').value.trim() || null,
    defaultLocale: document.getElementById('f-defaultLocale').value,
    variables: json('f-variables', { type: 'object', properties: {} }),
    locales,
  };
  return strict && !ok ? null : draft;
}

function clearErrors() {
  for (const line of editor.querySelectorAll('.field-error')) { line.hidden = true; line.replaceChildren(); }
  for (const input of editor.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  const top = document.getElementById('edit-summary');
  if (top) { top.hidden = true; top.replaceChildren(); }
}

// "line 3: unexpected '}'" reads as a syntax error on line 3.
function describe(message) {
  const found = /^line (\d+): (.*)$/s.exec(message);
  return found ? [h('strong', null, `Line ${found[1]}:`), ` ${found[2]}`] : [message];
}

function showError(id, message) {
  const line = document.getElementById(`${id}-error`);
  if (!line) return false;
  line.append(h('span', { class: 'problem' }, describe(message)), ' ');
  line.hidden = false;
  document.getElementById(id)?.setAttribute('aria-invalid', 'true');
  return true;
}

// An API field path (locales.en.body, locales.en.data.key, variables, ...) to the
// id of the control that holds it.
function controlFor(field) {
  const parts = String(field || '').split('.');
  if (parts[0] === 'locales' && parts.length >= 3) return idFor(parts[1], parts[2]);
  if (parts[0] === 'locales' && parts.length === 2) return `f-${parts[1]}`;
  return `f-${parts[0]}`;
}

async function save() {
  const draft = readDraft(true);
  if (!draft) return;
  try {
    current = await api(path, { method: 'PUT', body: draft });
    await loadHistory();
    renderAll();
    notify(`Saved as version ${current.version}.`, 'good');
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 422) { failed(error); return; }
    const elsewhere = error.details.filter((d) => !showError(controlFor(d.field), d.message));
    const top = document.getElementById('edit-summary');
    replace(top, `Not saved: ${error.message}`,
      elsewhere.length ? h('ul', null, elsewhere.map((d) => h('li', null, `${d.field}: `, describe(d.message)))) : null);
    top.hidden = false;
    const first = editor.querySelector('[aria-invalid="true"]');
    (first || top).focus?.();
    if (first) first.scrollIntoView({ block: 'center' });
  }
}

// ---- preview ---------------------------------------------------------------

// Sample data from the variables schema: its examples or defaults, else a
// placeholder of the declared type.
function sampleData(schema) {
  const byType = { string: 'text', number: 1, integer: 1, boolean: true, array: [], object: {} };
  const out = {};
  for (const [key, spec] of Object.entries((schema && schema.properties) || {})) {
    if (spec && Array.isArray(spec.examples) && spec.examples.length) out[key] = spec.examples[0];
    else if (spec && 'default' in spec) out[key] = spec.default;
    else out[key] = byType[spec && spec.type] ?? key;
  }
  return out;
}

function reportOf(channel, report) {
  if (channel === 'SMS') {
    return h('div', { class: 'grid' },
      h('div', { class: 'card' }, h('div', { class: 'label' }, 'SMS segments'), h('div', { class: 'figure', id: 'sms-segments' }, String(report.segments))),
      h('div', { class: 'card' }, h('div', { class: 'label' }, 'Encoding'), h('div', { class: 'figure', id: 'sms-encoding' }, report.encoding)),
      h('div', { class: 'card' }, h('div', { class: 'label' }, report.encoding === 'UCS-2' ? 'UTF-16 units' : 'GSM-7 septets'), h('div', { class: 'figure' }, String(report.characters))));
  }
  if (channel === 'PUSH') {
    return h('div', { class: 'grid' },
      h('div', { class: 'card' }, h('div', { class: 'label' }, 'Payload size'),
        h('div', { class: 'figure', id: 'push-size' }, `${report.bytes} / ${report.limit} bytes`),
        h('p', { class: report.fits ? 'good' : 'error' }, report.fits ? 'Fits the FCM/APNs limit.' : 'Too large: FCM and APNs will refuse it.')));
  }
  if (channel === 'EMAIL') {
    const parts = [['Subject', report.hasSubject], ['Text', report.hasText], ['HTML', report.hasHtml]];
    return h('p', null, parts.map(([label, has]) => h('span', { class: has ? 'badge good' : 'badge warn' }, `${label}: ${has ? 'present' : 'absent'}`)));
  }
  return null;
}

function renderOutput(result) {
  const entries = Object.entries(result.content);
  return h('div', { class: 'stack', id: 'preview-output' },
    h('h3', null, `Rendered: version ${result.version}, locale ${result.locale}`),
    reportOf(result.channel, result.report || {}),
    h('dl', null, entries.flatMap(([key, value]) => [
      h('dt', { class: 'label' }, key),
      h('dd', null, h('pre', null, typeof value === 'string' ? value : pretty(value)))])));
}

function renderPreview() {
  const tags = Object.keys(current.locales);
  const sample = h('textarea', { id: 'p-variables', rows: 6, spellcheck: 'false', 'aria-describedby': 'p-variables-error' });
  // sample data the operator typed outlives a save
  const typed = document.getElementById('p-variables');
  sample.value = typed && typed.dataset.edited ? typed.value : pretty(sampleData(current.variables));
  if (typed && typed.dataset.edited) sample.dataset.edited = '1';
  sample.addEventListener('input', () => { sample.dataset.edited = '1'; });
  const problem = h('p', { id: 'p-variables-error', class: 'error', hidden: true });
  const output = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'filters' },
      h('label', { for: 'p-locale' }, 'Locale',
        h('select', { id: 'p-locale' }, tags.map((t) => h('option', { value: t, selected: t === current.defaultLocale }, t)))),
      h('label', { for: 'p-channel' }, 'Channel',
        // one channel per template in Clarion's model: shown, not chosen
        h('select', { id: 'p-channel', disabled: true }, h('option', { value: current.channel }, current.channel))),
      h('label', { for: 'p-version' }, 'Version',
        h('select', { id: 'p-version' }, (history.length ? history : [current]).map((v) =>
          h('option', { value: v.version, selected: v.version === current.version }, v.version === current.version ? `${v.version} (current)` : String(v.version)))))),
    h('label', { for: 'p-variables' }, 'Sample data (JSON)'), sample, problem,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Preview')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.hidden = true;
    sample.removeAttribute('aria-invalid');
    let variables;
    try { variables = JSON.parse(sample.value || '{}'); } catch { variables = null; }
    if (!variables || typeof variables !== 'object' || Array.isArray(variables)) {
      replace(problem, 'Sample data must be a JSON object.');
      problem.hidden = false;
      sample.setAttribute('aria-invalid', 'true');
      return;
    }
    replace(output, h('p', { class: 'hint' }, 'Rendering…'));
    try {
      const result = await api(`${path}/preview`, {
        method: 'POST',
        body: { variables, locale: form.querySelector('#p-locale').value, version: Number(form.querySelector('#p-version').value) },
      });
      replace(output, renderOutput(result));
    } catch (error) {
      output.replaceChildren();
      if (error instanceof ApiError && error.status === 422) {
        replace(problem, `${error.message} `, error.details.map((d) => `${d.field}: ${d.message}`).join('; '));
        problem.hidden = false;
        sample.setAttribute('aria-invalid', 'true');
      } else failed(error);
    }
  });
  replace(preview,
    h('h2', { id: 'preview-heading' }, 'Preview'),
    h('p', { class: 'hint' }, 'Renders a saved version (save your edits first); nothing is stored or sent.'),
    form, output);
}

// ---- history ---------------------------------------------------------------

function author(who) {
  if (!who) return '';
  const [kind, id] = who.split(':');
  return kind === 'user' && id ? h('a', { href: `/console/users/${encodeURIComponent(id)}`, class: 'mono' }, who) : h('span', { class: 'mono' }, who);
}

function showVersion(version, where) {
  const load = h('button', { type: 'button' }, `Load version ${version.version} into the editor`);
  load.addEventListener('click', () => {
    renderEditor({ ...version, channel: current.channel });
    notify(`Version ${version.version} is in the editor; save to make it the current version.`);
    document.getElementById('edit-heading').scrollIntoView();
  });
  replace(where, h('div', { class: 'card stack', id: 'version-view' },
    h('h3', { tabindex: '-1' }, `Version ${version.version}`),
    h('p', { class: 'hint' }, `Saved ${when(version.createdAt)}${version.createdBy ? ` by ${version.createdBy}` : ''}. Default locale ${version.defaultLocale}.`),
    version.description ? h('p', null, version.description) : null,
    Object.entries(version.locales).map(([tag, content]) => h('div', { class: 'stack' },
      h('h4', null, `Locale ${tag}`),
      h('dl', null, Object.entries(content).flatMap(([key, value]) => [
        h('dt', { class: 'label' }, key),
        h('dd', null, h('pre', null, typeof value === 'string' ? value : pretty(value)))])))),
    h('details', null, h('summary', null, 'Variables schema'), h('pre', null, pretty(version.variables))),
    h('div', { class: 'actions' }, load)));
  where.querySelector('h3').focus();
}

async function loadHistory() {
  history = (await api(`${path}/versions`)).items;
  const view = h('div');
  replace(versions,
    h('h2', { id: 'history-heading' }, 'Version history'),
    table([
      ['Version', (v) => (v.version === current.version ? `${v.version} (current)` : String(v.version))],
      ['Saved', (v) => when(v.createdAt)],
      ['By', (v) => author(v.createdBy)],
      ['', (v) => h('button', { type: 'button', onclick: () => showVersion(v, view) }, `View version ${v.version}`)],
    ], history, { caption: 'Every version, newest first' }),
    view);
}

// The summary last: its version number is the sign that the page is up to date.
function renderAll() {
  renderEditor(current);
  renderPreview();
  renderSummary();
}

function renderSummary() {
  replace(summary,
    h('div', { class: 'card' }, h('div', { class: 'label' }, 'Name'), h('div', { class: 'figure mono' }, current.name)),
    h('div', { class: 'card' }, h('div', { class: 'label' }, 'Channel'), h('div', { class: 'figure' }, current.channel)),
    h('div', { class: 'card' }, h('div', { class: 'label' }, 'Current version'), h('div', { class: 'figure', id: 'current-version' }, String(current.version))),
    h('div', { class: 'card' }, h('div', { class: 'label' }, 'Updated'), h('div', null, when(current.createdAt))));
}

async function load() {
  replace(page(), h('p', null, h('a', { href: '/console/templates' }, '← All templates')), summary, editor, preview, versions);
  try {
    current = await api(path);
  } catch (error) {
    replace(page(), h('p', { class: 'error' }, error instanceof ApiError && error.status === 404 ? `No template is named ${name}.` : 'The template could not be loaded.'),
      h('p', null, h('a', { href: '/console/templates' }, 'All templates')));
    failed(error);
    return;
  }
  if (new URLSearchParams(location.search).has('created')) notify(`Created ${name}, version 1. Write its content below.`, 'good');
  await loadHistory();
  renderAll();
}

load().catch(failed);
