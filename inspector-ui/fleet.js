// The fleet view: servers, agents, connections and failures folded from the event log by the inspector
// process, at the end of the log ("live") or after any number of events (the time control).
'use strict';

import { getJson, openStream, formParams } from './api.js';
import { el, clear, text, formatBytes } from './dom.js';
import { eventItem } from './feed.js';

const $ = (id) => document.getElementById(id);

function fill(table, rows) {
  const body = table.querySelector('tbody');
  clear(body);
  for (const cells of rows)
    body.append(
      el(
        'tr',
        {},
        cells.map(([cls, value]) => el('td', { class: cls }, text(value))),
      ),
    );
}

export async function startFleet(info, setStatus) {
  $('fleet-view').hidden = false;
  $('identity').textContent = `fleet from ${info.source.location}`;
  document.title = 'inspector: fleet';
  const slider = $('fleet-slider');
  let live = true;
  let at = 0;
  let total = 0;
  let inFlight = false;
  let again = false;

  const render = (view, filtered) => {
    const p = view.position;
    total = p.total;
    slider.max = String(p.total);
    slider.value = String(p.at);
    $('fleet-position').textContent =
      `${live ? 'live: ' : 'replay: '}after event ${p.at} of ${p.total}` +
      (p.time ? ` (${p.time})` : '') +
      (p.droppedBefore > 0 ? `; the ${p.droppedBefore} oldest events are no longer held` : '');
    const current = $('fleet-event');
    clear(current);
    if (p.event) current.append(eventItem(p.event));
    fill(
      $('fleet-servers'),
      view.servers.map((s) => [
        ['s-id', s.id],
        ['s-status', s.status],
        ['s-agents', s.agents.join(', ')],
        ['s-open num', s.openConnections],
        ['s-dials num', s.dials],
        ['s-failed num', s.failedDials],
      ]),
    );
    fill(
      $('fleet-agents'),
      view.agents.map((a) => [
        ['a-id', a.id],
        ['a-status', a.status],
        ['a-servers', a.servers.join(', ')],
        ['a-open num', a.openConnections],
        ['a-closed num', a.closedConnections],
        ['a-failed num', a.failedDials],
      ]),
    );
    $('fleet-conn-total').textContent = `${view.connections.open} open` + (filtered ? ' (filtered)' : '');
    fill(
      $('fleet-connections'),
      view.connections.listed.map((c) => [
        ['c-server', c.serverId],
        ['c-agent', c.agentId],
        ['c-destination', c.destination],
        ['c-state', c.state],
        ['c-opened', c.openedAt],
        ['c-closed', c.closedAt],
        ['c-to num', formatBytes(c.bytesToAgent)],
        ['c-from num', formatBytes(c.bytesFromAgent)],
        ['c-reason', c.reason],
      ]),
    );
    const failures = $('fleet-failures');
    clear(failures);
    for (const f of view.failures) {
      failures.append(
        el(
          'li',
          { class: 'failure' },
          el('time', {}, f.time),
          ' ',
          el('strong', {}, f.type),
          ' ',
          `server=${text(f.serverId)} agent=${text(f.agentId)} destination=${text(f.destination)} reason=${f.reason}`,
          f.error ? ` error=${f.error}` : '',
        ),
      );
    }
    document.body.setAttribute('data-fleet-at', String(p.at));
  };

  const refresh = async () => {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      // The agent and destination filters narrow the connections (applied by the inspector process).
      const filters = formParams($('fleet-filters'));
      const view = await getJson('fleet', live ? filters : { ...filters, at });
      if (view) {
        if (live) at = view.position.at;
        render(view, Object.keys(filters).length > 0);
      }
    } catch (err) {
      setStatus(`error: ${err.message}`);
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        void refresh();
      }
    }
  };

  const goTo = (n) => {
    live = false;
    at = Math.max(0, Math.min(n, total));
    void refresh();
  };
  slider.addEventListener('input', () => goTo(Number(slider.value)));
  $('fleet-first').addEventListener('click', () => goTo(0));
  $('fleet-back').addEventListener('click', () => goTo(at - 1));
  $('fleet-forward').addEventListener('click', () => goTo(at + 1));
  $('fleet-filters').addEventListener('input', () => void refresh());
  $('fleet-filters').addEventListener('submit', (e) => e.preventDefault());
  // A moment by its time: the process counts the events stamped at or before it, then replay goes on
  // from there event by event.
  $('fleet-goto').addEventListener('submit', (e) => {
    e.preventDefault();
    const time = String(new FormData($('fleet-goto')).get('time')).trim();
    const error = $('fleet-goto-error');
    // The process would refuse it (400) the same way; saying so here spares the request.
    error.textContent = Number.isNaN(Date.parse(time))
      ? `time: ${JSON.stringify(time)} is not a date and time (ISO 8601)`
      : '';
    if (error.textContent !== '') return;
    getJson('fleet', { time }).then(
      (view) => {
        if (view) goTo(view.position.at);
      },
      (err) => (error.textContent = err.message),
    );
  });
  $('fleet-live').addEventListener('click', () => {
    live = true;
    void refresh();
  });

  let seen = -1;
  openStream(
    {},
    (frame) => {
      if (frame.error) setStatus(`error: ${frame.error}`);
      else setStatus('live');
      if (frame.total !== seen) {
        seen = frame.total;
        total = frame.total;
        slider.max = String(total);
        if (live) void refresh();
      }
    },
    setStatus,
  );
  await refresh();
}
