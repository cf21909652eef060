#!/usr/bin/env node
/**
 * `npm run bench:inspector-cpu`: the inspector's CPU per dial + connection lifecycle, in-process and
 * without sockets, so that it resolves a few microseconds on a machine shared with other work (the
 * process benchmark, scripts/bench-inspector.js, cannot under load).
 *
 * One lifecycle is what a server does per proxied connection: a `dial` actor (timed, as the server's are)
 * that succeeds, then a `connection` actor closed by the near side and confirmed by the far side, each
 * with its port bound and a `describe` function, on the process's real ActorHost and LiveInspector, and
 * the four lifecycle events a server makes per connection through the inspector's feed as with
 * `--event-log=off` (made only while someone looks). While
 * they run, LIVE_BACKGROUND connections stay open, so the per-tick passes have something to walk.
 *
 * Variants, interleaved batch by batch in rotated order (CPU time of the batch, median over batches):
 * - `off`: no inspector at all (`--inspector=false`);
 * - `idle`: the inspector on, no one looking;
 * - `viewed`: a viewer connected with one actor's detail open, and the per-tick work the page causes
 *   paced as at DIALS_PER_SECOND (a frame's summary every FRAME_INTERVAL_MS, the table page and the
 *   detail every second), so the figure is the whole cost of a page open at that churn, per lifecycle.
 *
 * Then the per-tick passes alone, with PASS_LIVE live connections and a viewer: a frame's summary, the
 * page's table request and one actor's detail (median of PASS_REPEATS), in milliseconds per pass.
 *
 * `--quick` for fewer batches. Needs `npm run build` (it loads dist/, or BENCH_DIST).
 */
'use strict';
const path = require('path');

/** BENCH_DIST: another build to measure (an older commit's, for a before/after on the same machine). */
const DIST = path.resolve(process.env.BENCH_DIST ?? path.resolve(__dirname, '../dist'));
const dist = (p) => require(path.join(DIST, p));
const { ActorHost } = dist('actors/actorHost');
const machines = dist('actors/machines');
const { LiveInspector } = dist('inspector/liveInspector');
const { EventFeed, feeding } = dist('inspector/eventFeed');
const { eventFactory } = dist('events');
const { discarding } = dist('actors/recorder');
const { parseActorQuery } = dist('inspector/actorQuery');

const QUICK = process.argv.includes('--quick');
/** Many small batches: on a shared machine the load drifts, and adjacent batches see about the same. */
const BATCHES = QUICK ? 12 : 36;
const PER_BATCH = 1000;
/** The churn the process benchmark drives and the target is stated at. */
const DIALS_PER_SECOND = 1000;
const FRAME_INTERVAL_MS = 500;
const LIVE_BACKGROUND = 500;
/** The page's table request (inspector-ui/table.js with the default sort). */
const TABLE_QUERY = parseActorQuery(new URLSearchParams('ended=true&sort=age&dir=desc&limit=100'));

const noop = () => undefined;
const dialPort = new Proxy({}, { get: () => noop });
const connectionPort = new Proxy({}, { get: () => noop });

function makeVariant(name) {
  const host = new ActorHost({ actorStarted: noop, actorStopped: noop });
  const inspector =
    name === 'off' ? null : new LiveInspector(host, { kind: 'server', id: 'bench' }, new EventFeed());
  // As runServer wires it with --event-log=off: the actors call a discarding factory without the
  // inspector (proxyServer.ts), the feed's otherwise.
  const factory = eventFactory({ serverId: 'bench' });
  const events =
    inspector === null ? discarding(factory) : feeding(inspector.feed, () => inspector.wanted, null, factory);
  let tunnelId = 'x:0';
  const describe = (destination) => () => ({
    agent: 'node-1',
    destination,
    owner: tunnelId,
    bytesOut: 0,
    bytesIn: 0,
  });
  const tunnel = host.start('agentTunnel', machines.agentTunnel.machine, {
    input: { agentId: 'node-1', streamId: 'node-1#1' },
    describe: () => ({ agent: 'node-1' }),
  });
  tunnelId = tunnel.sessionId;
  for (let i = 0; i < LIVE_BACKGROUND; i++) {
    host.start('connection', machines.connection.machine, {
      bind: (a) => machines.connection.bind(a, connectionPort),
      input: { connectID: String(i) },
      describe: describe(`10.0.${i % 250}.1:10250`),
    });
  }
  let selected = null;
  if (name === 'viewed') {
    inspector.addViewer();
    // One connection's detail open on the page.
    selected = [...host.liveActors()].find((e) => e.kind === 'connection').actor.sessionId;
    inspector.actor(selected);
  }
  let n = 0;
  const lifecycle = () => {
    const destination = `10.1.${n % 250}.1:10250`;
    const dial = host.start('dial', machines.dial.machine, {
      bind: (a) => machines.dial.bind(a, dialPort),
      input: { random: String(n), address: destination, timeoutMs: 30_000 },
      describe: describe(destination),
    });
    dial.send({ type: 'DIAL_SUCCEEDED', connectID: String(n) });
    const conn = host.start('connection', machines.connection.machine, {
      bind: (a) => machines.connection.bind(a, connectionPort),
      input: { connectID: String(n) },
      describe: describe(destination),
    });
    conn.send({ type: 'CLOSE_REQUESTED', reason: 'done' });
    conn.send({ type: 'FAR_END_CLOSED', reason: 'done' });
    const key = { random: BigInt(n), destination, agentId: 'node-1' };
    events.dialRequested({
      random: key.random,
      destination,
      mode: 'http-connect',
      protocol: 'tcp',
      frontend: 'f',
    });
    events.dialEstablished({ ...key, connectID: BigInt(n), latencyMs: 1 });
    events.connOpened({ ...key, connectID: BigInt(n), mode: 'http-connect' });
    events.connClosed({
      ...key,
      connectID: BigInt(n),
      bytesToAgent: 4,
      bytesFromAgent: 4,
      durationMs: 1,
      closedBy: 'frontend',
      reason: 'done',
    });
    n++;
    if (selected !== null) {
      // The page's per-second work, paced by the lifecycles as if they came at DIALS_PER_SECOND.
      const perFrame = (DIALS_PER_SECOND * FRAME_INTERVAL_MS) / 1000;
      if (n % perFrame === 0) inspector.summary();
      if (n % DIALS_PER_SECOND === 0) {
        inspector.actors(TABLE_QUERY);
        inspector.actor(selected);
      }
    }
  };
  return { name, lifecycle, host };
}

