// Entry point: asks the process what it is (a server's or agent's live inspector, or the fleet view over
// the event log) and starts the matching view.
'use strict';

import { getJson, openStream, formParams } from './api.js';
import { drawAllCharts } from './charts.js';
import { createActorTable } from './table.js';
import { createDetail } from './detail.js';
import { createFeed } from './feed.js';
import { startFleet } from './fleet.js';

const $ = (id) => document.getElementById(id);
/** Frames come twice a second; the table and detail refresh at every second one. */
const TABLE_EVERY_FRAMES = 2;

function setStatus(text) {
  const status = $('status');
  status.textContent = text;
  status.className = `status ${text.split(' ')[0]}`;
}

async function startProcess(info) {
  $('process-view').hidden = false;
  $('identity').textContent = `${info.process.kind} ${info.process.id}`;
  document.title = `inspector: ${info.process.kind} ${info.process.id}`;
  const graphList = await getJson('machines');
  const graphs = new Map(graphList.map((g) => [g.machine, g]));
  const charts = drawAllCharts($('charts'), graphList);
  let detail = null;
  const table = createActorTable({
    form: $('actor-filters'),
    table: $('actors-table'),
    pageInfo: $('page-info'),
    prev: $('page-prev'),
    next: $('page-next'),
    total: $('actors-total'),
    onSelect: (id) => detail.show(id),
  });
  detail = createDetail({
    section: $('detail'),
    title: $('detail-title'),
    body: $('detail-body'),
    close: $('detail-close'),
    graphs,
    onSelect: (id) => detail.show(id),
  });
  const feed = createFeed($('feed'), $('feed-status'));
  const feedForm = $('feed-filters');
  let closeStream = () => {};
  let frames = 0;
  const connect = () => {
    closeStream();
    feed.reset();
    closeStream = openStream(
      formParams(feedForm),
      (frame) => {
        for (const m of frame.summary.machines)
          charts.get(m.machine)?.update(m.states, m.live, null, m.ended);
        feed.add(frame.events, frame.dropped);
        if (frame.skipped > 0) setStatus(`live (skipped ${frame.skipped} frames)`);
        // The table and the detail once a second: each asks the process to list its actors, which is the
        // page's main cost to the process; the charts (cheap) at every frame.
        if (++frames % TABLE_EVERY_FRAMES === 0) {
          void table.refresh();
          void detail.refresh();
        }
        document.body.setAttribute('data-frame', String(frame.summary.time));
      },
      setStatus,
    );
  };
  let pending = null;
  feedForm.addEventListener('input', () => {
    // Filters are applied by the process: reconnect once typing pauses.
    clearTimeout(pending);
    pending = setTimeout(connect, 300);
  });
  feedForm.addEventListener('submit', (e) => e.preventDefault());
  connect();
  void table.refresh();
}

async function main() {
  const info = await getJson('info');
  if (info.mode === 'fleet') await startFleet(info, setStatus);
  else await startProcess(info);
}

main().catch((err) => setStatus(`error: ${err.message}`));
