/**
 * The event-log section: the same server + agent + target + client setup with the lifecycle event log
 * off (`--event-log=off`), on NATS JetStream (`--event-log=nats://...`, server and agent, a private
 * nats-server started here) and on the embedded file log (the default, under a fresh `--data-dir`),
 * measured in one run; optionally `off-b`, a second cluster with the log off, as an A/A control. The
 * clusters run side by side and every measurement step is taken for each in turn, the order rotating
 * each round (downloads: one client alternating between them), so machine-wide drift hits them alike.
 * Figures are medians over all samples (latency: percentiles of the pooled samples); ratios are medians
 * of per-round paired ratios (pairedRatios). After each step the driver waits for the step's events to be
 * durable (the backlog gauges at 0), so a log catching up never runs into the next variant's measurement,
 * and the CPU it costs is charged to its own variant. At the end it counts the `dial.requested` events
 * that reached the NATS stream and the file log, against the dials the clients made. docs/benchmarks.md.
 */
'use strict';
const fs = require('fs');
const path = require('path');
const { GC_NODE_ARGS, cpuMs, httpGet, median, percentile, sleep, waitFor } = require('./common');
const { LineChild } = require('./processes');
const {
  startServer,
  startAgent,
  ESTABLISHED,
  PENDING_DIALS,
  AGENT_ENDPOINTS,
  EVENT_LOG_BACKLOG,
  EVENT_LOG_DROPPED,
  EVENT_LOG_PUBLISHED,
} = require('./cluster');
const { startNatsServer } = require('./natsServer');
const scenarios = require('./scenarios');

/** The variants compared, by default; `off-b` (a second cluster with the log off) is an A/A control. */
const VARIANTS = ['off', 'nats', 'file'];
const kindOf = (variant) => (variant.startsWith('off') ? 'off' : variant);
const STREAM = 'KONNECTIVITY_EVENTS';
/** How long an event log may take to make a step's events durable before the step counts as failed. */
const DRAIN_TIMEOUT_MS = 20_000;

const addr = (port) => `127.0.0.1:${port}`;

/** Rotates the variant order each round: off,nats,file / nats,file,off / file,off,nats / ... */
const orderOf = (names, round) => names.map((_, i) => names[(i + round) % names.length]);

/** Sum of the backlog gauges of server and agent (null metrics, e.g. with the log off, count as 0). */
async function backlog(v) {
  const s = await v.server.eventLogMetrics();
  const a = await v.agent.eventLogMetrics();
  return (s[EVENT_LOG_BACKLOG] || 0) + (a[EVENT_LOG_BACKLOG] || 0);
}

/** Waits until every event appended so far is durable (fsynced / acked by JetStream); returns ms waited. */
async function drain(v) {
  const t0 = Date.now();
  // The file log batches for 5 ms before its write: give an append made at the step's last moment the
  // time to show up in the gauge.
  await sleep(20);
  const ok = await waitFor(async () => (await backlog(v)) === 0, DRAIN_TIMEOUT_MS, 20);
  if (!ok)
    throw new Error(
      `${v.name}: event log backlog ${await backlog(v)} still not 0 after ${DRAIN_TIMEOUT_MS} ms`,
    );
  return Date.now() - t0;
}

function cpuOf(pids) {
  const out = {};
  for (const [k, pid] of Object.entries(pids)) out[k] = cpuMs(pid);
  return out;
}
function cpuSince(pids, before) {
  const now = cpuOf(pids);
  const out = {};
  for (const k of Object.keys(pids))
    out[k] = now[k] === null || before[k] === null ? null : now[k] - before[k];
  return out;
}

/**
 * Runs `fn` against variant `v`, waits for its events to be durable, and returns `fn`'s result with the CPU
 * each process used from the start of the step to the end of the drain, and the drain time.
 */
async function step(v, fn) {
  const cpu0 = cpuOf(v.pids);
  const r = await fn();
  const drainMs = await drain(v);
  return { ...r, cpuMs: cpuSince(v.pids, cpu0), drainMs };
}

