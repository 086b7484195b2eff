// The console's shared script layer: API calls with the session cookie and its
// CSRF token, DOM building without innerHTML (every value is text), and the few
// widgets the pages share. Pages import what they use from here.

const csrfMeta = document.querySelector('meta[name="csrf-token"]');

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.details = (body && body.details) || [];
  }
}

let renewing = null;

// One renewal at a time: the refresh token is single-use, and a second request
// with it would end the session.
async function renew() {
  if (!renewing) {
    renewing = fetch('/console/session/refresh', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-Clarion-Console': '1' },
    }).then(async (response) => {
      if (!response.ok) return false;
      const body = await response.json();
      if (csrfMeta) csrfMeta.content = body.csrf;
      document.querySelectorAll('input[name="csrf"]').forEach((input) => { input.value = body.csrf; });
      return true;
    }).finally(() => { setTimeout(() => { renewing = null; }, 0); });
  }
  return renewing;
}

function signInAgain() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/console/login?expired=1&next=${next}`);
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === '') continue;
    search.append(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

// fetch against Clarion's API; JSON in, JSON out (or the Response when raw).
export async function api(path, { method = 'GET', body, params, raw = false, retried = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && csrfMeta) headers['X-CSRF-Token'] = csrfMeta.content;
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path + query(params), init);
  if (response.status === 401 && !retried) {
    if (await renew()) return api(path, { method, body, params, raw, retried: true });
    signInAgain();
    throw new ApiError(401, { message: 'The session has ended.' });
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { problem = null; }
    throw new ApiError(response.status, problem);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

// h('a', {href: '/x', class: 'y'}, 'text', child): attributes are set as
// attributes (on* handlers as listeners), children as nodes or text.
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export const page = () => document.getElementById('page');
export const item = () => document.getElementById('main').dataset.item;

export function when(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

// A status line for the whole page, read out by screen readers.
export function notify(message, kind = 'info') {
  const box = document.getElementById('notice');
  if (!box) return;
  replace(box, h('p', { class: kind, role: kind === 'error' ? 'alert' : null }, message));
}

// An API refusal as the page's notice, with each field's complaint.
export function failed(error) {
  if (!(error instanceof ApiError)) {
    notify(String(error), 'error');
    return;
  }
  const parts = error.details.map((d) => `${d.field || d.location}: ${d.message}`);
  notify(`${error.message} (${error.status})${parts.length ? ` ${parts.join('; ')}` : ''}`, 'error');
}

// A table: columns are [heading, row => cell content].
export function table(columns, rows, { caption, empty = 'Nothing to show.' } = {}) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap' },
    h('table', null,
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null, columns.map(([heading]) => h('th', { scope: 'col' }, heading)))),
      h('tbody', null, rows.map((row) => h('tr', null, columns.map(([, cell]) => h('td', null, cell(row))))))));
}

// A modal question with Cancel and a confirm button. With `typed`, the confirm
// button stays disabled until that exact text is typed.
export function confirmDialog({ title, message, confirm = 'Confirm', typed = null, danger = false }) {
  return new Promise((resolve) => {
    const input = typed ? h('input', { id: 'confirm-typed', autocomplete: 'off', spellcheck: 'false' }) : null;
    const ok = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', disabled: typed ? true : null }, confirm);
    const cancel = h('button', { type: 'button', value: 'cancel' }, 'Cancel');
    const dialog = h('dialog', { 'aria-labelledby': 'confirm-title' },
      h('form', { method: 'dialog', class: 'stack' },
        h('h2', { id: 'confirm-title' }, title),
        h('p', null, message),
        typed ? [h('label', { for: 'confirm-typed' }, `Type ${typed} to confirm`), input] : null,
        h('div', { class: 'actions' }, cancel, ok)));
    if (input) input.addEventListener('input', () => { ok.disabled = input.value !== typed; });
    cancel.addEventListener('click', () => dialog.close('cancel'));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue !== 'cancel' && (!typed || input.value === typed));
    });
    dialog.querySelector('form').addEventListener('submit', () => { dialog.returnValue = 'ok'; });
    document.body.append(dialog);
    dialog.showModal();
    (input || ok).focus();
  });
}

// The values of a form's named fields, without the empty ones.
export function fields(form) {
  const values = {};
  for (const [key, value] of new FormData(form).entries()) {
    if (value !== '') values[key] = value;
  }
  return values;
}

// Keep a filter form and the address bar in step: the page can be reloaded
// or shared with its filters.
export function syncForm(form, onChange) {
  const current = new URLSearchParams(location.search);
  for (const element of form.elements) {
    if (element.name && current.has(element.name)) element.value = current.get(element.name);
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = fields(form);
    history.replaceState(null, '', location.pathname + query(values));
    onChange(values);
  });
  return fields(form);
}

// A small line chart in SVG: points are [x (ms), y]; no library, no network.
export function lineChart(points, { label, height = 120, width = 480, format = (v) => String(v) } = {}) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('class', 'chart');
  const last = points.length ? points[points.length - 1][1] : 0;
  svg.setAttribute('aria-label', `${label}: latest ${format(last)}`);
  if (points.length) {
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const top = Math.max(...ys, 1);
    const x = (v) => (x1 === x0 ? width / 2 : ((v - x0) / (x1 - x0)) * (width - 8) + 4);
    const y = (v) => height - 4 - (v / top) * (height - 24);
    const path = document.createElementNS(ns, 'polyline');
    path.setAttribute('points', points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' '));
    path.setAttribute('class', 'line');
    svg.append(path);
    const text = document.createElementNS(ns, 'text');
    text.setAttribute('x', '4');
    text.setAttribute('y', '14');
    text.textContent = `max ${format(top)}`;
    svg.append(text);
  }
  return svg;
}

// Copy text, with a fallback for pages not served over HTTPS or localhost.
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h('textarea', { readonly: true, class: 'offscreen' });
    area.value = text;
    document.body.append(area);
    area.select();
    const done = document.execCommand('copy');
    area.remove();
    return done;
  }
}
