/**
 * The measurements, as the driver runs them: each starts a client process (scripts/bench/client.js) against
 * a fresh set of target listeners, samples the proxy processes' memory and metrics where it matters, and
 * returns plain data. The same functions run with `via.kind === 'direct'` for the baseline.
 */
'use strict';
const { MiB, median, procMemory, openFds, sleep, waitFor } = require('./common');
const { LineChild } = require('./processes');

const CLIENT_NODE_ARGS = ['--max-old-space-size=8192'];

/** Runs one client scenario to completion and returns its result line. */
async function runClient(scenario, args, timeoutMs) {
  const c = new LineChild('client.js', [scenario, JSON.stringify(args)], {
    nodeArgs: CLIENT_NODE_ARGS,
    name: `client ${scenario}`,
  });
  try {
    const msg = await c.next((m) => m.event === 'result' || m.event === 'error', timeoutMs);
    if (msg.event === 'error') throw new Error(`client ${scenario} failed: ${msg.error}`);
    return msg;
  } finally {
    await c.stop();
  }
}

async function listen(target) {
  const id = Math.random();
  target.send({ cmd: 'listen', id });
  const msg = await target.next((m) => m.id === id, 10_000);
  if (msg.error) throw new Error(`target could not listen: ${msg.error}`);
  return msg.ports;
}

async function targetSockets(target) {
  const id = Math.random();
  target.send({ cmd: 'stats', id });
  return (await target.next((m) => m.id === id, 10_000)).openSockets;
}

const addr = (port) => `127.0.0.1:${port}`;

/** Memory of each named process: { server: {rss, hwm}, agent: {...} }. */
function memoryOf(pids) {
  const out = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = procMemory(pid);
  return out;
}

function fdsOf(pids) {
  const out = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = openFds(pid);
  return out;
}

/** Median of `runs` downloads and of `runs` uploads, each of `bytes` (or `capMs`, whichever first). */
async function throughput(ctx, { bytes, runs, capMs }) {
  const out = { download: { runs: [] }, upload: { runs: [] } };
  for (let i = 0; i < runs; i++) {
    const ports = await listen(ctx.target);
    for (const [dir, port] of [
      ['download', ports.source],
      ['upload', ports.sink],
    ]) {
      const r = await runClient(dir, { via: ctx.via, address: addr(port), bytes, capMs }, capMs + 30_000);
      out[dir].runs.push({ mbps: r.mbps, bytes: r.bytes, ms: r.ms, complete: r.complete });
      ctx.log(`${dir} run ${i + 1}: ${r.mbps.toFixed(1)} MB/s (${(r.bytes / MiB).toFixed(0)} MiB)`);
    }
  }
  for (const dir of ['download', 'upload']) out[dir].mbps = median(out[dir].runs.map((r) => r.mbps));
  return out;
}

async function latency(ctx, { n, warmup, capMs }) {
  const ports = await listen(ctx.target);
  const r = await runClient(
    'latency',
    { via: ctx.via, address: addr(ports.echo), n, warmup, capMs },
    capMs + 30_000,
  );
  ctx.log(
    `dial+echo p50 ${r.dialEcho.p50?.toFixed(3)} ms, p99 ${r.dialEcho.p99?.toFixed(3)} ms ` +
      `(${r.dialEcho.n} samples, ${r.failed} failed)`,
  );
  return r;
}

/**
 * Opens `n` tunnels (bounded in-flight dials), holds them, samples memory/fds/metrics of the proxy
 * processes while all are open, then closes them and checks the server's gauges return to zero.
 */
async function concurrency(ctx, { n, inFlight, settleMs = 0, timeoutMs = 240_000 }) {
  const ports = await listen(ctx.target);
  const c = new LineChild(
    'client.js',
    ['concurrent', JSON.stringify({ via: ctx.via, address: addr(ports.echo), n, inFlight, hold: true })],
    { nodeArgs: CLIENT_NODE_ARGS, name: `client concurrent ${n}` },
  );
  try {
    const open = await c.next((m) => m.event === 'open' || m.event === 'error', timeoutMs);
    if (open.event === 'error') throw new Error(`client concurrent failed: ${open.error}`);
    if (settleMs) await sleep(settleMs);
    const atPeak = {
      memory: memoryOf(ctx.pids),
      fds: fdsOf(ctx.pids),
      targetSockets: await targetSockets(ctx.target),
      metrics: ctx.metrics ? await ctx.metrics() : undefined,
    };
    c.send({ cmd: 'close' });
    const result = await c.next((m) => m.event === 'result' || m.event === 'error', timeoutMs);
    if (result.event === 'error') throw new Error(`client concurrent failed: ${result.error}`);
    let afterClose;
    if (ctx.metrics) {
      // Every tunnel is closed: the gauges must come back to zero (anything left is a leak).
      const t0 = Date.now();
      const clean = await waitFor(async () => {
        const m = await ctx.metrics();
        return Object.values(m).every((v) => !v) ? m : null;
      }, 15_000);
      afterClose = { metrics: clean || (await ctx.metrics()), clean: !!clean, ms: Date.now() - t0 };
    }
    ctx.log(
      `${n} concurrent: ${result.ok} ok, ${result.failed} failed, open in ${(result.openMs / 1000).toFixed(2)} s, ` +
        `closed in ${(result.closeMs / 1000).toFixed(2)} s` +
        (afterClose && !afterClose.clean ? ` (gauges not back to 0: ${JSON.stringify(afterClose.metrics)})` : ''),
    );
    return { ...result, atPeak, afterClose };
  } finally {
    await c.stop();
  }
}

