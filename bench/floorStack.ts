/**
 * The server + agent pairs `npm run bench:floor` compares: the floor (bench/floor/, Node's own cost) and
 * ours (bin/konnectivity-server + agent as bench/cluster.ts starts them) with the event log off or on its
 * default embedded file log. Every process preloads gcHook.js, so memory is read after a full GC.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Mode } from '../test/e2e/cluster';
import { startProcess, type ManagedProcess } from '../test/helpers/processes';
import type { TlsDir } from '../test/helpers/tls';
import { waitFor } from '../test/helpers/waitFor';
import {
  EVENT_LOG_BACKLOG,
  startAgent,
  startServer,
  type BenchAgent,
  type BenchServer,
  tunnelGauges,
} from './cluster';
import { launcherNodeFlags, wrapperBinDir } from './common';
import { HELPER_READY_MS, type Pids } from './scenarios';
import type { Via } from './scenarioTypes';

export type VariantName = 'direct' | 'floor' | 'ours-off' | 'ours-log';
export const VARIANTS: readonly VariantName[] = ['direct', 'floor', 'ours-off', 'ours-log'];

/** A profiled process writes its profile on exit: give it time to finish before SIGKILL. */
const PROFILED_STOP_MS = 10_000;
/** Ours' embedded log gathers a batch, then fsyncs; on a loaded disk a drain may take seconds. */
const DRAIN_TIMEOUT_MS = 30_000;

export interface Stack {
  readonly name: VariantName;
  readonly via: Via;
  readonly pids: Pids;
  /** Gauges that must read 0 once every tunnel closed (ours only: the floor has no metrics). */
  readonly gauges?: () => Promise<Record<string, number | null>>;
  /** Resolves once the event log holds everything the last scenario produced (ours-log only). */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  mode: Mode;
  tls: TlsDir;
  dir: string;
  /** Where `--cpu-prof` profiles go; empty: not profiled. */
  cpuProf: string;
  /** The compiled bench/ (floor/*.js, gcHook.js); this file's own directory by default. */
  benchDir?: string;
}

