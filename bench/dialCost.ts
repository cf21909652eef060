/**
 * `npm run bench:dial-cost`: CPU per sequential dial, compared between builds in the same run (the machine
 * is shared, so only interleaved rounds compare fairly):
 *
 *   npm run bench:dial-cost -- [--roots=before=/tmp/old-checkout,after=.] [--dials=1000] [--rounds=5]
 *        [--mode=http-connect|grpc] [--event-log=embedded,off] [--pause-ms=0] [--cpu-prof=<dir>] [--keep]
 *
 * Each root is a directory with `bin/` and a built `dist/` (a copy of an older build works); without
 * --roots, this checkout. One target, then per root a server + agent with the default embedded event log;
 * in each round every root runs `--dials` sequential dial + 64-byte echo + close cycles through the
 * server's Unix-socket frontend (the order rotating from round to round), and its server's and agent's CPU
 * (user + system from /proc) is counted from the start of the cycles until both event-log backlogs read 0.
 * One unrecorded warm-up round first. Prints one JSON object: per root, the median over rounds of CPU ms
 * per 1,000 dials (server, agent) and of the dial + echo p50, plus a direct-TCP p50 from the same run.
 * `--pause-ms` leaves the processes quiet that long before each round (a long-running server between bursts,
 * after its heap trim: src/heapTrim.ts).
 * `--event-log=embedded,off` runs each root twice, with its default log and with `--event-log=off` (the
 * latter named `<root>-off`), so that the log's share of a dial is measured in interleaved rounds.
 * `--cpu-prof` starts server and agent under `node --cpu-prof` and stops them so that the profiles are
 * written (summarise them with `npm run profile:summary`). `--keep` keeps the temp dir (logs, data).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FILE_LOG_DEFAULTS } from '../src/persistence/fileEventLog';
import type { Mode } from '../test/e2e/cluster';
import { stopAllProcesses } from '../test/helpers/processes';
import { makeTlsDir, type TlsDir } from '../test/helpers/tls';
import { waitFor } from '../test/helpers/waitFor';
import { parseBuilds, rotated, type Build } from './builds';
import { UsageError, cliPath, parseOptions, type OptionSpec } from './cliOptions';
import { runTool } from './runTool';
import { EVENT_LOG_BACKLOG, startAgent, startServer, type BenchAgent, type BenchServer } from './cluster';
import { STATS_DIR_ENV, cpuMs, errorText, launcherNodeFlags, median, sleep, wrapperBinDir } from './common';
import type { LineChild } from './lineChild';
import { addr, listen, runClient, startTarget, type LatencyResult } from './scenarios';

/** Long enough for the embedded log's batch delay and one fsync on a loaded disk. */
const DRAIN_TIMEOUT_MS = 30_000;
/**
 * The file log updates its backlog gauge per batch, after gathering one for its batch delay: an append of
 * the last cycle must reach the gauge before a backlog of 0 means drained.
 */
const BATCH_SETTLE_MS = FILE_LOG_DEFAULTS.batchDelayMs + 20;
/** A round's client may run this long (1,000 cycles take seconds; 2 cores under load, minutes). */
const ROUND_CAP_MS = 600_000;
/** Beyond the cap: the client's start-up and its result line. */
const CLIENT_SLACK_MS = 300_000;
/** The direct-TCP baseline of each round: enough samples for a stable p50, cheap next to a round. */
const DIRECT = { n: 300, warmup: 10, capMs: 60_000 };
/** A profiled process writes its profile on exit: give it time to finish before SIGKILL. */
const PROFILED_STOP_MS = 10_000;

const OPTIONS = {
  roots: { kind: 'string', default: '' },
  dials: { kind: 'number', default: 1000, min: 1 },
  rounds: { kind: 'number', default: 5, min: 1 },
  mode: { kind: 'string', default: 'http-connect', oneOf: ['http-connect', 'grpc'] },
  'event-log': { kind: 'string', default: 'embedded' },
  'pause-ms': { kind: 'number', default: 0, min: 0 },
  'cpu-prof': { kind: 'string', default: '' },
  keep: { kind: 'flag' },
} satisfies Record<string, OptionSpec>;

