// Overview: the figures of GET /admin/dashboard and GET /admin/queue/stats,
// read again every 5 s while the tab is visible. Sent per minute comes from the
// dashboard's series; failure rate and lane backlog are sampled here, so their
// charts cover the time this page has been open.
import { api, failed, h, lineChart, page, replace, when } from '../console.js';

const REFRESH_MS = 5000;
const KEEP = 120; // samples: 10 minutes at 5 s
const LANES = ['URGENT', 'HIGH', 'MEDIUM', 'LOW'];
const samples = { failureRate: [], lanes: Object.fromEntries(LANES.map((lane) => [lane, []])) };

const percent = (v) => `${(Number(v || 0) * 100).toFixed(1)}%`;

function keep(series, point) {
  series.push(point);
  if (series.length > KEEP) series.shift();
}

function figure(label, value, note) {
  return h('div', { class: 'card' },
    h('div', { class: 'label' }, label),
    h('div', { class: 'figure' }, value),
    note ? h('div', { class: 'hint' }, note) : null);
}

function chartCard(heading, id, points, opts) {
  return h('section', { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, heading),
    points.length ? lineChart(points, { label: heading, ...opts }) : h('p', { class: 'empty' }, 'No data yet.'));
}

function sentSeries(board) {
  return (board.sentPerMinute || []).map((row) => [Date.parse(`${row.minute}:00Z`), row.count]);
}

function render(board, stats) {
  const now = Date.now();
  keep(samples.failureRate, [now, board.lastHour.failureRate || 0]);
  const backlog = stats.backlog || {};
  const transport = (stats.transport && stats.transport.lanes) || {};
  for (const lane of LANES) {
    const waiting = (backlog[lane] ? backlog[lane].waiting + backlog[lane].queued : 0) + (transport[lane] || 0);
    keep(samples.lanes[lane], [now, waiting]);
  }
  const oldest = board.oldestWaiting;
  replace(page(),
    h('p', { class: 'hint', id: 'updated' }, `Updated ${when(board.generatedAt)}; refreshed every 5 s.`),
    h('div', { class: 'grid' },
      figure('Notifications, last hour', board.lastHour.total, `${board.lastDay.total} in the last day`),
      figure('Failure rate, last hour', percent(board.lastHour.failureRate),
        `${percent(board.lastDay.failureRate)} in the last day`),
      h('div', { class: 'card' },
        h('div', { class: 'label' }, 'Dead letters'),
        h('div', { class: 'figure', id: 'dead-letter-count' }, board.deadLetters),
        h('a', { href: '/console/dead-letters' }, 'See dead letters')),
      figure('Oldest waiting', oldest ? `${oldest.ageSeconds} s` : 'none',
        oldest ? `created ${when(oldest.createdAt)}` : 'nothing PENDING')),
    h('div', { class: 'grid' },
      chartCard('Sent per minute (last hour)', 'chart-sent', sentSeries(board)),
      chartCard('Failure rate (last hour, sampled)', 'chart-failure', samples.failureRate, { format: percent })),
    h('h2', null, 'Queue per lane'),
    h('div', { class: 'grid' },
      LANES.map((lane) => chartCard(`${lane} lane backlog`, `chart-lane-${lane}`, samples.lanes[lane]))),
    laneTable(backlog, transport),
    h('h2', null, 'Provider circuits'),
    h('p', { class: 'hint' }, `Circuits of ${board.circuitsOf || 'this process'}.`),
    circuitTable(board.circuits || []),
    h('h2', null, 'Top failure reasons today'),
    errorTable(board.topErrors || []));
}

function laneTable(backlog, transport) {
  const rows = LANES.map((lane) => ({ lane, ...(backlog[lane] || {}), transport: transport[lane] || 0 }));
  return h('div', { class: 'table-wrap' }, h('table', null,
    h('caption', { class: 'offscreen' }, 'Queue per lane'),
    h('thead', null, h('tr', null, ['Lane', 'Queued', 'Waiting', 'Processing', 'In the broker']
      .map((heading) => h('th', { scope: 'col' }, heading)))),
    h('tbody', null, rows.map((row) => h('tr', null,
      h('th', { scope: 'row' }, row.lane), h('td', null, row.queued ?? 0), h('td', null, row.waiting ?? 0),
      h('td', null, row.processing ?? 0), h('td', null, row.transport))))));
}

function circuitTable(circuits) {
  if (!circuits.length) return h('p', { class: 'empty' }, 'No providers.');
  return h('div', { class: 'table-wrap' }, h('table', { id: 'circuits' },
    h('thead', null, h('tr', null, ['Channel', 'Provider', 'Circuit'].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', null, circuits.map((c) => h('tr', null,
      h('td', null, c.channel), h('td', null, c.provider),
      h('td', null, h('span', { class: `badge ${c.state}` }, c.state)))))));
}

function errorTable(errors) {
  if (!errors.length) return h('p', { class: 'empty' }, 'No failures today.');
  return h('div', { class: 'table-wrap' }, h('table', null,
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Reason'), h('th', { scope: 'col' }, 'Count'))),
    h('tbody', null, errors.map((e) => h('tr', null, h('td', { class: 'mono' }, e.reason), h('td', null, e.count))))));
}

async function refresh() {
  try {
    const [board, stats] = await Promise.all([api('/admin/dashboard'), api('/admin/queue/stats')]);
    render(board, stats);
  } catch (error) {
    failed(error);
  }
}

let timer = null;
function start() {
  if (timer === null) timer = setInterval(refresh, REFRESH_MS);
}
function stop() {
  if (timer !== null) clearInterval(timer);
  timer = null;
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden) stop();
  else { refresh(); start(); }
});

refresh();
start();
