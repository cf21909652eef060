#!/usr/bin/env node
/**
 * `npm run bench`: starts real processes on loopback (konnectivity-server with its frontend on a Unix socket
 * and a TLS agent port, one konnectivity-agent, a target TCP server and a client load generator, each in
 * its own process) and measures, in both frontend modes, against a direct-TCP baseline taken in the same
 * run: single-stream throughput both ways, dial+echo latency, 1k/10k concurrent tunnels, a stalled
 * neighbour, peak RSS and memory per idle connection, and 1,000 agents on one server. Then the event-log
 * section: the same setup with the lifecycle log off, on NATS JetStream (a private nats-server) and on the
 * embedded file log, interleaved, and the on/off ratios; last, start-up with an empty and a 1 GiB embedded
 * log (--only=startup). See docs/benchmarks.md.
 *
 *   node scripts/bench.js [--quick] [--keep] [--modes=grpc,http-connect] [--only=direct,modes,swarm,eventlog,startup]
 *                         [--eventlog-rounds=N] [--eventlog-variants=off,nats,file,off-b]
 *
 * --quick runs small sizes (a smoke test, about a minute); --keep leaves the temp dir (logs) in place;
 * --only runs only the named sections (e.g. --only=eventlog); --modes also limits the event-log section.
 * Results: tables on stdout, bench-results/bench-<timestamp>.json and bench-results/latest.json
 * (latest-<sections>.json with --only).
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { MiB, GC_NODE_ARGS, ROOT_ENV, STATS_DIR_ENV, procMemory } = require('./bench/common');
const { ROOT, LineChild, killAll } = require('./bench/processes');
const {
  startServer,
  startAgent,
  READY_BACKENDS,
  ESTABLISHED,
  PENDING_DIALS,
  AGENT_ENDPOINTS,
} = require('./bench/cluster');
const scenarios = require('./bench/scenarios');
const { runEventLogSection } = require('./bench/eventLog');
const { buildRows, buildEventLogRows, EVENT_LOG_COLUMNS, formatTable } = require('./bench/report');
const { runStartupSection, buildStartupRows, STARTUP_COLUMNS } = require('./bench/startup');

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const KEEP = argv.includes('--keep');
const MODES = (argv.find((a) => a.startsWith('--modes=')) || '--modes=grpc,http-connect')
  .slice('--modes='.length)
  .split(',');
const SECTIONS = ['direct', 'modes', 'swarm', 'eventlog', 'startup'];
const ONLY = (argv.find((a) => a.startsWith('--only=')) || `--only=${SECTIONS.join(',')}`)
  .slice('--only='.length)
  .split(',');
for (const s of ONLY) {
  if (!SECTIONS.includes(s)) {
    console.error(`bench: unknown section ${JSON.stringify(s)} in --only; one of ${SECTIONS.join(', ')}`);
    process.exit(2);
  }
}
const FULL = SECTIONS.every((s) => ONLY.includes(s));

/** Sizes of the full run (about 5 minutes on 2 cores, 2 of them the event-log section) and of --quick. */
const CONFIG = QUICK
  ? {
      throughput: { bytes: 32 * MiB, runs: 1, capMs: 10_000, warmupBytes: 16 * MiB },
      latency: { n: 200, warmup: 20, capMs: 30_000 },
      concurrency: [100, 1000],
      inFlight: 500,
      burst: 1000,
      idle: { n: 200, warmN: 50, settleMs: 1000 },
      stall: { rampMs: 300, windowMs: 1500, settleMs: 500, stallAfterBytes: 4 * MiB },
      swarmN: 100,
      swarmWarm: 10,
      eventLog: {
        modes: ['http-connect'],
        warmupRounds: 1,
        rounds: 2,
        download: { bytes: 32 * MiB, capMs: 10_000, perRound: 2 },
        latency: { n: 100, warmup: 5, capMs: 20_000 },
        concurrent: { n: 200, inFlight: 100 },
      },
    }
  : {
      throughput: { bytes: 256 * MiB, runs: 3, capMs: 20_000, warmupBytes: 128 * MiB },
      latency: { n: 2000, warmup: 50, capMs: 60_000 },
      concurrency: [1000, 10_000],
      inFlight: 500,
      burst: 5000,
      idle: { n: 2000, warmN: 200, settleMs: 2000 },
      stall: { rampMs: 500, windowMs: 5000, settleMs: 1000, stallAfterBytes: 4 * MiB },
      swarmN: 1000,
      swarmWarm: 20,
      eventLog: {
        modes: ['http-connect', 'grpc'],
        warmupRounds: 1,
        rounds: 3,
        download: { bytes: 64 * MiB, capMs: 20_000, perRound: 3 },
        latency: { n: 300, warmup: 10, capMs: 30_000 },
        concurrent: { n: 1000, inFlight: 500 },
      },
    };