interface Variant {
  name: string;
  build: Build;
  server: BenchServer;
  agent: BenchAgent;
  via: { kind: Mode; socketPath: string };
  /** Started with --event-log=off: nothing to drain after a round. */
  logOff: boolean;
}

interface Round {
  dials: number;
  failed: number;
  p50: number;
  serverMsPer1000: number;
  agentMsPer1000: number;
}

/**
 * `node --cpu-prof` cannot come through NODE_OPTIONS and bin/ scripts start node by their shebang, so a
 * profiled build runs through wrappers that exec node with the flag (same pid: /proc CPU readings hold).
 */
function profiledBinDir(build: Build, name: string, profDir: string, tmp: string): string {
  return wrapperBinDir(path.join(tmp, `bin-${name}`), path.join(build.dir, 'bin'), (who, launcher) => [
    '--cpu-prof',
    `--cpu-prof-dir=${path.join(profDir, `${name}-${who}`)}`,
    ...launcherNodeFlags(launcher),
  ]);
}

async function startVariant(
  build: Build,
  o: { mode: Mode; tls: TlsDir; dir: string; cpuProf: string; logOff: boolean },
): Promise<Variant> {
  const name = o.logOff ? `${build.name}-off` : build.name;
  const binDir = o.cpuProf ? profiledBinDir(build, name, o.cpuProf, o.dir) : path.join(build.dir, 'bin');
  const c = { tls: o.tls, dir: o.dir };
  const extraArgs = o.logOff ? ['--event-log=off'] : [];
  const server = await startServer(c, { mode: o.mode, name: `dc-${name}`, binDir, extraArgs });
  const agent = await startAgent(c, server, { name: `dc-${name}-agent`, binDir, extraArgs });
  return {
    name,
    build,
    server,
    agent,
    via: { kind: o.mode, socketPath: server.socketPath },
    logOff: o.logOff,
  };
}

/** Server + agent backlog, or null while either cannot be read (a drain is only proven by two zeros). */
async function backlog(v: Variant): Promise<number | null> {
  const s = (await v.server.eventLogGauges())[EVENT_LOG_BACKLOG];
  const a = (await v.agent.eventLogGauges())[EVENT_LOG_BACKLOG];
  return s === null || s === undefined || a === null || a === undefined ? null : s + a;
}

/** CPU ms of a process, which must still be running: a figure from a dead process would be a lie. */
function cpuOf(pid: number | undefined, who: string): number {
  const ms = cpuMs(pid);
  if (ms === null) throw new Error(`${who} (pid ${pid}) is gone: no CPU reading`);
  return ms;
}

async function round(v: Variant, target: LineChild, dials: number): Promise<Round> {
  const ports = await listen(target);
  const name = v.name;
  const cpu0 = { server: cpuOf(v.server.pid, `${name} server`), agent: cpuOf(v.agent.pid, `${name} agent`) };
  const r = (await runClient(
    'latency',
    { via: v.via, address: addr(ports.echo), n: dials, warmup: 0, capMs: ROUND_CAP_MS },
    ROUND_CAP_MS + CLIENT_SLACK_MS,
  )) as LatencyResult;
  if (!v.logOff) {
    await sleep(BATCH_SETTLE_MS);
    await waitFor(async () => (await backlog(v)) === 0, {
      timeoutMs: DRAIN_TIMEOUT_MS,
      description: `${name}: event log backlogs of server and agent at 0`,
    });
  }
  const done = r.dialEcho.n;
  if (done === 0) throw new Error(`${name}: no dial succeeded (${r.failed} failed)`);
  return {
    dials: done,
    failed: r.failed,
    p50: r.dialEcho.p50 ?? NaN,
    serverMsPer1000: ((cpuOf(v.server.pid, `${name} server`) - cpu0.server) * 1000) / done,
    agentMsPer1000: ((cpuOf(v.agent.pid, `${name} agent`) - cpu0.agent) * 1000) / done,
  };
}

