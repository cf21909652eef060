// The actor table: one page of rows, filtered, sorted and paged by the process (api/actors), so the page
// stays as light with 10,000 connections as with 10.
'use strict';

import { getJson, formParams } from './api.js';
import { el, clear, text, formatAge, formatBytes } from './dom.js';

const PAGE = 100;

export function createActorTable({ form, table, pageInfo, prev, next, total, onSelect }) {
  const body = table.querySelector('tbody');
  let sort = 'age';
  let desc = true;
  let offset = 0;
  let inFlight = false;
  let again = false;

  const render = (page, now) => {
    clear(body);
    for (const row of page.rows) {
      const tr = el(
        'tr',
        { 'data-id': row.id, class: row.endedAt !== null ? 'ended' : '' },
        el('td', { class: 'c-id' }, row.id),
        el('td', { class: 'c-kind' }, row.kind),
        el('td', { class: 'c-state' }, row.state),
        el('td', { class: 'c-agent' }, text(row.agent)),
        el('td', { class: 'c-server' }, text(row.server)),
        el('td', { class: 'c-destination' }, text(row.destination)),
        el('td', { class: 'c-age num' }, formatAge((row.endedAt ?? now) - row.startedAt)),
        el('td', { class: 'c-bytes-out num' }, formatBytes(row.bytesOut)),
        el('td', { class: 'c-bytes-in num' }, formatBytes(row.bytesIn)),
      );
      tr.addEventListener('click', () => onSelect(row.id));
      body.append(tr);
    }
    total.textContent = `${page.total} matching`;
    const last = Math.min(page.offset + page.rows.length, page.total);
    pageInfo.textContent = page.total === 0 ? 'none' : `${page.offset + 1}-${last} of ${page.total}`;
    prev.disabled = page.offset === 0;
    next.disabled = last >= page.total;
  };

  const refresh = async () => {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      const params = { ...formParams(form), sort, dir: desc ? 'desc' : 'asc', offset, limit: PAGE };
      const page = await getJson('actors', params);
      if (page) render(page, Date.now());
    } catch {
      // The stream's status shows the process is unreachable; the next frame tries again.
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        void refresh();
      }
    }
  };

  for (const th of table.querySelectorAll('th[data-sort]')) {
    th.addEventListener('click', () => {
      const field = th.getAttribute('data-sort');
      if (sort === field) desc = !desc;
      else {
        sort = field;
        desc = field === 'age' || field.startsWith('bytes');
      }
      for (const other of table.querySelectorAll('th[data-sort]')) other.classList.remove('sorted', 'desc');
      th.classList.add('sorted');
      th.classList.toggle('desc', desc);
      offset = 0;
      void refresh();
    });
  }
  form.addEventListener('input', () => {
    offset = 0;
    void refresh();
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  prev.addEventListener('click', () => {
    offset = Math.max(0, offset - PAGE);
    void refresh();
  });
  next.addEventListener('click', () => {
    offset += PAGE;
    void refresh();
  });
  return { refresh };
}