/**
 * Memory per idle open connection: warm up with a small batch, measure RSS, open `n` idle tunnels, wait
 * `settleMs`, measure again; (after - before) / n for each process in ctx.pids.
 */
async function idleMemory(ctx, { n, warmN, settleMs }) {
  await concurrency(ctx, { n: warmN, inFlight: Math.min(100, warmN) });
  await sleep(1000);
  const before = memoryOf(ctx.pids);
  const r = await concurrency(ctx, { n, inFlight: 500, settleMs });
  const perConnection = {};
  for (const name of Object.keys(ctx.pids)) {
    const b = before[name];
    const a = r.atPeak.memory[name];
    perConnection[name] = a && b && r.ok > 0 ? (a.rss - b.rss) / r.ok : null;
  }
  ctx.log(
    `idle memory per connection: ${Object.entries(perConnection)
      .map(([k, v]) => `${k} ${v === null ? '?' : (v / 1024).toFixed(1)} KiB`)
      .join(', ')}`,
  );
  return { n, ok: r.ok, failed: r.failed, before, after: r.atPeak.memory, perConnection, run: r };
}

async function stalledNeighbour(ctx, { rampMs, windowMs, settleMs, stallAfterBytes }) {
  const ports = await listen(ctx.target);
  const r = await runClient(
    'stall',
    {
      via: ctx.via,
      address: addr(ports.source),
      echoAddress: addr(ports.echo),
      rampMs,
      windowMs,
      settleMs,
      stallAfterBytes,
    },
    60_000 + 3 * windowMs,
  );
  ctx.log(
    `stalled neighbour: B solo ${r.solo.mbps.toFixed(1)} MB/s, with A stalled ${r.withStalled.mbps.toFixed(1)} MB/s ` +
      `(ratio ${r.ratio === null ? '?' : r.ratio.toFixed(3)}); new tunnel afterwards: ${r.recovered ? 'ok' : `FAILED (${r.recoveryError})`}`,
  );
  return r;
}

/**
 * `n` agent connections from a swarm process to one server (ours or the bare gRPC baseline): connect
 * `warm` first, measure the server's RSS, connect the rest, wait until the server counts them all (its
 * ready-backends gauge when it has one), wait `settleMs`, measure again.
 */
async function agentSwarm(ctx, { target, ca, n, warm, parallel, settleMs, timeoutMs = 180_000 }) {
  const swarm = new LineChild('swarm.js', [JSON.stringify({ target, ca, prefix: ctx.prefix })], {
    name: 'swarm',
  });
  try {
    await swarm.next((m) => m.event === 'ready', 10_000);
    swarm.send({ cmd: 'connect', n: warm, parallel });
    const w = await swarm.next((m) => m.event === 'connected', timeoutMs);
    if (ctx.ready) await waitFor(async () => (await ctx.ready()) >= w.total, 30_000);
    await sleep(1000);
    const before = procMemory(ctx.pid);
    const t0 = Date.now();
    swarm.send({ cmd: 'connect', n: n - warm, parallel });
    const r = await swarm.next((m) => m.event === 'connected', timeoutMs);
    let gauge = null;
    if (ctx.ready) {
      await waitFor(async () => (gauge = await ctx.ready()) >= n, 60_000, 250);
    }
    const connectMs = Date.now() - t0;
    await sleep(settleMs);
    const after = procMemory(ctx.pid);
    if (ctx.ready) gauge = await ctx.ready();
    const added = r.total - w.total;
    const perAgent = after && before && added > 0 ? (after.rss - before.rss) / added : null;
    ctx.log(
      `${r.total}/${n} agents connected (${r.failed + w.failed} failed) in ${(connectMs / 1000).toFixed(1)} s` +
        (ctx.ready ? `, server gauge ${gauge}` : '') +
        `, RSS ${(before.rss / MiB).toFixed(0)} -> ${(after.rss / MiB).toFixed(0)} MiB, ` +
        `${perAgent === null ? '?' : (perAgent / 1024).toFixed(1)} KiB per agent`,
    );
    swarm.send({ cmd: 'close' });
    await swarm.next((m) => m.event === 'closed', 30_000).catch(() => undefined);
    return {
      requested: n,
      connected: r.total,
      failed: r.failed + w.failed,
      errors: { ...w.errors, ...r.errors },
      gauge,
      connectMs,
      before,
      after,
      perAgent,
    };
  } finally {
    await swarm.stop();
  }
}

module.exports = {
  agentSwarm,
  runClient,
  listen,
  memoryOf,
  throughput,
  latency,
  concurrency,
  idleMemory,
  stalledNeighbour,
};
