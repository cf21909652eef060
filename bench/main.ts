/**
 * `npm run bench`: starts real processes on loopback (konnectivity-server with its frontend on a Unix socket
 * and a TLS agent port, one konnectivity-agent, a target TCP server and a client load generator, each in
 * its own process, through the test harness in test/helpers and test/e2e/cluster.ts) and measures, in both
 * frontend modes, against a direct-TCP baseline taken in the same run: single-stream throughput both ways
 * with CPU per MiB, dial+echo latency with CPU per dial, idle RSS, 1k/10k concurrent tunnels, a burst of
 * 5,000 dials with a 1 KiB echo, a stalled neighbour, peak RSS and memory per idle connection; then 1,000
 * and 10,000 agents on one server (own connection each) and 1,000 agent streams on one connection, against
 * a bare grpc-js server. Then the event-log section: the same setup with the lifecycle log off, on NATS
 * JetStream (a private nats-server) and on the embedded file log, interleaved, and the on/off ratios; last,
 * start-up with an empty and a 1 GiB embedded log (--only=startup). See docs/benchmarks.md.
 *
 *   npm run bench -- [--quick] [--keep] [--modes=grpc,http-connect] [--only=direct,modes,swarm,eventlog,startup]
 *                    [--eventlog-rounds=N] [--eventlog-variants=off,nats,file,off-b]
 *
 * --quick runs small sizes (a smoke test, a few minutes); --keep leaves the temp dir (data dirs) in place;
 * --only runs only the named sections (e.g. --only=eventlog); --modes also limits the event-log section.
 * Results: tables on stdout, bench-results/bench-<timestamp>.json and bench-results/latest.json
 * (latest-<sections>.json with --only).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NATIVE_MEMORY_FILE } from '../src/nativeMemory';
import type { Mode } from '../test/e2e/cluster';
import { stopAllProcesses } from '../test/helpers/processes';
import { makeTlsDir, type TlsDir } from '../test/helpers/tls';
import { BIN_DIR_ENV } from './cluster';
import { MiB, STATS_DIR_ENV, errorText, openFilesLimit } from './common';
import { runEventLogSection, type EventLogConfig, type EventLogSection } from './eventLog';
import { EVENT_LOG_COLUMNS, buildEventLogRows } from './eventLogReport';
import { runDirect, runMode, type ModeConfig, type ModeResults } from './modes';
import { buildRows, formatTable } from './report';
import { attempt } from './scenarios';
import { STARTUP_COLUMNS, buildStartupRows, runStartupSection, type StartupResult } from './startup';
import { runSwarmSection, type SwarmSection, type SwarmShape } from './swarmSection';

/** The repository root, from bench-build/bench/main.js. */
const ROOT = path.join(__dirname, '../..');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const KEEP = argv.includes('--keep');
const listArg = (name: string): string[] | undefined =>
  argv
    .find((x) => x.startsWith(`--${name}=`))
    ?.slice(name.length + 3)
    .split(',');
const numberArg = (name: string): number | undefined => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : undefined;
};
const ALL_MODES: Mode[] = ['grpc', 'http-connect'];
const MODES = (listArg('modes') ?? ALL_MODES) as Mode[];
const SECTIONS = ['direct', 'modes', 'swarm', 'eventlog', 'startup'];
const ONLY = listArg('only') ?? SECTIONS;

function usage(problem: string): never {
  console.error(`bench: ${problem}`);
  process.exit(2);
}
for (const s of ONLY) {
  if (!SECTIONS.includes(s))
    usage(`unknown section ${JSON.stringify(s)} in --only; one of ${SECTIONS.join(', ')}`);
}
for (const m of MODES) {
  if (!ALL_MODES.includes(m))
    usage(`unknown mode ${JSON.stringify(m)} in --modes; one of ${ALL_MODES.join(', ')}`);
}
const FULL = SECTIONS.every((s) => ONLY.includes(s));

interface Config extends ModeConfig {
  swarm: { shapes: SwarmShape[]; warm: number; parallel: number; settleMs: number };
  eventLog: EventLogConfig;
}

