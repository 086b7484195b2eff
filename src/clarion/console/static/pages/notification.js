// One notification: what it is now, its timeline (every event with its attempt,
// provider, receipt, reason and error), its content, and a re-drive for a dead letter.
import { ApiError, api, confirmDialog, failed, h, item, notify, page, replace, when } from '../console.js';

const id = item();
const TERMINAL = new Set(['SENT', 'FAILED', 'CANCELLED', 'NOT_SENT']);
let poll = null;

function row(term, value) {
  if (value === undefined || value === null || value === '') return null;
  return [h('dt', null, term), h('dd', null, value)];
}

// The metadata keys the delivery pipeline writes, in words; the rest as they are.
const WORDS = {
  attempt: 'Attempt', provider: 'Provider', providerMessageId: 'Provider message id', receipt: 'Receipt',
  reason: 'Reason', error: 'Error', delaySeconds: 'Retry in (s)', retryAfter: 'Provider asked to wait (s)',
  permanent: 'Permanent', deadLetter: 'Dead letter', redrivenBy: 'Re-driven by', until: 'Held until',
};

function eventDetails(event) {
  const meta = event.metadata || {};
  const entries = Object.entries(meta).filter(([, v]) => v !== null && v !== undefined && v !== '');
  if (!entries.length) return null;
  return h('dl', { class: 'event-meta' }, entries.flatMap(([key, value]) => {
    const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
    const cls = key === 'error' ? 'error mono' : key === 'reason' ? 'warn' : 'mono';
    return [h('dt', null, WORDS[key] || key), h('dd', { class: cls }, text)];
  }));
}

function timeline(events) {
  if (!events.length) return h('p', { class: 'empty' }, 'No events.');
  return h('ol', { class: 'timeline', id: 'timeline' }, events.map((event) => h('li', { dataset: { type: event.type } },
    h('div', null, h('strong', null, event.type), ' ', h('span', { class: `badge ${event.status}` }, event.status),
      ' ', h('time', { datetime: event.timestamp }, when(event.timestamp))),
    eventDetails(event))));
}

async function sandboxCopy() {
  // Only the sandbox records what a provider received; the API has no filter by
  // notification, so the newest records are searched here.
  try {
    const recent = await api('/admin/sandbox/messages', { params: { limit: 1000 } });
    return recent.filter((m) => m.notificationId === id);
  } catch (error) {
    return [];
  }
}

async function redrive(notification) {
  const ok = await confirmDialog({
    title: 'Re-drive this notification?',
    message: `It is sent again from its first attempt (${notification.channel}, last error: ${notification.errorMessage || 'none'}). The re-drive is audited.`,
    confirm: 'Re-drive',
  });
  if (!ok) return;
  try {
    const again = await api(`/admin/notifications/${id}/retry`, { method: 'POST' });
    notify(`Re-driven: the notification is ${again.status} again.`, 'good');
    await load();
  } catch (error) {
    failed(error);
  }
}

function summary(n) {
  return h('section', { class: 'card', 'aria-labelledby': 'summary-heading' },
    h('h2', { id: 'summary-heading' }, 'Now'),
    h('p', null, 'Status ', h('span', { class: `badge ${n.status}`, id: 'status' }, n.status),
      n.receipt ? [' · receipt ', h('span', { class: 'badge' }, n.receipt)] : null),
    h('dl', { class: 'summary' },
      row('Id', h('span', { class: 'mono' }, n.id)),
      row('User', h('a', { href: `/console/users/${n.userId}`, class: 'mono' }, n.userId)),
      row('Channel', n.channel), row('Type', n.type), row('Priority', n.priority),
      row('Attempts', String(n.attempts)),
      row('Provider', n.provider), row('Provider message id', n.providerMessageId && h('span', { class: 'mono' }, n.providerMessageId)),
      row('Error', n.errorMessage && h('span', { class: 'error' }, n.errorMessage)),
      row('Created', when(n.createdAt)), row('Scheduled for', when(n.scheduledFor)),
      row('Next attempt', when(n.nextAttemptAt)), row('Sent', when(n.sentAt)), row('Failed', when(n.failedAt)),
      row('Read', when(n.readAt)),
      row('Correlation id', n.metadata && n.metadata.correlationId && h('span', { class: 'mono' }, n.metadata.correlationId))),
    n.status === 'FAILED'
      ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'danger', onclick: () => redrive(n) }, 'Re-drive'))
      : null);
}

async function load() {
  try {
    const [n, events, sent] = await Promise.all([
      api(`/notifications/${id}`), api(`/notifications/${id}/events`), sandboxCopy(),
    ]);
    replace(page(),
      summary(n),
      h('section', { 'aria-labelledby': 'timeline-heading' },
        h('h2', { id: 'timeline-heading' }, 'Timeline'), timeline(events)),
      h('section', { 'aria-labelledby': 'content-heading' },
        h('h2', { id: 'content-heading' }, 'Content'),
        h('p', { class: 'label' }, 'As requested (payload)'),
        h('pre', { id: 'payload' }, JSON.stringify(n.payload, null, 2)),
        sent.length
          ? [h('p', { class: 'label' }, `As rendered and handed to the sandbox provider (to ${sent[0].recipient})`),
            h('pre', { id: 'rendered' }, JSON.stringify(sent[0].content, null, 2))]
          : h('p', { class: 'hint' }, 'The rendered content is shown here once the sandbox provider has taken it.')));
    // While it is on its way, follow it.
    if (TERMINAL.has(n.status)) stopPolling();
    else if (poll === null) poll = setInterval(load, 2000);
  } catch (error) {
    stopPolling();
    if (error instanceof ApiError && error.status === 404) {
      replace(page(), h('p', { class: 'error' }, 'No such notification.'));
    } else {
      failed(error);
    }
  }
}

function stopPolling() {
  if (poll !== null) clearInterval(poll);
  poll = null;
}

load();
