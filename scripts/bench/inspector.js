/**
 * What the inspector costs: the same server + agent three ways, interleaved round by round in rotated
 * order: `off` (--inspector=false), `idle` (inspector on, no page open) and `viewed` (a page open during the
 * measurement). The viewer does what the page does: it holds the live stream (SSE) of the server and of the
 * agent and, at every frame, fetches the first page of the actor table. It runs in this (otherwise idle)
 * process, not in a browser, so the numbers are the processes' cost, not a browser's competing for the cores.
 *
 * Measured per variant and round: download throughput through one tunnel (MB/s) and the dial rate of
 * `n` concurrent dial+echo (500 in flight), as in the main benchmark.
 */
'use strict';
const http = require('http');
const { MiB, median } = require('./common');
const { LineChild } = require('./processes');
const { startServer, startAgent } = require('./cluster');
const scenarios = require('./scenarios');

const VARIANTS = ['off', 'idle', 'viewed'];
/** inspector-ui/app.js refreshes the actor table at every second frame. */
const TABLE_EVERY_FRAMES = 2;

/** A viewer of one process's inspector: its live stream, and a table page fetched at every frame. */
function openViewer(port) {
  let frames = 0;
  let fetches = 0;
  let busy = false;
  const fetchTable = () => {
    if (busy) return;
    busy = true;
    http
      .get(
        { host: '127.0.0.1', port, path: '/inspector/api/actors?ended=true&sort=age&dir=desc&limit=100' },
        (res) => {
          res.resume();
          res.on('end', () => {
            fetches++;
            busy = false;
          });
        },
      )
      .on('error', () => (busy = false));
  };
  const req = http.get({ host: '127.0.0.1', port, path: '/inspector/api/stream' }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk) => {
      const n = chunk.split('\n\n').length - 1;
      frames += n;
      // As the page does: the table once a second (every other frame), the charts at every frame.
      if (n > 0 && frames % TABLE_EVERY_FRAMES === 0) fetchTable();
    });
  });
  req.on('error', () => undefined);
  return {
    close: () => {
      req.destroy();
      return { frames, fetches };
    },
  };
}

async function startVariant(variant, { mode, dir, tls }) {
  const extraArgs = ['--event-log=off', ...(variant === 'off' ? ['--inspector=false'] : [])];
  const server = await startServer({ mode, dir, tls, name: `insp-${variant}`, extraArgs });
  const agent = await startAgent({ server, dir, tls, name: `insp-${variant}-agent`, extraArgs });
  return {
    variant,
    server,
    agent,
    ctx: {
      via: { kind: mode, socketPath: server.socketPath },
      pids: { server: server.pid, agent: agent.pid },
    },
  };
}

async function measure(v, target, cfg, log) {
  const viewers =
    v.variant === 'viewed' ? [openViewer(v.server.adminPort), openViewer(v.agent.adminPort)] : [];
  try {
    const ports = await scenarios.listen(target);
    const dl = await scenarios.runClient(
      'download',
      { via: v.ctx.via, address: `127.0.0.1:${ports.source}`, bytes: cfg.bytes, capMs: cfg.capMs },
      cfg.capMs + 30_000,
    );
    const c = await scenarios.concurrency(
      { ...v.ctx, target, log: () => undefined },
      { n: cfg.dials, inFlight: cfg.inFlight },
    );
    const dialsPerSec = c.ok / (c.openMs / 1000);
    // CPU of server + agent per dial while opening: steadier than rates on a machine shared with other work.
    const cpuMsPerDial = (c.openCpuMs.server + c.openCpuMs.agent) / Math.max(1, c.ok);
    const seen = viewers.map((w) => w.close());
    log(
      `${v.variant}: ${dl.mbps.toFixed(0)} MB/s, ${dialsPerSec.toFixed(0)} dials/s, ${cpuMsPerDial.toFixed(2)} CPU ms/dial` +
        (seen.length > 0
          ? ` (viewer: ${seen.map((s) => `${s.frames} frames, ${s.fetches} table fetches`).join('; ')})`
          : ''),
    );
    return { mbps: dl.mbps, dialsPerSec, cpuMsPerDial, failed: c.failed, viewer: seen };
  } finally {
    for (const w of viewers) w.close();
  }
}

async function runInspectorSection({ dir, tls, cfg, log }) {
  const mode = cfg.mode ?? 'http-connect';
  const target = new LineChild('target.js', [], { name: 'target (inspector)' });
  const variants = [];
  try {
    await target.next((m) => m.event === 'ready', 10_000);
    for (const variant of VARIANTS) variants.push(await startVariant(variant, { mode, dir, tls }));
    const runs = Object.fromEntries(VARIANTS.map((k) => [k, []]));
    for (let round = 0; round < cfg.warmupRounds + cfg.rounds; round++) {
      const order = VARIANTS.map((_, i) => variants[(i + round) % variants.length]);
      for (const v of order) {
        const r = await measure(v, target, cfg, (m) =>
          log(`round ${round + 1}${round < cfg.warmupRounds ? ' (warm-up)' : ''} ${m}`),
        );
        if (round >= cfg.warmupRounds) runs[v.variant].push(r);
      }
    }
    const summary = {};
    for (const k of VARIANTS) {
      summary[k] = {
        mbps: median(runs[k].map((r) => r.mbps)),
        dialsPerSec: median(runs[k].map((r) => r.dialsPerSec)),
        cpuMsPerDial: median(runs[k].map((r) => r.cpuMsPerDial)),
      };
    }
    // Paired per round (same order position effects cancel over the rotation), then the median ratio.
    const ratio = (k, field) => median(runs[k].map((r, i) => r[field] / runs.off[i][field]));
    const ratios = {
      idle: {
        mbps: ratio('idle', 'mbps'),
        dialsPerSec: ratio('idle', 'dialsPerSec'),
        cpuMsPerDial: ratio('idle', 'cpuMsPerDial'),
      },
      viewed: {
        mbps: ratio('viewed', 'mbps'),
        dialsPerSec: ratio('viewed', 'dialsPerSec'),
        cpuMsPerDial: ratio('viewed', 'cpuMsPerDial'),
      },
    };
    return { mode, config: cfg, summary, ratios, runs };
  } finally {
    for (const v of variants) {
      await v.agent.stop();
      await v.server.stop();
    }
    await target.stop();
  }
}

module.exports = { runInspectorSection, VARIANTS, MiB };
