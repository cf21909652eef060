/**
 * `npm run bench:swarm-cost`: the server's CPU and RSS per agent stream, for one swarm shape, compared
 * between builds in the same run (the machine is shared, so only interleaved rounds compare fairly):
 *
 *   npm run bench:swarm-cost -- [--roots=before=/tmp/old-checkout,after=.] [--agents=1000] [--shared]
 *        [--rounds=5] [--cpu-prof=<dir>] [--heap-snapshot=<dir>] [--keep]
 *
 * Each root is a directory with `bin/` and a built `dist/`; without --roots, this checkout. In each round
 * every root (the order rotating from round to round) gets a fresh server (gRPC mode, default embedded event
 * log) and the swarm of the "Agents on one server" section (swarmSection.ts): 20 agents first, GC and RSS,
 * then the rest 50 at a time while the server's CPU (user + system from /proc) is counted, until its
 * ready-backends gauge reads `--agents`; GC and RSS again. `--shared` puts every agent stream on one HTTP/2
 * connection; without it each agent has its own TLS + HTTP/2 connection. Prints one JSON object: per root,
 * the medians over rounds of CPU ms and KiB per agent. `--cpu-prof` runs the servers under
 * `node --cpu-prof` (summarise with `npm run profile:summary -- <file> --per=<agents>`); `--heap-snapshot`
 * has each server write a heap snapshot into `<dir>/<root>-<round>/` while it holds every agent.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stopAllProcesses } from '../test/helpers/processes';
import { makeTlsDir } from '../test/helpers/tls';
import { waitFor } from '../test/helpers/waitFor';
import { parseBuilds, rotated, type Build } from './builds';
import { UsageError, cliPath, parseOptions, type OptionSpec } from './cliOptions';
import { runTool } from './runTool';
import { READY_BACKENDS, startServer } from './cluster';
import { STATS_DIR_ENV, fdLimitProblem, median } from './common';
import { agentSwarm, type SwarmRun } from './swarmSection';

/** Agents connected before the first RSS reading: the server's one-off costs of a first agent stay out. */
const WARM_AGENTS = 20;
/** Agents connecting at once, as in the bench's swarm section. */
const PARALLEL = 50;
/** After the gauge reads N: lets the last streams' deferred work (event log batches) finish before GC. */
const SETTLE_MS = 2_000;
/** Writing a heap snapshot of a server holding thousands of agents takes seconds on a loaded machine. */
const HEAP_SNAPSHOT_TIMEOUT_MS = 120_000;
/** The signal that makes a server write a heap snapshot (`--heapsnapshot-signal`): neither binary uses it. */
const HEAP_SNAPSHOT_SIGNAL = 'SIGWINCH';
/** A profiled server writes its profile on exit: give it time before SIGKILL. */
const PROFILED_STOP_MS = 10_000;

const OPTIONS = {
  roots: { kind: 'string', default: '' },
  agents: { kind: 'number', default: 1000, min: WARM_AGENTS + 1 },
  shared: { kind: 'flag' },
  rounds: { kind: 'number', default: 5, min: 1 },
  'cpu-prof': { kind: 'string', default: '' },
  'heap-snapshot': { kind: 'string', default: '' },
  keep: { kind: 'flag' },
} satisfies Record<string, OptionSpec>;

/** A server bin/ that execs node with --cpu-prof (same pid, so the /proc readings hold). */
function profiledBinDir(build: Build, profDir: string, tmp: string, round: number): string {
  const dir = path.join(tmp, `bin-${build.name}-${round}`);
  fs.mkdirSync(dir);
  const out = path.join(profDir, `${build.name}-server`);
  const script =
    '#!/bin/sh\n' +
    `exec ${JSON.stringify(process.execPath)} --cpu-prof --cpu-prof-dir=${JSON.stringify(out)} ` +
    `${JSON.stringify(path.join(build.dir, 'bin', 'konnectivity-server'))} "$@"\n`;
  fs.writeFileSync(path.join(dir, 'konnectivity-server'), script, { mode: 0o755 });
  return dir;
}