CONFIG.eventLog.modes = CONFIG.eventLog.modes.filter((m) => MODES.includes(m));
const numberArg = (name) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : undefined;
};
const listArg = (name) =>
  argv
    .find((x) => x.startsWith(`--${name}=`))
    ?.slice(name.length + 3)
    .split(',');
CONFIG.eventLog.rounds = numberArg('eventlog-rounds') ?? CONFIG.eventLog.rounds;
// off-b, a second cluster with the log off, is an A/A control: how far two identical clusters' figures
// differ in this run (the noise floor of the ratios). Only in the full run.
CONFIG.eventLog.variants =
  listArg('eventlog-variants') ?? (QUICK ? ['off', 'nats', 'file'] : ['off', 'nats', 'file', 'off-b']);
if (
  !CONFIG.eventLog.variants.includes('off') ||
  !CONFIG.eventLog.variants.every((v) => /^(off(-[a-z0-9]+)?|nats|file)$/.test(v)) ||
  !(CONFIG.eventLog.rounds >= 1)
) {
  console.error(
    'bench: --eventlog-variants takes off (required), nats, file and off-<x> controls; --eventlog-rounds >= 1',
  );
  process.exit(2);
}
CONFIG.swarmParallel = 50;

let tmpDir;
function cleanup() {
  killAll();
  if (tmpDir && !KEEP) fs.rmSync(tmpDir, { recursive: true, force: true, maxRetries: 3 });
  tmpDir = undefined;
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, stopping every child process`);
    cleanup();
    process.exit(130);
  });
}

const log = (scope) => (msg) => console.log(`[${scope}] ${msg}`);

function requireDist() {
  for (const f of [
    'main-server.js',
    'main-agent.js',
    'client/index.js',
    'tools/certs.js',
    'transport/grpcServices.js',
  ]) {
    if (!fs.existsSync(path.join(ROOT, 'dist', f))) {
      console.error(`bench: dist/${f} is missing; run \`npm run build\` first (or \`npm run bench\`)`);
      process.exit(1);
    }
  }
}

/**
 * Copies dist/, bin/ and inspector-ui/ into the temp dir and points every child at the copy: other work may rebuild
 * dist/ while the bench runs, and one run must measure one build. node_modules is linked, not copied.
 */
function snapshotCode(dir) {
  const snap = path.join(dir, 'code');
  fs.mkdirSync(snap);
  fs.cpSync(path.join(ROOT, 'dist'), path.join(snap, 'dist'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'bin'), path.join(snap, 'bin'), { recursive: true });
  // The server serves the inspector page from here and refuses to start without it.
  fs.cpSync(path.join(ROOT, 'inspector-ui'), path.join(snap, 'inspector-ui'), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(snap, 'node_modules'), 'dir');
  process.env[ROOT_ENV] = snap;
  return snap;
}

