/**
 * The measurements, as the driver runs them: each starts a client process (scripts/bench/client.js) against
 * a fresh set of target listeners, samples the proxy processes' memory and metrics where it matters, and
 * returns plain data. The same functions run with `via.kind === 'direct'` for the baseline.
 */
'use strict';
const { MiB, cpuMs, gcMemory, median, procMemory, openFds, sleep, waitFor } = require('./common');
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

/** CPU ms used by each named process since `before` (a previous `cpuOf`), or the totals so far. */
function cpuOf(pids, before) {
  const out = {};
  for (const [name, pid] of Object.entries(pids)) {
    const now = cpuMs(pid);
    out[name] = before ? (now === null || before[name] === null ? null : now - before[name]) : now;
  }
  return out;
}

/** Same, after a full GC in each process (see gcHook.js). */
async function gcMemoryOf(pids) {
  const out = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = await gcMemory(pid);
  return out;
}

function fdsOf(pids) {
  const out = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = openFds(pid);
  return out;
}

/** Median of `runs` downloads and of `runs` uploads, each of `bytes` (or `capMs`, whichever first). */
async function throughput(ctx, { bytes, runs, capMs, warmupBytes }) {
  const out = { download: { runs: [] }, upload: { runs: [] } };
  if (warmupBytes) {
    // Unrecorded: the first few hundred MiB through a fresh process run slower (JIT, heap sizing).
    const ports = await listen(ctx.target);
    for (const [dir, port] of [
      ['download', ports.source],
      ['upload', ports.sink],
    ]) {
      await runClient(dir, { via: ctx.via, address: addr(port), bytes: warmupBytes, capMs }, capMs + 30_000);
    }
  }
  for (let i = 0; i < runs; i++) {
    const ports = await listen(ctx.target);
    for (const [dir, port] of [
      ['download', ports.source],
      ['upload', ports.sink],
    ]) {
      const cpu0 = cpuOf(ctx.pids);
      const r = await runClient(dir, { via: ctx.via, address: addr(port), bytes, capMs }, capMs + 30_000);
      const cpu = { ...cpuOf(ctx.pids, cpu0), client: r.clientCpuMs };
      out[dir].runs.push({ mbps: r.mbps, bytes: r.bytes, ms: r.ms, complete: r.complete, cpuMs: cpu });
      ctx.log(`${dir} run ${i + 1}: ${r.mbps.toFixed(1)} MB/s (${(r.bytes / MiB).toFixed(0)} MiB)`);
    }
  }
  for (const dir of ['download', 'upload']) {
    const runsOut = out[dir].runs;
    out[dir].mbps = median(runsOut.map((r) => r.mbps));
    // CPU cost of moving one MB through each process (median over runs): where the time goes.
    out[dir].cpuMsPerMB = {};
    for (const name of Object.keys(runsOut[0].cpuMs)) {
      out[dir].cpuMsPerMB[name] = median(runsOut.map((r) => r.cpuMs[name] / (r.bytes / 1e6)));
    }
  }
  return out;
}