/** Sizes of the full run (about 10 minutes on 2 cores, 2 of them the event-log section) and of --quick. */
const CONFIG: Config = QUICK
  ? {
      throughput: { bytes: 32 * MiB, runs: 1, capMs: 10_000, warmupBytes: 16 * MiB },
      latency: { n: 200, warmup: 20, capMs: 30_000 },
      concurrency: [100, 1000],
      inFlight: 500,
      burst: 1000,
      burstEchoBytes: 1024,
      idle: { n: 200, warmN: 50, settleMs: 1000 },
      stall: { rampMs: 300, windowMs: 1500, settleMs: 500, stallAfterBytes: 4 * MiB },
      swarm: {
        shapes: [
          { n: 100, shared: false },
          { n: 100, shared: true },
        ],
        warm: 10,
        parallel: 50,
        settleMs: 2000,
      },
      eventLog: {
        modes: ['http-connect'],
        warmupRounds: 1,
        rounds: 2,
        variants: ['off', 'nats', 'file'],
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
      burstEchoBytes: 1024,
      // warmN: 1,000 dials fill both processes' bounded event feed (2,000 events, src/inspector/eventFeed.ts)
      // before the first reading, so that the figure is what each further connection costs.
      idle: { n: 2000, warmN: 1000, settleMs: 20_000 },
      stall: { rampMs: 500, windowMs: 5000, settleMs: 1000, stallAfterBytes: 4 * MiB },
      swarm: {
        shapes: [
          { n: 1000, shared: false },
          { n: 10_000, shared: false },
          { n: 1000, shared: true },
        ],
        warm: 20,
        parallel: 50,
        settleMs: 2000,
      },
      eventLog: {
        modes: ['http-connect', 'grpc'],
        warmupRounds: 1,
        rounds: 3,
        // off-b, a second cluster with the log off, is an A/A control: how far two identical clusters'
        // figures differ in this run (the noise floor of the ratios). Only in the full run.
        variants: ['off', 'nats', 'file', 'off-b'],
        download: { bytes: 64 * MiB, capMs: 20_000, perRound: 3 },
        latency: { n: 300, warmup: 10, capMs: 30_000 },
        concurrent: { n: 1000, inFlight: 500 },
      },
    };
CONFIG.eventLog.modes = CONFIG.eventLog.modes.filter((m) => MODES.includes(m));
CONFIG.eventLog.rounds = numberArg('eventlog-rounds') ?? CONFIG.eventLog.rounds;
CONFIG.eventLog.variants = listArg('eventlog-variants') ?? CONFIG.eventLog.variants;
if (
  !CONFIG.eventLog.variants.includes('off') ||
  !CONFIG.eventLog.variants.every((v) => /^(off(-[a-z0-9]+)?|nats|file)$/.test(v)) ||
  !(CONFIG.eventLog.rounds >= 1)
) {
  usage('--eventlog-variants takes off (required), nats, file and off-<x> controls; --eventlog-rounds >= 1');
}

let tmpDir: string | undefined;
let tls: TlsDir | undefined;
function cleanup(): void {
  if (tmpDir && !KEEP) fs.rmSync(tmpDir, { recursive: true, force: true, maxRetries: 3 });
  tmpDir = undefined;
}
// The harness kills every process it started when this one exits (test/helpers/processes.ts).
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, stopping every child process`);
    process.exit(130);
  });
}

const log =
  (scope: string) =>
  (msg: string): void =>
    console.log(`[${scope}] ${msg}`);

function requireDist(): void {
  for (const f of ['main-server.js', 'main-agent.js']) {
    if (!fs.existsSync(path.join(ROOT, 'dist', f))) {
      console.error(`bench: dist/${f} is missing; run \`npm run build\` first (or \`npm run bench\`)`);
      process.exit(1);
    }
  }
}

/**
 * Copies what the package ships (bin/, dist/, the inspector page, the protos, the native helper) into the
 * temp dir and points every server and agent at the copy: other work may rebuild dist/ while the bench runs,
 * and one run must measure one build. node_modules is linked.
 */
function snapshotCode(dir: string): void {
  const snap = path.join(dir, 'code');
  fs.mkdirSync(snap);
  // The native memory helper too (docs/memory.md): without it the binaries keep what a transfer left.
  for (const part of ['dist', 'bin', 'inspector-ui', 'proto', NATIVE_MEMORY_FILE]) {
    if (fs.existsSync(path.join(ROOT, part))) {
      fs.mkdirSync(path.dirname(path.join(snap, part)), { recursive: true });
      fs.cpSync(path.join(ROOT, part), path.join(snap, part), { recursive: true });
    }
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(snap, 'node_modules'), 'dir');
  process.env[BIN_DIR_ENV] = path.join(snap, 'bin');
}

/** Which code was measured: the commit, whether src/ had local changes, and when dist/ was built. */
function codeInfo() {
  const git = (...args: string[]): string | null => {
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
    nativeMemoryHelper: fs.existsSync(path.join(ROOT, NATIVE_MEMORY_FILE)),
  };
}

/** 1, 5 and 15-minute load averages: other work on the machine makes every figure noisier. */
const loadAverage = (): number[] =>
  fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

function machineInfo() {
  const sysctl = (p: string): string | null => {
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
    openFilesLimit: openFilesLimit(),
    ephemeralPorts: sysctl('/proc/sys/net/ipv4/ip_local_port_range'),
    tcpTwReuse: sysctl('/proc/sys/net/ipv4/tcp_tw_reuse'),
    somaxconn: sysctl('/proc/sys/net/core/somaxconn'),
    loadAverageAtStart: loadAverage(),
  };
}

