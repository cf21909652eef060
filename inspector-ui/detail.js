// One actor: its chart with the current state highlighted, its recent transitions (with the events that
// caused them), its owner and what it owns.
'use strict';

import { getJson } from './api.js';
import { el, clear, text, formatAge, formatBytes, formatTime } from './dom.js';
import { drawChart } from './charts.js';

function activePaths(state) {
  const out = new Set();
  for (const leaf of state.split(', ')) {
    const parts = leaf.split('.');
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('.'));
  }
  return out;
}

export function createDetail({ section, title, body, close, graphs, onSelect }) {
  let current = null;
  let inFlight = false;

  const actorLink = (row) => {
    const button = el(
      'button',
      { type: 'button', class: 'link', 'data-id': row.id },
      `${row.kind} ${row.id}`,
    );
    button.addEventListener('click', () => onSelect(row.id));
    return el(
      'li',
      {},
      button,
      ' ',
      el('span', { class: 'c-state' }, row.state),
      ' ',
      text(row.destination ?? ''),
    );
  };

  const render = (detail) => {
    const a = detail.actor;
    title.textContent = `${a.kind} ${a.id}`;
    clear(body);
    const facts = el('dl', { class: 'facts' });
    for (const [k, v] of [
      ['state', a.state],
      ['machine', a.machine],
      ['agent', text(a.agent)],
      ['server', text(a.server)],
      ['destination', text(a.destination)],
      ['started', formatTime(a.startedAt)],
      ['age', formatAge((a.endedAt ?? Date.now()) - a.startedAt)],
      ['ended', a.endedAt === null ? 'no (live)' : formatTime(a.endedAt)],
      ['bytes out / in', `${formatBytes(a.bytesOut)} / ${formatBytes(a.bytesIn)}`],
    ]) {
      facts.append(el('dt', {}, k), el('dd', { class: `f-${k.replace(/\W+/g, '-')}` }, v));
    }
    const graph = graphs.get(a.machine);
    const chart = graph ? drawChart(graph, { suffix: 'detail' }) : null;
    chart?.update(null, undefined, activePaths(a.state));
    const transitions = el(
      'table',
      { class: 'grid transitions' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', {}, 'time'),
          el('th', {}, 'from'),
          el('th', {}, 'to'),
          el('th', {}, 'event'),
          el('th', {}, 'detail'),
        ),
      ),
      el(
        'tbody',
        {},
        detail.transitions.map((t) =>
          el(
            'tr',
            {},
            el('td', {}, formatTime(t.time)),
            el('td', { class: 't-from' }, text(t.from)),
            el('td', { class: 't-to' }, t.to),
            el('td', { class: 't-event' }, t.event),
            el('td', { class: 't-detail' }, text(t.detail)),
          ),
        ),
      ),
    );
    body.append(
      el('div', { class: 'detail-grid' }, facts, chart ? chart.element : null),
      el('h3', {}, 'Recent transitions'),
      detail.transitions.length === 0
        ? el(
            'p',
            { class: 'note' },
            a.endedAt === null
              ? 'None yet: transitions are recorded from when an actor is opened here, while it stays open.'
              : 'None recorded: it was not open here while it ran.',
          )
        : transitions,
      el('h3', {}, 'Owner'),
      detail.owner
        ? el('ul', { class: 'owner' }, actorLink(detail.owner))
        : el('p', { class: 'note' }, a.owner ? `${a.owner} (gone)` : 'the process'),
      el('h3', {}, `Owns (${detail.ownsTotal})`),
      el('ul', { class: 'owns' }, detail.owns.map(actorLink)),
    );
  };

  const refresh = async () => {
    if (current === null || inFlight) return;
    inFlight = true;
    try {
      const detail = await getJson(`actors/${encodeURIComponent(current)}`);
      if (detail) render(detail);
      else {
        title.textContent = `${current} (no longer known)`;
      }
    } catch {
      // Retried at the next frame.
    } finally {
      inFlight = false;
    }
  };

  close.addEventListener('click', () => {
    current = null;
    section.hidden = true;
  });

  return {
    show(id) {
      current = id;
      section.hidden = false;
      void refresh();
    },
    refresh,
  };
}