async function startVariant({ variant, mode, dir, tls, nats, log }) {
  const name = `el-${mode}-${variant}`;
  const kind = kindOf(variant);
  const extraArgs = kind === 'off' ? ['--event-log=off'] : kind === 'nats' ? [`--event-log=${nats.url}`] : [];
  const server = await startServer({ mode, dir, tls, name, extraArgs });
  let agent;
  try {
    agent = await startAgent({ server, dir, tls, name: `${name}-agent`, extraArgs });
  } catch (err) {
    await server.stop();
    throw err;
  }
  const v = {
    variant,
    kind,
    name,
    server,
    agent,
    pids: { server: server.pid, agent: agent.pid, ...(kind === 'nats' ? { nats: nats.pid } : {}) },
    dials: 0,
    log: (msg) => log(`${variant}: ${msg}`),
  };
  // Make sure each process runs the log it was asked for: `published_total` only exists with a log, is
  // labelled with its backend, and counts the start-up events (server.started, agent.started, ...) once
  // they are durable.
  const backendOf = async (port) => {
    const { body } = await httpGet(port, '/metrics');
    return /konnectivity_ts_event_log_published_total\{backend="(\w+)"\} [1-9]/.exec(body)?.[1] ?? null;
  };
  let seen;
  const ok = await waitFor(async () => {
    seen = { server: await backendOf(server.healthPort), agent: await backendOf(agent.healthPort) };
    return kind === 'off' ? !seen.server && !seen.agent : seen.server === kind && seen.agent === kind;
  }, 10_000);
  const problem = !ok
    ? `${name}: the event log is not what was asked for (${kind}): server ${seen.server}, agent ${seen.agent}`
    : kind === 'file' && !fs.existsSync(path.join(server.dataDir, 'events'))
      ? `${name}: no embedded event log under ${server.dataDir}`
      : null;
  if (problem) {
    await agent.stop();
    await server.stop();
    throw new Error(problem);
  }
  v.ctx = {
    via: { kind: mode, socketPath: server.socketPath },
    pids: { server: server.pid, agent: agent.pid },
    log: v.log,
    metrics: async () => {
      const s = await server.metrics();
      const a = await agent.metrics();
      return {
        serverEstablished: s[ESTABLISHED],
        serverPendingDials: s[PENDING_DIALS],
        agentEndpoints: a[AGENT_ENDPOINTS],
      };
    },
  };
  return v;
}

/**
 * `perRound` downloads through each variant, from one client process that alternates between them
 * (pass p in the round's order rotated by p), then the drain of every variant. Each variant's CPU over the
 * series is charged to the bytes it carried: its processes are idle while another variant downloads.
 */
async function downloads(order, target, { bytes, capMs, perRound }) {
  const ports = await scenarios.listen(target);
  const cpu0 = order.map((v) => cpuOf(v.pids));
  const targets = order.map((v) => ({ via: v.ctx.via, address: addr(ports.source) }));
  const r = await scenarios.runClient(
    'downloadSeries',
    { targets, bytes, capMs, passes: perRound },
    perRound * order.length * (capMs + 5000) + 30_000,
  );
  const out = [];
  for (const [i, v] of order.entries()) {
    v.dials += perRound;
    const drainMs = await drain(v);
    const mine = r.samples.filter((x) => x.target === i).sort((a, b) => a.pass - b.pass);
    out.push({
      samples: mine.map((x) => ({ mbps: x.mbps, bytes: x.bytes, ms: x.ms, complete: x.complete })),
      bytes: mine.reduce((a, x) => a + x.bytes, 0),
      cpuMs: cpuSince(v.pids, cpu0[i]),
      drainMs,
    });
  }
  return out;
}

async function latency(v, target, { n, warmup, capMs }) {
  const ports = await scenarios.listen(target);
  const r = await scenarios.runClient(
    'latency',
    { via: v.ctx.via, address: addr(ports.echo), n, warmup, capMs, samples: true },
    capMs + 30_000,
  );
  v.dials += r.attempts;
  return r;
}

async function concurrent(v, target, { n, inFlight }) {
  v.dials += n;
  return scenarios.concurrency({ ...v.ctx, target }, { n, inFlight });
}

