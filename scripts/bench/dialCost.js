#!/usr/bin/env node
/**
 * CPU per sequential dial, compared between builds in the same run (the machine is shared, so only
 * interleaved rounds compare fairly):
 *
 *   node scripts/bench/dialCost.js --roots=before=/tmp/old-checkout,after=. [--dials=1000] [--rounds=5]
 *        [--mode=http-connect|grpc] [--cpu-prof=<dir>] [--keep]
 *
 * Each root is a directory with `bin/` and a built `dist/` (a copy of an older build works). One target,
 * then per root a server + agent with the default embedded event log; in each round every root runs
 * `--dials` sequential dial + 64-byte echo + close cycles through the server's Unix-socket frontend (the
 * order rotating from round to round), and its server's and agent's CPU (user + system from /proc) is
 * counted from the start of the cycles until both event-log backlogs read 0. One unrecorded warm-up round
 * first. Prints one JSON object: per root, the median over rounds of CPU ms per 1,000 dials (server,
 * agent) and of the dial + echo p50, plus a direct-TCP p50 from the same run. `--cpu-prof` starts server
 * and agent under `node --cpu-prof` and stops them with SIGTERM so the profiles are written
 * (summarise them with scripts/profile-summary.js).
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ROOT_ENV, cpuMs, median, sleep, waitFor } = require('./common');
const { startAgent, startServer, EVENT_LOG_BACKLOG } = require('./cluster');
const { LineChild, killAll, stop } = require('./processes');
const scenarios = require('./scenarios');

/** Long enough for the embedded log's 5 ms batch delay and one fsync on a loaded disk. */
const DRAIN_TIMEOUT_MS = 30_000;

function parseArgs(argv) {
  const opts = { dials: 1000, rounds: 5, mode: 'http-connect', roots: [], cpuProf: '', keep: false };
  for (const a of argv) {
    const [k, v = ''] = a.replace(/^--/, '').split(/=(.*)/s);
    if (k === 'dials') opts.dials = Number(v);
    else if (k === 'rounds') opts.rounds = Number(v);
    else if (k === 'mode') opts.mode = v;
    else if (k === 'cpu-prof') opts.cpuProf = path.resolve(v);
    else if (k === 'keep') opts.keep = true;
    else if (k === 'roots')
      opts.roots = v.split(',').map((s) => {
        const [name, dir] = s.split('=');
        return { name, dir: path.resolve(dir) };
      });
    else throw new Error(`unknown option ${a}`);
  }
  if (opts.roots.length === 0) opts.roots = [{ name: 'this', dir: path.join(__dirname, '../..') }];
  return opts;
}

async function backlog(v) {
  const s = await v.server.eventLogMetrics();
  const a = await v.agent.eventLogMetrics();
  return (s[EVENT_LOG_BACKLOG] || 0) + (a[EVENT_LOG_BACKLOG] || 0);
}

async function startRoot(root, { mode, dir, tls, cpuProf }) {
  // cluster.js starts bin/ of the code root named by this variable, read at each start.
  process.env[ROOT_ENV] = root.dir;
  const prof = (who) =>
    cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.join(cpuProf, `${root.name}-${who}`)}`] : [];
  const server = await startServer({ mode, dir, tls, name: `dc-${root.name}`, nodeArgs: prof('server') });
  const agent = await startAgent({
    server,
    dir,
    tls,
    name: `dc-${root.name}-agent`,
    nodeArgs: prof('agent'),
  });
  return {
    name: root.name,
    server,
    agent,
    via: { kind: mode, socketPath: server.socketPath },
    pids: { server: server.pid, agent: agent.pid },
  };
}

async function round(v, target, dials) {
  const ports = await scenarios.listen(target);
  const cpu0 = { server: cpuMs(v.pids.server), agent: cpuMs(v.pids.agent) };
  const r = await scenarios.runClient(
    'latency',
    { via: v.via, address: `127.0.0.1:${ports.echo}`, n: dials, warmup: 0, capMs: 600_000 },
    900_000,
  );
  await sleep(20);
  if (!(await waitFor(async () => (await backlog(v)) === 0, DRAIN_TIMEOUT_MS, 20)))
    throw new Error(`${v.name}: event log backlog not drained`);
  const done = r.dialEcho.n;
  return {
    dials: done,
    failed: r.failed,
    p50: r.dialEcho.p50,
    serverMsPer1000: ((cpuMs(v.pids.server) - cpu0.server) * 1000) / done,
    agentMsPer1000: ((cpuMs(v.pids.agent) - cpu0.agent) * 1000) / done,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialcost-'));
  const { generateTlsMaterial } = require(path.join(opts.roots[0].dir, 'dist/tools/certs.js'));
  const tls = await generateTlsMaterial(path.join(dir, 'tls'));
  const target = new LineChild('target.js', [], { name: 'target' });
  await target.next((m) => m.event === 'ready', 10_000);
  const variants = [];
  const rounds = {};
  try {
    for (const root of opts.roots) {
      variants.push(await startRoot(root, { ...opts, dir, tls }));
      rounds[root.name] = [];
    }
    const direct = [];
    for (let i = 0; i <= opts.rounds; i++) {
      const order = variants.map((_, j) => variants[(i + j) % variants.length]);
      for (const v of order) {
        const r = await round(v, target, opts.dials);
        if (i > 0) rounds[v.name].push(r);
        process.stderr.write(`round ${i}${i === 0 ? ' (warm-up)' : ''} ${v.name}: ${JSON.stringify(r)}\n`);
      }
      const ports = await scenarios.listen(target);
      const d = await scenarios.runClient(
        'latency',
        { via: { kind: 'direct' }, address: `127.0.0.1:${ports.echo}`, n: 300, warmup: 10, capMs: 60_000 },
        120_000,
      );
      if (i > 0) direct.push(d.dialEcho.p50);
    }
    const summary = {
      date: new Date().toISOString(),
      loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
      mode: opts.mode,
      dialsPerRound: opts.dials,
      rounds: opts.rounds,
      directP50Ms: median(direct),
      roots: {},
    };
    for (const v of variants) {
      const rs = rounds[v.name];
      const p50 = median(rs.map((r) => r.p50));
      summary.roots[v.name] = {
        serverCpuMsPer1000: median(rs.map((r) => r.serverMsPer1000)),
        agentCpuMsPer1000: median(rs.map((r) => r.agentMsPer1000)),
        bothCpuMsPer1000: median(rs.map((r) => r.serverMsPer1000 + r.agentMsPer1000)),
        dialEchoP50Ms: p50,
        p50VsDirect: p50 / summary.directP50Ms,
        failed: rs.reduce((a, r) => a + r.failed, 0),
        rounds: rs,
      };
    }
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    // A clean exit, so that --cpu-prof writes its profiles (the agent's first SIGTERM only drains).
    for (const v of variants) {
      await stop(v.agent.child, 'SIGINT', 10_000);
      await stop(v.server.child, 'SIGTERM', 10_000);
    }
    await target.stop();
    killAll();
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`kept ${dir}\n`);
  }
}

for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => {
    killAll();
    process.exit(1);
  });

main().catch((err) => {
  process.stderr.write(`${(err && err.stack) || err}\n`);
  killAll();
  process.exit(1);
});