/** Which code was measured: the commit, whether src/ had local changes, and when dist/ was built. */
function codeInfo() {
  const git = (...args) => {
    try {
      return execFileSync('git', args, {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      return null;
    }
  };
  const status = git('status', '--porcelain', '--', 'src');
  return {
    commit: git('rev-parse', 'HEAD'),
    srcChangedFiles: status === null ? null : status.split('\n').filter(Boolean).length,
    distBuiltAt: fs.statSync(path.join(ROOT, 'dist/main-server.js')).mtime.toISOString(),
  };
}

/** 1, 5 and 15-minute load averages: other work on the machine makes every figure noisier. */
function loadAverage() {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

function machineInfo() {
  const limits = fs.readFileSync('/proc/self/limits', 'utf8');
  const nofile = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const sysctl = (p) => {
    try {
      return fs.readFileSync(p, 'utf8').trim().replace(/\s+/g, ' ');
    } catch {
      return null;
    }
  };
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryMiB: Math.round(os.totalmem() / MiB),
    node: process.version,
    kernel: os.release(),
    openFilesLimit: nofile ? { soft: nofile[1], hard: nofile[2] } : null,
    ephemeralPorts: sysctl('/proc/sys/net/ipv4/ip_local_port_range'),
    tcpTwReuse: sysctl('/proc/sys/net/ipv4/tcp_tw_reuse'),
    somaxconn: sysctl('/proc/sys/net/core/somaxconn'),
    loadAverageAtStart: loadAverage(),
  };
}

/** Runs `fn`, returning its value or `{error}` so one failed scenario does not end the run. */
async function attempt(scope, what, fn) {
  try {
    return await fn();
  } catch (err) {
    log(scope)(`${what} FAILED: ${err.message || err}`);
    return { error: String(err.message || err) };
  }
}

async function startTarget(scope) {
  const target = new LineChild('target.js', [], { name: `target (${scope})`, nodeArgs: GC_NODE_ARGS });
  await target.next((m) => m.event === 'ready', 10_000);
  return target;
}

async function runDirect() {
  const scope = 'direct';
  const target = await startTarget(scope);
  const ctx = { via: { kind: 'direct' }, target, pids: { target: target.pid }, log: log(scope) };
  const out = {};
  try {
    out.idleMemory = await attempt(scope, 'idle memory', () => scenarios.idleMemory(ctx, CONFIG.idle));
    out.latency = await attempt(scope, 'latency', () => scenarios.latency(ctx, CONFIG.latency));
    out.throughput = await attempt(scope, 'throughput', () => scenarios.throughput(ctx, CONFIG.throughput));
    out.concurrency = {};
    for (const n of CONFIG.concurrency) {
      out.concurrency[n] = await attempt(scope, `${n} concurrent`, () =>
        scenarios.concurrency(ctx, { n, inFlight: CONFIG.inFlight }),
      );
    }
    out.burst = await attempt(scope, `burst of ${CONFIG.burst}`, () => scenarios.burst(ctx, CONFIG.burst));
    out.stall = await attempt(scope, 'stalled neighbour', () =>
      scenarios.stalledNeighbour(ctx, CONFIG.stall),
    );
    out.peakRss = { target: procMemory(target.pid)?.hwm };
  } finally {
    await target.stop();
  }
  return out;
}

async function runMode(mode, dir, tls) {
  const scope = mode;
  const target = await startTarget(scope);
  let server;
  let agent;
  try {
    server = await startServer({ mode, dir, tls, name: `server-${mode}` });
    agent = await startAgent({ server, dir, tls, name: `agent-${mode}` });
  } catch (err) {
    if (agent) await agent.stop();
    if (server) await server.stop();
    await target.stop();
    throw err;
  }
  const ctx = {
    via: { kind: mode, socketPath: server.socketPath },
    target,
    pids: { server: server.pid, agent: agent.pid },
    log: log(scope),
    // Gauges that must be back at zero once every tunnel is closed.
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
  ctx.log(`server pid ${server.pid} (frontend ${server.socketPath}), agent pid ${agent.pid}`);
  const out = {};
  try {
    out.idleMemory = await attempt(scope, 'idle memory', () => scenarios.idleMemory(ctx, CONFIG.idle));
    out.latency = await attempt(scope, 'latency', () => scenarios.latency(ctx, CONFIG.latency));
    out.throughput = await attempt(scope, 'throughput', () => scenarios.throughput(ctx, CONFIG.throughput));
    out.concurrency = {};
    for (const n of CONFIG.concurrency) {
      out.concurrency[n] = await attempt(scope, `${n} concurrent`, () =>
        scenarios.concurrency(ctx, { n, inFlight: CONFIG.inFlight }),
      );
    }
    out.burst = await attempt(scope, `burst of ${CONFIG.burst}`, () => scenarios.burst(ctx, CONFIG.burst));
    out.stall = await attempt(scope, 'stalled neighbour', () =>
      scenarios.stalledNeighbour(ctx, CONFIG.stall),
    );
    out.peakRss = { server: procMemory(server.pid)?.hwm, agent: procMemory(agent.pid)?.hwm };
    out.backendsAtEnd = (await server.metrics())[READY_BACKENDS];
  } finally {
    out.exit = {
      server: server.child.exitCode ?? server.child.signalCode,
      agent: agent.child.exitCode ?? agent.child.signalCode,
    };
    await agent.stop();
    await server.stop();
    await target.stop();
    out.logBytes = {
      server: fs.statSync(server.logFile).size,
      agent: fs.statSync(agent.logFile).size,
    };
  }
  return out;
}

async function runSwarm(dir, tls) {
  const mode = 'grpc';
  const opts = {
    ca: tls.caCert,
    n: CONFIG.swarmN,
    warm: CONFIG.swarmWarm,
    parallel: CONFIG.swarmParallel,
    settleMs: 2000,
  };
  const out = { mode };
  out.baseline = await attempt('swarm', 'baseline', async () => {
    const base = new LineChild(
      'grpcBaseline.js',
      [JSON.stringify({ cert: tls.clusterCert, key: tls.clusterKey })],
      {
        name: 'grpc baseline',
        nodeArgs: GC_NODE_ARGS,
      },
    );
    try {
      const ready = await base.next((m) => m.event === 'ready', 10_000);
      return await scenarios.agentSwarm(
        { pid: base.pid, prefix: 'baseline', log: log('swarm baseline') },
        { ...opts, target: `127.0.0.1:${ready.port}` },
      );
    } finally {
      await base.stop();
    }
  });
  out.ours = await attempt('swarm', 'swarm', async () => {
    const server = await startServer({ mode, dir, tls, name: 'server-swarm' });
    try {
      const r = await scenarios.agentSwarm(
        {
          pid: server.pid,
          prefix: 'swarm',
          log: log('swarm'),
          ready: async () => (await server.metrics())[READY_BACKENDS] || 0,
        },
        { ...opts, target: `127.0.0.1:${server.agentPort}` },
      );
      r.peakRss = procMemory(server.pid)?.hwm;
      return r;
    } finally {
      await server.stop();
    }
  });
  return out;
}

async function main() {
  requireDist();
  const started = Date.now();
  const machine = machineInfo();
  const code = codeInfo();
  if (machine.loadAverageAtStart[0] > 0.5) {
    console.log(
      `warning: load average ${machine.loadAverageAtStart.join(' ')} before the bench starts; ` +
        'other work on this machine will make the figures noisy',
    );
  }
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'konnectivity-bench-'));
  snapshotCode(tmpDir);
  process.env[STATS_DIR_ENV] = path.join(tmpDir, 'stats');
  fs.mkdirSync(process.env[STATS_DIR_ENV]);
  const { generateTlsMaterial } = require(path.join(process.env[ROOT_ENV], 'dist/tools/certs.js'));
  console.log(
    `bench${QUICK ? ' --quick' : ''}: ${machine.cores} cores (${machine.cpu}), node ${machine.node}, ` +
      `open files limit ${machine.openFilesLimit?.soft}/${machine.openFilesLimit?.hard}`,
  );
  const tls = await generateTlsMaterial(path.join(tmpDir, 'tls'));
  const results = {
    startedAt: new Date(started).toISOString(),
    quick: QUICK,
    sections: ONLY,
    machine,
    code,
    config: CONFIG,
  };
  if (ONLY.includes('direct')) results.direct = await runDirect();
  if (ONLY.includes('modes')) {
    results.modes = {};
    for (const mode of MODES) {
      results.modes[mode] = await attempt(mode, 'setup', () => runMode(mode, tmpDir, tls));
    }
  }
  if (ONLY.includes('swarm')) results.swarm = await runSwarm(tmpDir, tls);
  if (ONLY.includes('eventlog') && CONFIG.eventLog.modes.length > 0) {
    results.eventLog = await attempt('eventlog', 'event-log section', () =>
      runEventLogSection({ dir: tmpDir, tls, cfg: CONFIG.eventLog, keep: KEEP, log: log('eventlog') }),
    );
  }
  if (ONLY.includes('startup')) {
    results.startup = await attempt('startup', 'start-up section', () =>
      runStartupSection({ dir: tmpDir, tls, log: log('startup'), logBytes: QUICK ? 256 * MiB : 1024 * MiB }),
    );
  }
  results.durationMs = Date.now() - started;
  results.loadAverageAtEnd = loadAverage();

  if (results.direct || results.modes || results.swarm) {
    const rows = buildRows(results, CONFIG);
    results.table = rows;
    console.log('');
    console.log(formatTable(rows));
  }
  if (results.eventLog) {
    const rows = results.eventLog.error
      ? [
          {
            scenario: 'event log',
            mode: '',
            on: `error: ${results.eventLog.error}`,
            off: '',
            ratio: '-',
            aa: '',
            target: '>= 0.95',
            result: 'MISS',
          },
        ]
      : buildEventLogRows(results.eventLog);
    results.eventLogTable = rows;
    console.log('');
    const withControl = rows.some((r) => r.aa);
    console.log(
      formatTable(rows, withControl ? EVENT_LOG_COLUMNS : EVENT_LOG_COLUMNS.filter(([k]) => k !== 'aa')),
    );
    if (!results.eventLog.error) {
      console.log(
        'event log: on/off for rates, off/on for latency (>= 0.95: at most ~5% worse); each ratio is the ' +
          'median of per-round paired ratios, not on/off of the two columns (medians of all samples); ' +
          (withControl
            ? 'A/A: the same ratio for a second cluster with the log off, the noise floor of the row ' +
              '(pass?/MISS?: A/A more than 5% from 1, so this run cannot resolve the target there); '
            : '') +
          `${CONFIG.eventLog.rounds} interleaved rounds after ${CONFIG.eventLog.warmupRounds} unrecorded; ` +
          `section ${(results.eventLog.durationMs / 1000).toFixed(0)} s, nats-server ${results.eventLog.nats.version}`,
      );
    }
  }
  if (results.startup && !results.startup.error) {
    results.startupTable = buildStartupRows(results.startup);
    console.log('');
    console.log(formatTable(results.startupTable, STARTUP_COLUMNS));
  }
  console.log(
    `\n${machine.cores} cores, ${machine.cpu}, node ${machine.node}; ` +
      `total ${(results.durationMs / 1000).toFixed(0)} s${QUICK ? ' (--quick sizes)' : ''}; ` +
      `load average at start ${machine.loadAverageAtStart.join(' ')}, at end ${results.loadAverageAtEnd.join(' ')}`,
  );

  const outDir = path.join(ROOT, 'bench-results');
  fs.mkdirSync(outDir, { recursive: true });
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const file = path.join(outDir, `bench-${stamp}.json`);
  fs.writeFileSync(file, json);
  const latest = FULL ? 'latest.json' : `latest-${ONLY.join('-')}.json`;
  fs.writeFileSync(path.join(outDir, latest), json);
  console.log(`results: ${path.relative(ROOT, file)} (and bench-results/${latest})`);
  if (KEEP) console.log(`logs kept in ${tmpDir}`);
}

main().then(
  () => {
    cleanup();
    process.exit(0);
  },
  (err) => {
    console.error(`bench failed: ${err.stack || err}`);
    cleanup();
    process.exit(1);
  },
);