/** Asks the server for a heap snapshot and waits until the file is complete (its size stops changing). */
async function heapSnapshot(pid: number | undefined, dir: string): Promise<void> {
  if (pid === undefined) return;
  process.kill(pid, HEAP_SNAPSHOT_SIGNAL);
  let last = -1;
  await waitFor(
    () => {
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot'));
      const size = files.length === 1 ? fs.statSync(path.join(dir, files[0]!)).size : -1;
      const done = size > 0 && size === last;
      last = size;
      return done;
    },
    { timeoutMs: HEAP_SNAPSHOT_TIMEOUT_MS, intervalMs: 1_000, description: `a heap snapshot in ${dir}` },
  );
}

interface Row {
  cpuMsPerAgent: number | null;
  kibPerAgent: number | null;
  connected: number;
  failed: number;
  connectMs: number;
}

const row = (r: SwarmRun): Row => ({
  cpuMsPerAgent: r.cpuMsPerAgent,
  kibPerAgent: r.perAgent === null ? null : r.perAgent / 1024,
  connected: r.connected,
  failed: r.failed,
  connectMs: r.connectMs,
});

async function main(): Promise<void> {
  const { options: opts } = parseOptions(process.argv.slice(2), OPTIONS);
  const builds = parseBuilds(opts.roots, ['bin/konnectivity-server', 'dist/main-server.js']);
  const problem = opts.shared ? null : fdLimitProblem(opts.agents, 'agents');
  if (problem) throw new UsageError(problem);
  const cpuProf = opts['cpu-prof'] ? cliPath(opts['cpu-prof']) : '';
  const heapDir = opts['heap-snapshot'] ? cliPath(opts['heap-snapshot']) : '';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swarmcost-'));
  process.env[STATS_DIR_ENV] = path.join(dir, 'stats');
  fs.mkdirSync(process.env[STATS_DIR_ENV]);
  const tls = await makeTlsDir();
  try {
    const rounds = new Map<string, Row[]>(builds.map((b) => [b.name, []]));
    for (let i = 0; i < opts.rounds; i++) {
      for (const build of rotated(builds, i)) {
        const binDir = cpuProf ? profiledBinDir(build, cpuProf, dir, i) : path.join(build.dir, 'bin');
        const snapDir = heapDir ? path.join(heapDir, `${build.name}-${i}`) : '';
        if (snapDir) fs.mkdirSync(snapDir, { recursive: true });
        const server = await startServer(
          { tls, dir },
          {
            mode: 'grpc',
            name: `sc-${build.name}-${i}`,
            binDir,
            ...(snapDir
              ? { nodeOptions: `--heapsnapshot-signal=${HEAP_SNAPSHOT_SIGNAL} --diagnostic-dir=${snapDir}` }
              : {}),
          },
        );
        try {
          const r = await agentSwarm(
            {
              pid: server.pid,
              prefix: `sc-${build.name}`,
              log: (m) => process.stderr.write(`round ${i} ${build.name}: ${m}\n`),
              ready: async () => (await server.gauges())[READY_BACKENDS] ?? 0,
              ...(snapDir ? { whileHeld: () => heapSnapshot(server.pid, snapDir) } : {}),
            },
            {
              target: `127.0.0.1:${server.agentPort}`,
              ca: tls.caCert,
              n: opts.agents,
              warm: WARM_AGENTS,
              parallel: PARALLEL,
              settleMs: SETTLE_MS,
              shared: opts.shared,
            },
          );
          rounds.get(build.name)!.push(row(r));
        } finally {
          await server.test.process.stop('SIGTERM', PROFILED_STOP_MS);
        }
      }
    }
    const roots: Record<string, object> = {};
    for (const b of builds) {
      const rs = rounds.get(b.name)!;
      const figures = (pick: (r: Row) => number | null): number =>
        median(rs.map(pick).filter((x): x is number => x !== null));
      roots[b.name] = {
        cpuMsPerAgent: figures((r) => r.cpuMsPerAgent),
        kibPerAgent: figures((r) => r.kibPerAgent),
        rounds: rs,
      };
    }
    const summary = {
      date: new Date().toISOString(),
      loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
      agents: opts.agents,
      shared: opts.shared,
      rounds: opts.rounds,
      roots,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await stopAllProcesses();
    await tls.cleanup();
    if (opts.keep) process.stderr.write(`kept ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    if (cpuProf) process.stderr.write(`profiles under ${cpuProf}\n`);
  }
}

runTool('bench:swarm-cost', main);
