// The lifecycle event feed: newest first, a bounded number of entries in the DOM.
'use strict';

import { el, text } from './dom.js';

const KEEP = 300;
const FIELDS = [
  'agentId',
  'serverId',
  'destination',
  'reason',
  'error',
  'closedBy',
  'latencyMs',
  'durationMs',
];

export function eventItem(event) {
  const parts = [];
  for (const field of FIELDS) {
    if (event[field] !== undefined && event[field] !== '') parts.push(`${field}=${text(event[field])}`);
  }
  return el(
    'li',
    { class: `event ${event.type.replace(/\W+/g, '-')}`, 'data-type': event.type },
    el('time', {}, text(event.time)),
    ' ',
    el('strong', { class: 'e-type' }, event.type),
    ' ',
    el('span', { class: 'e-fields' }, parts.join(' ')),
  );
}

export function createFeed(list, status) {
  let dropped = 0;
  return {
    add(events, droppedNow) {
      for (const event of events) list.prepend(eventItem(event));
      while (list.childElementCount > KEEP) list.lastElementChild.remove();
      dropped += droppedNow ?? 0;
      status.textContent = dropped > 0 ? `${dropped} events not shown (the page fell behind)` : '';
    },
    reset() {
      dropped = 0;
      while (list.firstChild) list.firstChild.remove();
      status.textContent = '';
    },
  };
}