/** `dial.requested` (server) and `dial.endpoint-connected` (agent) events each variant's log holds. */
async function natsCounts(url, v) {
  const { connect } = require('@nats-io/transport-node');
  const { jetstreamManager, AckPolicy, DeliverPolicy } = require('@nats-io/jetstream');
  const nc = await connect({ servers: url, timeout: 5000 });
  try {
    const jsm = await jetstreamManager(nc);
    // Each process publishes under konnectivity.events.<process>.<entity>.<id>.<type> (src/persistence/subjects.ts).
    const count = async (subject) => {
      const ci = await jsm.consumers.add(STREAM, {
        filter_subject: subject,
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.All,
        inactive_threshold: 60_000 * 1e6,
      });
      await jsm.consumers.delete(STREAM, ci.name);
      return ci.num_pending;
    };
    return {
      streamMessages: (await jsm.streams.info(STREAM)).state.messages,
      dialRequested: await count(`konnectivity.events.${v.name}.dial.*.requested`),
      endpointConnected: await count(`konnectivity.events.agent-${v.name}-agent.dial.*.endpoint-connected`),
    };
  } finally {
    await nc.close();
  }
}

/** The same two counts in an embedded log: its segments are JSON lines, one record per event. */
function fileCounts(serverDataDir, agentDataDir) {
  const count = (dir, type) => {
    const needle = `"type":"${type}"`;
    let n = 0;
    for (const f of fs.readdirSync(dir)) {
      if (!f.endsWith('.jsonl')) continue;
      for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
        if (line.includes(needle)) n++;
    }
    return n;
  };
  return {
    dialRequested: count(path.join(serverDataDir, 'events'), 'dial.requested'),
    endpointConnected: count(path.join(agentDataDir, 'events'), 'dial.endpoint-connected'),
  };
}

/** Waits (up to 20 s) until the log holds an event for every dial made; returns the last counts. */
async function verifyEvents(v, nats) {
  const read =
    v.kind === 'nats'
      ? () => natsCounts(nats.url, v)
      : async () => fileCounts(v.server.dataDir, v.agent.dataDir);
  let counts;
  await waitFor(
    async () => {
      counts = await read();
      return counts.dialRequested >= v.dials;
    },
    20_000,
    250,
  );
  const s = await v.server.eventLogMetrics();
  const a = await v.agent.eventLogMetrics();
  return {
    ...counts,
    dialsMade: v.dials,
    dropped: { server: s[EVENT_LOG_DROPPED] || 0, agent: a[EVENT_LOG_DROPPED] || 0 },
    published: { server: s[EVENT_LOG_PUBLISHED], agent: a[EVENT_LOG_PUBLISHED] },
  };
}

/** Medians and pooled percentiles of one variant's rounds. */
function summarizeVariant(rounds) {
  const dl = rounds.map((r) => r.download).filter((r) => r && !r.error);
  const dlSamples = dl.flatMap((r) => r.samples);
  const lat = rounds.map((r) => r.latency).filter((r) => r && !r.error);
  const conc = rounds.map((r) => r.concurrent).filter((r) => r && !r.error);
  const samples = lat.flatMap((r) => r.dialEchoSamples);
  const perMB = (r, k) =>
    r.cpuMs[k] === null || r.cpuMs[k] === undefined ? null : r.cpuMs[k] / (r.bytes / 1e6);
  const perCycle = (r, k) =>
    r.cpuMs[k] === null || r.cpuMs[k] === undefined ? null : r.cpuMs[k] / r.attempts;
  const medianOf = (list, f) => {
    const vals = list.map(f).filter((x) => Number.isFinite(x));
    return vals.length ? median(vals) : null;
  };
  const cpu = (list, f) => {
    const procs = new Set(list.flatMap((r) => Object.keys(r.cpuMs)));
    const out = {};
    for (const k of procs) out[k] = medianOf(list, (r) => f(r, k));
    return out;
  };
  return {
    download: {
      samples: dlSamples.map((r) => r.mbps),
      mbps: medianOf(dlSamples, (r) => r.mbps),
      complete: dlSamples.every((r) => r.complete),
      cpuMsPerMB: cpu(dl, perMB),
    },
    latency: {
      n: samples.length,
      failed: lat.reduce((a, r) => a + r.failed, 0),
      p50: samples.length ? percentile(samples, 50) : null,
      p99: samples.length ? percentile(samples, 99) : null,
      roundP50s: lat.map((r) => r.dialEcho.p50),
      roundP99s: lat.map((r) => r.dialEcho.p99),
      cpuMsPerCycle: cpu(lat, perCycle),
    },
    concurrent: {
      runs: conc.map((r) => ({ ok: r.ok, failed: r.failed, openMs: r.openMs, clean: r.afterClose?.clean })),
      dialsPerSecond: medianOf(conc, (r) => r.ok / (r.openMs / 1000)),
      allOk: conc.every((r) => r.failed === 0 && r.afterClose?.clean !== false),
    },
    drainMs: {
      max: Math.max(
        0,
        ...rounds.flatMap((r) => [r.download, r.latency, r.concurrent].map((x) => x?.drainMs || 0)),
      ),
    },
    errors: rounds.flatMap((r) =>
      [
        ['download', r.download],
        ['latency', r.latency],
        ['concurrent', r.concurrent],
      ]
        .filter(([, x]) => x?.error)
        .map(([k, x]) => `${k}: ${x.error}`),
    ),
  };
}