/** Resolves with the first stdout JSON line of `p` whose `event` is `event`. */
function lineEvent(p: ManagedProcess, event: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${p.name} did not report ${event} within ${HELPER_READY_MS} ms:\n${p.output()}`));
    }, HELPER_READY_MS);
    const off = p.onStdoutLine((line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (msg.event !== event) return;
      clearTimeout(timer);
      off();
      resolve(msg);
    });
  });
}

/** bin/konnectivity-server's Node flags, from bench/ (a test) or bench-build/bench/ (the tool). */
function serverLauncherFlags(): string[] {
  const near = path.join(__dirname, '..', 'bin', 'konnectivity-server');
  return launcherNodeFlags(
    fs.existsSync(near) ? near : path.join(__dirname, '..', '..', 'bin', 'konnectivity-server'),
  );
}

/** node [--cpu-prof ...] <the launchers' flags> bench-build/bench/floor/<who>.js <json>, gcHook.js in NODE_OPTIONS */
function startFloorProcess(who: 'server' | 'agent', args: object, o: StackOptions): ManagedProcess {
  const prof = o.cpuProf
    ? ['--cpu-prof', `--cpu-prof-dir=${path.join(o.cpuProf, `floor-${o.mode}-${who}`)}`]
    : [];
  const benchDir = o.benchDir ?? __dirname;
  // What gcHookEnv() sets, but from benchDir: a test runs this file from source, not from bench-build.
  const env = { NODE_OPTIONS: `--expose-gc --require ${path.join(benchDir, 'gcHook.js')}` };
  return startProcess(
    process.execPath,
    // The heap flags of bin/konnectivity-*'s first line: the comparison is of code, not of V8 settings.
    [...prof, ...serverLauncherFlags(), path.join(benchDir, 'floor', `${who}.js`), JSON.stringify(args)],
    { name: `floor ${who} (${o.mode})`, stdin: 'pipe', env },
  );
}

export async function startFloor(o: StackOptions): Promise<Stack> {
  const httpSocket = path.join(o.dir, `floor-${o.mode}-http.sock`);
  const grpcSocket = path.join(o.dir, `floor-${o.mode}-grpc.sock`);
  const server = startFloorProcess(
    'server',
    { cert: o.tls.clusterCert, key: o.tls.clusterKey, httpSocket, grpcSocket },
    o,
  );
  const linked = lineEvent(server, 'agent');
  const { agentPort } = await lineEvent(server, 'ready');
  const agent = startFloorProcess(
    'agent',
    { port: agentPort, ca: o.tls.caCert, cert: o.tls.agentCert, key: o.tls.agentKey },
    o,
  );
  await Promise.all([lineEvent(agent, 'ready'), linked]);
  return {
    name: 'floor',
    via: { kind: o.mode, socketPath: o.mode === 'grpc' ? grpcSocket : httpSocket },
    pids: { server: server.pid, agent: agent.pid },
    drained: async () => undefined,
    // SIGINT: node's default handler exits through the path that writes --cpu-prof profiles.
    stop: async () => {
      await agent.stop('SIGINT', PROFILED_STOP_MS);
      await server.stop('SIGINT', PROFILED_STOP_MS);
    },
  };
}

/**
 * `node --cpu-prof` cannot come through NODE_OPTIONS and bin/ scripts start node by their shebang, so a
 * profiled build runs through wrappers that exec node with the flag (same pid: /proc CPU readings hold).
 */
function profiledBinDir(name: string, o: StackOptions): string {
  const dir = path.join(o.dir, `bin-${name}-${o.mode}`);
  return wrapperBinDir(dir, path.join(__dirname, '../../bin'), (who, launcher) => [
    '--cpu-prof',
    `--cpu-prof-dir=${path.join(o.cpuProf, `${name}-${o.mode}-${who}`)}`,
    ...launcherNodeFlags(launcher),
  ]);
}

async function backlog(server: BenchServer, agent: BenchAgent): Promise<number | null> {
  const s = (await server.eventLogGauges())[EVENT_LOG_BACKLOG];
  const a = (await agent.eventLogGauges())[EVENT_LOG_BACKLOG];
  return s === null || s === undefined || a === null || a === undefined ? null : s + a;
}

export async function startOurs(name: 'ours-off' | 'ours-log', o: StackOptions): Promise<Stack> {
  const c = { tls: o.tls, dir: o.dir };
  const extraArgs = name === 'ours-off' ? ['--event-log=off'] : [];
  const binDir = o.cpuProf ? profiledBinDir(name, o) : undefined;
  const server = await startServer(c, {
    mode: o.mode,
    name: `floor-${name}-${o.mode}`,
    extraArgs,
    ...(binDir ? { binDir } : {}),
  });
  let agent: BenchAgent;
  try {
    agent = await startAgent(c, server, {
      name: `floor-${name}-agent`,
      extraArgs,
      ...(binDir ? { binDir } : {}),
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    name,
    via: { kind: o.mode, socketPath: server.socketPath },
    pids: { server: server.pid, agent: agent.pid },
    gauges: tunnelGauges(server, agent),
    drained: async () => {
      if (name === 'ours-off') return;
      await waitFor(async () => (await backlog(server, agent)) === 0, {
        timeoutMs: DRAIN_TIMEOUT_MS,
        description: `${name}: event log backlogs of server and agent at 0`,
      });
    },
    // A clean exit, so that --cpu-prof writes its profiles (the agent's first SIGTERM only drains).
    stop: async () => {
      await agent.test.process.stop('SIGINT', PROFILED_STOP_MS);
      await server.test.process.stop('SIGTERM', PROFILED_STOP_MS);
    },
  };
}

/** Direct TCP to the target: the client alone, no proxy processes. */
export const directStack = (): Stack => ({
  name: 'direct',
  via: { kind: 'direct' },
  pids: {},
  drained: async () => undefined,
  stop: async () => undefined,
});

export function startStack(name: VariantName, o: StackOptions): Promise<Stack> {
  if (name === 'direct') return Promise.resolve(directStack());
  if (name === 'floor') return startFloor(o);
  return startOurs(name, o);
}