interface Results {
  startedAt: string;
  quick: boolean;
  sections: string[];
  machine: ReturnType<typeof machineInfo>;
  code: ReturnType<typeof codeInfo>;
  config: Config;
  direct?: ModeResults;
  modes?: Record<string, ModeResults | { error: string }>;
  swarm?: SwarmSection;
  eventLog?: EventLogSection | { error: string };
  startup?: StartupResult | { error: string };
  durationMs?: number;
  loadAverageAtEnd?: number[];
  table?: Record<string, string>[];
  eventLogTable?: Record<string, string>[];
  startupTable?: Record<string, string>[];
}

async function main(): Promise<void> {
  requireDist();
  const started = Date.now();
  const machine = machineInfo();
  const code = codeInfo();
  if ((machine.loadAverageAtStart[0] ?? 0) > 0.5) {
    console.log(
      `warning: load average ${machine.loadAverageAtStart.join(' ')} before the bench starts; ` +
        'other work on this machine will make the figures noisy',
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'konnectivity-bench-'));
  tmpDir = dir;
  snapshotCode(dir);
  process.env[STATS_DIR_ENV] = path.join(dir, 'stats');
  fs.mkdirSync(path.join(dir, 'stats'));
  console.log(
    `bench${QUICK ? ' --quick' : ''}: ${machine.cores} cores (${machine.cpu}), node ${machine.node}, ` +
      `open files limit ${machine.openFilesLimit?.soft}/${machine.openFilesLimit?.hard}, ` +
      `native memory helper ${code.nativeMemoryHelper ? 'built' : 'MISSING (npm install builds it)'}`,
  );
  tls = await makeTlsDir();
  const c = { tls, dir };
  const results: Results = {
    startedAt: new Date(started).toISOString(),
    quick: QUICK,
    sections: ONLY,
    machine,
    code,
    config: CONFIG,
  };
  if (ONLY.includes('direct')) results.direct = await runDirect(CONFIG, log('direct'));
  if (ONLY.includes('modes')) {
    results.modes = {};
    for (const mode of MODES) {
      results.modes[mode] = await attempt(log(mode), 'setup', () => runMode(mode, c, CONFIG, log(mode)));
    }
  }
  if (ONLY.includes('swarm')) results.swarm = await runSwarmSection(c, CONFIG.swarm, log);
  if (ONLY.includes('eventlog') && CONFIG.eventLog.modes.length > 0) {
    results.eventLog = await attempt(log('eventlog'), 'event-log section', () =>
      runEventLogSection(c, CONFIG.eventLog, log('eventlog')),
    );
  }
  if (ONLY.includes('startup')) {
    results.startup = await attempt(log('startup'), 'start-up section', () =>
      runStartupSection(c, log('startup'), QUICK ? 256 * MiB : 1024 * MiB),
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
  const el = results.eventLog;
  if (el) {
    const rows =
      'error' in el
        ? [
            {
              scenario: 'event log',
              mode: '',
              on: `error: ${el.error}`,
              off: '',
              ratio: '-',
              aa: '',
              target: '>= 0.95',
              result: 'MISS',
            },
          ]
        : buildEventLogRows(el);
    results.eventLogTable = rows;
    console.log('');
    const withControl = rows.some((r) => r.aa);
    console.log(
      formatTable(rows, withControl ? EVENT_LOG_COLUMNS : EVENT_LOG_COLUMNS.filter(([k]) => k !== 'aa')),
    );
    if (!('error' in el)) {
      console.log(
        'event log: on/off for rates, off/on for latency (>= 0.95: at most ~5% worse); each ratio is the ' +
          'median of per-round paired ratios, not on/off of the two columns (medians of all samples); ' +
          (withControl
            ? 'A/A: the same ratio for a second cluster with the log off, the noise floor of the row ' +
              '(pass?/MISS?: A/A more than 5% from 1, so this run cannot resolve the target there); '
            : '') +
          `${CONFIG.eventLog.rounds} interleaved rounds after ${CONFIG.eventLog.warmupRounds} unrecorded; ` +
          `section ${(el.durationMs / 1000).toFixed(0)} s, nats-server ${el.nats.version}`,
      );
    }
  }
  const su = results.startup;
  if (su && !('error' in su)) {
    results.startupTable = buildStartupRows(su);
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
  if (KEEP) console.log(`temp dir kept: ${tmpDir}`);
}

async function finish(code: number): Promise<never> {
  await stopAllProcesses().catch((err: unknown) => console.error(`bench: ${errorText(err)}`));
  await tls?.cleanup();
  cleanup();
  process.exit(code);
}

main().then(
  () => finish(0),
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return finish(1);
  },
);