/**
 * Ratios of variant `on` against `off`, each the median over rounds of the ratio between figures taken in
 * the same round (paired, so drift slower than a round cancels): download on/off (each pass of the round's
 * download series against the same pass), dial+echo p50 off/on (the round's p50s), dials/s on/off. p99 is off/on of the
 * pooled samples' p99, a round's 1% tail being too few samples.
 */
function pairedRatios(onRounds, offRounds, onSummary, offSummary) {
  const ok = (x) => x && !x.error;
  const pairs = (f) => {
    const out = [];
    for (let r = 0; r < Math.min(onRounds.length, offRounds.length); r++) {
      for (const [a, b] of f(onRounds[r], offRounds[r])) {
        if (ok(a) && ok(b)) out.push([a, b]);
      }
    }
    return out;
  };
  const medianRatio = (list, f) => {
    const vals = list.map(f).filter((x) => Number.isFinite(x));
    return { ratio: vals.length ? median(vals) : null, pairs: vals };
  };
  return {
    download: medianRatio(
      pairs((on, off) =>
        ok(on.download) && ok(off.download)
          ? on.download.samples.map((d, i) => [d, off.download.samples[i]])
          : [],
      ),
      ([a, b]) => a.mbps / b.mbps,
    ),
    p50: medianRatio(
      pairs((on, off) => [[on.latency, off.latency]]),
      ([a, b]) => b.dialEcho.p50 / a.dialEcho.p50,
    ),
    p99: { ratio: offSummary.latency.p99 / onSummary.latency.p99 },
    dialsPerSecond: medianRatio(
      pairs((on, off) => [[on.concurrent, off.concurrent]]),
      ([a, b]) => a.ok / a.openMs / (b.ok / b.openMs),
    ),
  };
}

/**
 * One frontend mode: a cluster per variant, `cfg.warmupRounds` unrecorded rounds (JIT, heap sizing), then
 * `cfg.rounds` recorded ones, then the event counts.
 */