async function latency(ctx, { n, warmup, capMs }) {
  const ports = await listen(ctx.target);
  const cpu0 = cpuOf(ctx.pids);
  const r = await runClient(
    'latency',
    { via: ctx.via, address: addr(ports.echo), n, warmup, capMs },
    capMs + 30_000,
  );
  const cycles = r.dialEcho.n + r.failed + warmup;
  r.cpuMsPerCycle = { client: r.clientCpuMs / cycles };
  for (const [name, v] of Object.entries(cpuOf(ctx.pids, cpu0))) r.cpuMsPerCycle[name] = v / cycles;
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
async function concurrency(ctx, { n, inFlight, settleMs = 0, gcAtPeak = false, timeoutMs = 240_000 }) {
  const ports = await listen(ctx.target);
  const cpu0 = cpuOf(ctx.pids);
  const c = new LineChild(
    'client.js',
    ['concurrent', JSON.stringify({ via: ctx.via, address: addr(ports.echo), n, inFlight, hold: true })],
    { nodeArgs: CLIENT_NODE_ARGS, name: `client concurrent ${n}` },
  );
  try {
    const open = await c.next((m) => m.event === 'open' || m.event === 'error', timeoutMs);
    if (open.event === 'error') throw new Error(`client concurrent failed: ${open.error}`);
    const openCpuMs = cpuOf(ctx.pids, cpu0);
    if (settleMs) await sleep(settleMs);
    const atPeak = {
      memory: gcAtPeak ? await gcMemoryOf(ctx.pids) : memoryOf(ctx.pids),
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
        (afterClose && !afterClose.clean
          ? ` (gauges not back to 0: ${JSON.stringify(afterClose.metrics)})`
          : ''),
    );
    return { ...result, atPeak, afterClose, openCpuMs };
  } finally {
    await c.stop();
  }
}

/**
 * A burst: `n` tunnels dialed all at once (no in-flight bound), gRPC ones as streams on one shared channel
 * (one HTTP/2 connection, as kube-apiserver multiplexes), HTTP-CONNECT ones as `n` connections on the Unix
 * socket. Reports the CPU per dial of each proxy process (user + system, /proc/<pid>/stat) while opening.
 */
async function burst(ctx, n) {
  const via = ctx.via.kind === 'grpc' ? { ...ctx.via, oneChannel: true } : ctx.via;
  const r = await concurrency({ ...ctx, via }, { n, inFlight: n });
  const cpuPerDialMs = {};
  for (const [name, ms] of Object.entries(r.openCpuMs || {})) {
    cpuPerDialMs[name] = Number.isFinite(ms) && r.ok > 0 ? ms / r.ok : null;
  }
  return { ...r, cpuPerDialMs };
}

/**
 * Memory per idle open connection: warm up with a small batch, GC and measure, open `n` idle tunnels,
 * wait `settleMs`, GC and measure again; (after - before) / n for each process in ctx.pids, as RSS and as
 * its V8 parts (JS heap in use; external + array buffers, which hold socket and TLS buffers).
 */
async function idleMemory(ctx, { n, warmN, settleMs }) {
  await concurrency(ctx, { n: warmN, inFlight: Math.min(100, warmN) });
  await sleep(1000);
  const before = await gcMemoryOf(ctx.pids);
  const r = await concurrency(ctx, { n, inFlight: 500, settleMs, gcAtPeak: true });
  const perConnection = {};
  const breakdown = {};
  const per = (a, b, key) =>
    a && b && Number.isFinite(a[key]) && Number.isFinite(b[key]) ? (a[key] - b[key]) / r.ok : null;
  for (const name of Object.keys(ctx.pids)) {
    const b = before[name];
    const a = r.atPeak.memory[name];
    perConnection[name] = r.ok > 0 ? per(a, b, 'rss') : null;
    breakdown[name] = {
      rss: perConnection[name],
      heapUsed: per(a, b, 'heapUsed'),
      external: per(a, b, 'external'),
      arrayBuffers: per(a, b, 'arrayBuffers'),
      gc: !!(a?.gc && b?.gc),
    };
  }
  const kib = (v) => (v === null ? '?' : (v / 1024).toFixed(1));
  ctx.log(
    `idle memory per connection (after GC): ${Object.entries(breakdown)
      .map(([k, v]) => `${k} ${kib(v.rss)} KiB RSS (JS heap ${kib(v.heapUsed)}, external ${kib(v.external)})`)
      .join(', ')}`,
  );
  return { n, ok: r.ok, failed: r.failed, before, after: r.atPeak.memory, perConnection, breakdown, run: r };
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
    90_000 + 4 * windowMs,
  );
  const a = r.stalledReader;
  ctx.log(
    `stalled neighbour: B solo ${r.soloBefore.mbps.toFixed(1)}/${r.soloAfter ? r.soloAfter.mbps.toFixed(1) : '-'} MB/s (before/after), with A stalled ${r.withStalled.mbps.toFixed(1)} MB/s ` +
      `(ratio ${r.ratio === null ? '?' : r.ratio.toFixed(3)}); B per ${r.withStalled.timelineMBps.length} slices: ` +
      `[${r.withStalled.timelineMBps.map((v) => v.toFixed(0)).join(' ')}] MB/s; A ` +
      (a.endedAfterMs === null
        ? 'saw no close (it is not reading)'
        : `ended (${a.end}) ${(a.endedAfterMs / 1000).toFixed(1)} s after it paused`) +
      `; afterwards a new tunnel worked ` +
      (r.recovered
        ? `after ${(r.recoveryMs / 1000).toFixed(1)} s (${r.recoveryAttempts} attempts)`
        : `NEVER within ${(r.recoveryMs / 1000).toFixed(0)} s (${r.recoveryError})`),
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
    const before = await gcMemory(ctx.pid);
    const t0 = Date.now();
    swarm.send({ cmd: 'connect', n: n - warm, parallel });
    const r = await swarm.next((m) => m.event === 'connected', timeoutMs);
    let gauge = null;
    if (ctx.ready) {
      await waitFor(async () => (gauge = await ctx.ready()) >= n, 60_000, 250);
    }
    const connectMs = Date.now() - t0;
    await sleep(settleMs);
    const after = await gcMemory(ctx.pid);
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
  burst,
  idleMemory,
  stalledNeighbour,
};