async function directP50(target: LineChild): Promise<number> {
  const ports = await listen(target);
  const d = (await runClient(
    'latency',
    { via: { kind: 'direct' }, address: addr(ports.echo), ...DIRECT },
    DIRECT.capMs + CLIENT_SLACK_MS,
  )) as LatencyResult;
  return d.dialEcho.p50 ?? NaN;
}

/** A clean exit, so that --cpu-prof writes its profiles (the agent's first SIGTERM only drains). */
async function stopVariant(v: Variant): Promise<void> {
  await v.agent.test.process.stop('SIGINT', PROFILED_STOP_MS);
  await v.server.test.process.stop('SIGTERM', PROFILED_STOP_MS);
}

async function main(): Promise<void> {
  const { options: opts } = parseOptions(process.argv.slice(2), OPTIONS);
  const builds = parseBuilds(opts.roots, ['bin/konnectivity-server', 'dist/main-server.js']);
  const mode = opts.mode as Mode;
  const cpuProf = opts['cpu-prof'] ? cliPath(opts['cpu-prof']) : '';
  const logs = opts['event-log'].split(',').map((l) => l.trim());
  if (logs.length === 0 || logs.some((l) => l !== 'embedded' && l !== 'off')) {
    throw new UsageError(
      `--event-log: expected embedded, off or both (comma-separated), got "${opts['event-log']}"`,
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialcost-'));
  process.env[STATS_DIR_ENV] = path.join(dir, 'stats');
  fs.mkdirSync(process.env[STATS_DIR_ENV]);
  const tls = await makeTlsDir();
  const variants: Variant[] = [];
  let target: LineChild | undefined;
  try {
    target = await startTarget('target');
    for (const build of builds) {
      for (const log of logs) {
        variants.push(await startVariant(build, { mode, tls, dir, cpuProf, logOff: log === 'off' }));
      }
    }
    const rounds = new Map<string, Round[]>(variants.map((v) => [v.name, []]));
    const direct: number[] = [];
    for (let i = 0; i <= opts.rounds; i++) {
      for (const v of rotated(variants, i)) {
        if (opts['pause-ms'] > 0) await sleep(opts['pause-ms']);
        const r = await round(v, target, opts.dials);
        if (i > 0) rounds.get(v.name)!.push(r);
        process.stderr.write(`round ${i}${i === 0 ? ' (warm-up)' : ''} ${v.name}: ${JSON.stringify(r)}\n`);
      }
      const p50 = await directP50(target);
      if (i > 0) direct.push(p50);
    }
    const directP50Ms = median(direct);
    const roots: Record<string, object> = {};
    for (const v of variants) {
      const rs = rounds.get(v.name)!;
      const p50 = median(rs.map((r) => r.p50));
      roots[v.name] = {
        serverCpuMsPer1000: median(rs.map((r) => r.serverMsPer1000)),
        agentCpuMsPer1000: median(rs.map((r) => r.agentMsPer1000)),
        bothCpuMsPer1000: median(rs.map((r) => r.serverMsPer1000 + r.agentMsPer1000)),
        dialEchoP50Ms: p50,
        p50VsDirect: p50 / directP50Ms,
        failed: rs.reduce((a, r) => a + r.failed, 0),
        rounds: rs,
      };
    }
    const summary = {
      date: new Date().toISOString(),
      loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
      mode,
      dialsPerRound: opts.dials,
      rounds: opts.rounds,
      directP50Ms,
      roots,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    for (const v of variants) await stopVariant(v).catch((err: unknown) => console.error(errorText(err)));
    await target?.stop();
    await stopAllProcesses();
    await tls.cleanup();
    if (opts.keep) process.stderr.write(`kept ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    if (cpuProf) process.stderr.write(`profiles under ${cpuProf}\n`);
  }
}

runTool('bench:dial-cost', main);