async function runMode({ mode, dir, tls, cfg, nats, log }) {
  const names = cfg.variants || VARIANTS;
  const target = new LineChild('target.js', [], {
    name: `target (eventlog ${mode})`,
    nodeArgs: GC_NODE_ARGS,
  });
  const variants = [];
  try {
    await target.next((m) => m.event === 'ready', 10_000);
    for (const variant of names) variants.push(await startVariant({ variant, mode, dir, tls, nats, log }));
    log(
      `clusters up: ${variants.map((v) => `${v.variant} (server ${v.server.pid}, agent ${v.agent.pid})`).join(', ')}`,
    );
    const tryStep = async (v, what, fn) => {
      try {
        return await step(v, fn);
      } catch (err) {
        v.log(`${what} FAILED: ${err.message || err}`);
        return { error: String(err.message || err) };
      }
    };
    /** Every step for every variant in turn: downloads, then latency, then the concurrent dials. */
    const runRound = async (round) => {
      const order = orderOf(names, round).map((k) => variants.find((v) => v.variant === k));
      const rec = Object.fromEntries(names.map((k) => [k, {}]));
      try {
        const series = await downloads(order, target, cfg.download);
        for (const [i, v] of order.entries()) rec[v.variant].download = series[i];
      } catch (err) {
        log(`downloads FAILED: ${err.message || err}`);
        for (const v of order) rec[v.variant].download = { error: String(err.message || err) };
      }
      for (const v of order) {
        rec[v.variant].latency = await tryStep(v, 'latency', () => latency(v, target, cfg.latency));
      }
      for (const v of order) {
        rec[v.variant].concurrent = await tryStep(v, 'concurrent', () =>
          concurrent(v, target, cfg.concurrent),
        );
      }
      return { order: order.map((v) => v.variant), rec };
    };
    const fmtRound = (rec) => (k) => {
      const r = rec[k];
      const f = (x, g) => (x && !x.error ? g(x) : 'error');
      return (
        `${k} ${f(r.download, (x) => x.samples.map((d) => d.mbps.toFixed(0)).join('/'))} MB/s, ` +
        `p50 ${f(r.latency, (x) => `${x.dialEcho.p50.toFixed(3)} ms`)}, ` +
        `${f(r.concurrent, (x) => `${(x.ok / (x.openMs / 1000)).toFixed(0)} dials/s`)}`
      );
    };
    for (let w = 0; w < cfg.warmupRounds; w++) {
      const { rec } = await runRound(w);
      log(
        `warm-up round ${w + 1}/${cfg.warmupRounds} (not recorded): ${names.map(fmtRound(rec)).join('; ')}`,
      );
    }
    const byVariant = Object.fromEntries(names.map((k) => [k, []]));
    for (let round = 0; round < cfg.rounds; round++) {
      const { order, rec } = await runRound(round);
      log(`round ${round + 1}/${cfg.rounds} (${order.join(', ')}): ${names.map(fmtRound(rec)).join('; ')}`);
      for (const k of names) byVariant[k].push(rec[k]);
    }
    const out = { variants: {} };
    for (const v of variants) {
      const s = summarizeVariant(byVariant[v.variant]);
      s.dialsMade = v.dials;
      if (v.kind !== 'off') {
        try {
          s.events = await verifyEvents(v, nats);
        } catch (err) {
          s.events = { error: String(err.message || err), dialsMade: v.dials };
        }
        const e = s.events;
        v.log(
          e.error
            ? `event count FAILED: ${e.error}`
            : `events stored: dial.requested ${e.dialRequested} / ${e.dialsMade} dials made, ` +
                `agent dial.endpoint-connected ${e.endpointConnected}, dropped ${e.dropped.server}+${e.dropped.agent}` +
                (e.streamMessages !== undefined
                  ? `; stream ${STREAM} holds ${e.streamMessages} messages`
                  : ''),
        );
      }
      const c = (o) =>
        Object.entries(o)
          .map(([k, x]) => `${k} ${x === null ? '?' : x.toFixed(2)}`)
          .join(' / ');
      v.log(
        `CPU ms per MB downloaded: ${c(s.download.cpuMsPerMB)}; per dial+echo+close cycle: ${c(s.latency.cpuMsPerCycle)}`,
      );
      out.variants[v.variant] = s;
    }
    out.ratios = {};
    for (const k of names.filter((n) => n !== 'off')) {
      out.ratios[k] = pairedRatios(byVariant[k], byVariant.off, out.variants[k], out.variants.off);
    }
    for (const k of names) {
      out.variants[k].runs = byVariant[k];
      for (const r of byVariant[k]) if (r.latency && !r.latency.error) delete r.latency.dialEchoSamples;
    }
    return out;
  } finally {
    for (const v of variants) {
      await v.agent.stop();
      await v.server.stop();
    }
    await target.stop();
  }
}

/**
 * The whole section: a private nats-server, then each mode in `cfg.modes`. Returns
 * `{ nats: {...}, modes: { <mode>: { variants: { off, nats, file } } | {error} }, durationMs }`.
 */
async function runEventLogSection({ dir, tls, cfg, keep, log }) {
  const t0 = Date.now();
  const out = { config: cfg, modes: {} };
  const nats = await startNatsServer(path.join(dir, 'nats-store'), { keepStore: keep });
  out.nats = { version: nats.version, url: nats.url };
  log(`nats-server ${nats.version} (pid ${nats.pid}) on ${nats.url}, store ${nats.storeDir}`);
  try {
    for (const mode of cfg.modes) {
      const scoped = (msg) => log(`${mode} ${msg}`);
      try {
        out.modes[mode] = await runMode({ mode, dir, tls, cfg, nats, log: scoped });
      } catch (err) {
        scoped(`FAILED: ${err.message || err}`);
        out.modes[mode] = { error: String(err.message || err) };
      }
    }
  } finally {
    await nats.dispose();
  }
  out.durationMs = Date.now() - t0;
  return out;
}

module.exports = { runEventLogSection, VARIANTS };
