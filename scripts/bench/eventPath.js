#!/usr/bin/env node
/**
 * CPU of what a server spends per dial outside its actors and sockets: the four lifecycle events of a
 * dial + echo + close (made by the recording factory, appended to the embedded file log, written and
 * fsynced in batches, folded into the live counters) and the metric updates of that dial (stream packet
 * counts, live actors, pending/established gauges, dial latency, the close). Builds are compared in
 * interleaved rounds, each build in a fresh process:
 *
 *   node scripts/bench/eventPath.js --roots=before=/tmp/old-checkout,after=. [--dials=3000] [--rounds=7]
 *
 * Dials are paced one per `--gap-ms` (default 1) so the log batches as it does under sequential dials,
 * not as under a flood. Prints the median over rounds of CPU µs per dial (user + system of the process,
 * idle pacing included, which is the same for every build) and each round's figures.
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const CHILD_ENV = 'KONNECTIVITY_EVENT_PATH_CHILD';

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function child(root, dials, gapMs) {
  const dist = (f) => require(path.join(root, 'dist', f));
  const { openServerLifecycleLog } = dist('persistence/lifecycleLog.js');
  const { ServerMetrics } = dist('observability/serverMetrics.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventpath-'));
  const metrics = new ServerMetrics();
  const quiet = { info() {}, warn() {}, error() {} };
  const lifecycle = await openServerLifecycleLog({
    eventLog: '',
    dataDir: dir,
    registry: metrics.registry,
    logger: quiet,
    serverId: 'bench-server',
    // File-log tuning to try (e.g. '{"batchDelayMs":20}'), the same for every build.
    ...(process.env.EVENT_PATH_FILE_TUNING ? { file: JSON.parse(process.env.EVENT_PATH_FILE_TUNING) } : {}),
  });
  await lifecycle.recovered;
  const events = lifecycle.events;
  const sleep = () => new Promise((r) => setTimeout(r, gapMs));
  const oneDial = (i) => {
    const key = { random: BigInt(i) * 7919n + 123456789n, destination: '127.0.0.1:10250' };
    metrics.actorStarted('dial');
    metrics.setPendingDials(1);
    events.dialRequested({ ...key, mode: 'http-connect', protocol: 'tcp', frontend: 'unix' });
    metrics.packet('to_agent', 'DIAL_REQ');
    metrics.packet('from_agent', 'DIAL_RSP');
    metrics.observeDialDuration(0.001);
    events.dialEstablished({ ...key, agentId: 'agent-1', connectID: BigInt(i + 1), latencyMs: 1 });
    metrics.actorStopped('dial');
    metrics.setPendingDials(0);
    metrics.actorStarted('connection');
    metrics.setEstablishedConnections(1);
    events.connOpened({ ...key, agentId: 'agent-1', connectID: BigInt(i + 1), mode: 'http-connect' });
    metrics.packet('to_agent', 'DATA');
    metrics.packet('from_agent', 'DATA');
    metrics.packet('to_agent', 'CLOSE_REQ');
    metrics.packet('from_agent', 'CLOSE_RSP');
    metrics.connectionClosed('frontend_close', 0.002);
    events.connClosed({
      ...key,
      agentId: 'agent-1',
      connectID: BigInt(i + 1),
      bytesToAgent: 64,
      bytesFromAgent: 64,
      durationMs: 2,
      closedBy: 'frontend',
      reason: 'close-req',
    });
    metrics.setEstablishedConnections(0);
    metrics.actorStopped('connection');
  };
  for (let i = 0; i < 200; i++) oneDial(i); // warm-up: JIT, first segment
  await lifecycle.log.flush();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < dials; i++) {
    oneDial(1000 + i);
    await sleep();
  }
  await lifecycle.log.flush();
  const cpu = process.cpuUsage(cpu0);
  const published = (
    await metrics.registry.getSingleMetric('konnectivity_ts_event_log_published_total').get()
  ).values[0].value;
  await lifecycle.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ usPerDial: (cpu.user + cpu.system) / dials, published }) + '\n');
}

function main() {
  const args = Object.fromEntries(
    process.argv.slice(2).map((a) => {
      const [k, v = ''] = a.replace(/^--/, '').split(/=(.*)/s);
      return [k, v];
    }),
  );
  const dials = Number(args.dials || 3000);
  const rounds = Number(args.rounds || 7);
  const gapMs = Number(args['gap-ms'] || 1);
  const roots = (args.roots || `this=${path.join(__dirname, '../..')}`).split(',').map((s) => {
    const [name, dir] = s.split('=');
    return { name, dir: path.resolve(dir) };
  });
  const results = Object.fromEntries(roots.map((r) => [r.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < roots.length; j++) {
      const root = roots[(round + j) % roots.length];
      const out = execFileSync(process.execPath, [__filename, root.dir, String(dials), String(gapMs)], {
        env: { ...process.env, [CHILD_ENV]: '1' },
        encoding: 'utf8',
      });
      const r = JSON.parse(out);
      results[root.name].push(r.usPerDial);
      process.stderr.write(
        `round ${round} ${root.name}: ${r.usPerDial.toFixed(1)} us/dial, ${r.published} events\n`,
      );
    }
  }
  const summary = {
    date: new Date().toISOString(),
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    dials,
    rounds,
    gapMs,
    medianUsPerDial: Object.fromEntries(roots.map((r) => [r.name, median(results[r.name])])),
    rounds_us: results,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

if (process.env[CHILD_ENV]) {
  const [root, dials, gapMs] = process.argv.slice(2);
  child(root, Number(dials), Number(gapMs)).catch((err) => {
    process.stderr.write(`${(err && err.stack) || err}\n`);
    process.exit(1);
  });
} else {
  main();
}
