/**
 * The benchmark's clusters: a real konnectivity-server (frontend on a Unix socket, TLS agent port) and real
 * konnectivity-agents, started by the e2e harness (test/e2e/cluster.ts) from the snapshot of bin/ under
 * test, with gcHook.js preloaded, plus the gauges the benchmark reads.
 */
import * as path from 'path';
import {
  READY_BACKENDS,
  startAgent as startTestAgent,
  startServer as startTestServer,
  type Mode,
  type RunningTestAgent,
  type RunningTestServer,
} from '../test/e2e/cluster';
import type { Metrics } from '../test/helpers/metrics';
import type { TlsDir } from '../test/helpers/tls';
import { waitFor } from '../test/helpers/waitFor';
import { gcHookEnv } from './common';

export { READY_BACKENDS };
export const ESTABLISHED = 'konnectivity_network_proxy_server_established_connections';
export const PENDING_DIALS = 'konnectivity_network_proxy_server_pending_backend_dials';
export const AGENT_ENDPOINTS = 'konnectivity_network_proxy_agent_open_endpoint_connections';
/** The event log's own gauges and counters (src/persistence/metrics.ts), summed over label sets. */
export const EVENT_LOG_BACKLOG = 'konnectivity_ts_event_log_backlog';
export const EVENT_LOG_PUBLISHED = 'konnectivity_ts_event_log_published_total';
export const EVENT_LOG_DROPPED = 'konnectivity_ts_event_log_dropped_total';

/** How long the server may take to count a freshly started agent as a ready backend. */
const LINK_TIMEOUT_MS = 10_000;

/** Where the binaries under test are: the driver's snapshot of bin/ and dist/ (see main.ts). */
export const BIN_DIR_ENV = 'KONNECTIVITY_BENCH_BIN';
/** The repository's bin/ when no snapshot was made (bench-build/bench/cluster.js is two levels down). */
const binDir = (): string => process.env[BIN_DIR_ENV] ?? path.join(__dirname, '../../bin');

export interface BenchCluster {
  tls: TlsDir;
  dir: string;
}

/** Sum of each named metric (all label sets), or null when unreadable (process gone, scrape failed). */
export async function readGauges<K extends string>(
  scrape: () => Promise<Metrics>,
  names: readonly K[],
): Promise<Record<K, number | null>> {
  const out = {} as Record<K, number | null>;
  let m: Metrics | undefined;
  try {
    m = await scrape();
  } catch {
    m = undefined;
  }
  for (const n of names) out[n] = m && m.all(n).length > 0 ? m.sum(n) : null;
  return out;
}

export interface BenchServer {
  readonly test: RunningTestServer;
  readonly pid: number | undefined;
  readonly mode: Mode;
  readonly socketPath: string;
  readonly agentPort: number;
  readonly healthPort: number;
  readonly adminPort: number;
  readonly dataDir: string;
  gauges(): Promise<Record<string, number | null>>;
  eventLogGauges(): Promise<Record<string, number | null>>;
  stop(): Promise<void>;
}

export async function startServer(
  c: BenchCluster,
  o: {
    mode: Mode;
    name: string;
    extraArgs?: string[];
    dataDir?: string;
    nodeOptions?: string;
    /** Another build's bin/ (the per-dial tools compare builds); the snapshot's by default. */
    binDir?: string;
  },
): Promise<BenchServer> {
  const bin = o.binDir ?? binDir();
  const test = await startTestServer(c.tls, c.dir, {
    mode: o.mode,
    serverId: o.name,
    extraArgs: o.extraArgs ?? [],
    env: gcHookEnv(o.nodeOptions),
    ...(bin ? { binDir: bin } : {}),
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
  }).catch((err: unknown) => {
    throw new Error(`server ${o.name} did not start: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  });
  return {
    test,
    pid: test.process.pid,
    mode: o.mode,
    socketPath: test.socketPath,
    agentPort: test.ports.agent,
    healthPort: test.ports.health,
    adminPort: test.ports.admin,
    dataDir: test.dataDir,
    gauges: () => readGauges(() => test.metrics(), [READY_BACKENDS, ESTABLISHED, PENDING_DIALS]),
    eventLogGauges: () =>
      readGauges(() => test.metrics(), [EVENT_LOG_BACKLOG, EVENT_LOG_PUBLISHED, EVENT_LOG_DROPPED]),
    stop: async () => void (await test.process.stop('SIGTERM', 5_000)),
  };
}

export interface BenchAgent {
  readonly test: RunningTestAgent;
  readonly pid: number | undefined;
  readonly healthPort: number;
  readonly adminPort: number;
  readonly dataDir: string;
  gauges(): Promise<Record<string, number | null>>;
  eventLogGauges(): Promise<Record<string, number | null>>;
  stop(): Promise<void>;
}

/** A real agent linked to `server`; resolves once the server counts it as a ready backend. */
export async function startAgent(
  c: BenchCluster,
  server: BenchServer,
  o: { name: string; extraArgs?: string[]; nodeOptions?: string; binDir?: string },
): Promise<BenchAgent> {
  const bin = o.binDir ?? binDir();
  const before = (await server.gauges())[READY_BACKENDS] ?? 0;
  const test = await startTestAgent(c.tls, c.dir, server.test, {
    agentId: o.name,
    identifiers: 'host=localhost&ipv4=127.0.0.1',
    extraArgs: o.extraArgs ?? [],
    env: gcHookEnv(o.nodeOptions),
    ...(bin ? { binDir: bin } : {}),
  });
  await waitFor(async () => ((await server.gauges())[READY_BACKENDS] ?? 0) > before, {
    timeoutMs: LINK_TIMEOUT_MS,
    description: `server to report agent ${o.name} as a ready backend`,
  });
  return {
    test,
    pid: test.process.pid,
    healthPort: test.healthPort,
    adminPort: test.adminPort,
    dataDir: test.dataDir,
    gauges: () => readGauges(() => test.metrics(), [AGENT_ENDPOINTS]),
    eventLogGauges: () =>
      readGauges(() => test.metrics(), [EVENT_LOG_BACKLOG, EVENT_LOG_PUBLISHED, EVENT_LOG_DROPPED]),
    stop: async () => void (await test.process.stop('SIGKILL', 1_000)),
  };
}

/**
 * The gauges that must read 0 once every tunnel through `server` and `agent` has closed (anything left is
 * a leak): what the scenarios' `metrics` reads after closing.
 */
export function tunnelGauges(
  server: BenchServer,
  agent: BenchAgent,
): () => Promise<Record<'serverEstablished' | 'serverPendingDials' | 'agentEndpoints', number | null>> {
  return async () => {
    const s = await server.gauges();
    const a = await agent.gauges();
    return {
      serverEstablished: s[ESTABLISHED] ?? null,
      serverPendingDials: s[PENDING_DIALS] ?? null,
      agentEndpoints: a[AGENT_ENDPOINTS] ?? null,
    };
  };
}