function cpuUs() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const PASS_LIVE = [1000, 10_000];
const PASS_REPEATS = 15;

function passes() {
  const lines = [];
  for (const live of PASS_LIVE) {
    const host = new ActorHost({ actorStarted: noop, actorStopped: noop });
    const inspector = new LiveInspector(host, { kind: 'server', id: 'bench' }, new EventFeed());
    const tunnel = host.start('agentTunnel', machines.agentTunnel.machine, {
      input: { agentId: 'node-1', streamId: 'node-1#1' },
      describe: () => ({ agent: 'node-1' }),
    });
    let last = null;
    for (let i = 0; i < live; i++) {
      last = host.start('connection', machines.connection.machine, {
        bind: (a) => machines.connection.bind(a, connectionPort),
        input: { connectID: String(i) },
        describe: () => ({
          agent: 'node-1',
          destination: `10.0.${i % 250}.1:10250`,
          owner: tunnel.sessionId,
        }),
      });
    }
    inspector.addViewer();
    const time = (f) => {
      const xs = [];
      for (let r = 0; r < PASS_REPEATS; r++) {
        const before = cpuUs();
        f();
        xs.push((cpuUs() - before) / 1000);
      }
      return median(xs).toFixed(2);
    };
    lines.push(
      `  ${String(live).padStart(6)} live: summary ${time(() => inspector.summary())} ms, ` +
        `table page ${time(() => inspector.actors(TABLE_QUERY))} ms, ` +
        `one connection's detail ${time(() => inspector.actor(last.sessionId))} ms, ` +
        `its tunnel's ${time(() => inspector.actor(tunnel.sessionId))} ms`,
    );
    host.stopAll();
  }
  console.log(`CPU per pass with a viewer (median of ${PASS_REPEATS}):`);
  for (const line of lines) console.log(line);
}

function main() {
  const variants = ['off', 'idle', 'viewed'].map(makeVariant);
  for (const v of variants) for (let i = 0; i < PER_BATCH; i++) v.lifecycle(); // warm-up
  const samples = Object.fromEntries(variants.map((v) => [v.name, []]));
  for (let b = 0; b < BATCHES; b++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(b + i) % variants.length];
      const before = cpuUs();
      for (let k = 0; k < PER_BATCH; k++) v.lifecycle();
      samples[v.name].push((cpuUs() - before) / PER_BATCH);
    }
  }
  console.log(`CPU per dial + connection lifecycle, median of ${BATCHES} batches of ${PER_BATCH}:`);
  for (const v of variants) {
    const us = median(samples[v.name]);
    // Paired with the `off` batch of the same round, then the median: steadier than a difference of medians.
    const diffs = samples[v.name].map((x, b) => x - samples.off[b]);
    const d = median(diffs);
    const pct = (100 * median(samples[v.name].map((x, b) => x / samples.off[b] - 1))).toFixed(1);
    const vs = v.name === 'off' ? '' : ` (paired vs off: ${d >= 0 ? '+' : ''}${d.toFixed(1)} us, ${pct} %)`;
    console.log(`  ${v.name.padEnd(6)} ${us.toFixed(1)} us${vs}`);
  }
  for (const v of variants) v.host.stopAll();
  passes();
}

main();
