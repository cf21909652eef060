/**
 * One cluster per frontend mode (server + agent + target, each its own process) and the direct-TCP
 * baseline with the same client and target, every scenario of scenarios.ts run against each.
 */
import type { Mode } from '../test/e2e/cluster';
import {
  READY_BACKENDS,
  startAgent,
  startServer,
  type BenchAgent,
  type BenchCluster,
  type BenchServer,
  tunnelGauges,
} from './cluster';
import { fdLimitProblem, gcHookEnv, procMemory, sleep } from './common';
import * as scenarios from './scenarios';
import type {
  BurstResult,
  ConcurrencyResult,
  Ctx,
  IdleMemoryResult,
  LatencyResult,
  StallResult,
  ThroughputResult,
} from './scenarios';

type Maybe<T> = T | { error: string };

export interface ModeResults {
  /** RSS of each process right after start-up, before any traffic (issue 10: idle RSS). */
  idleRss?: Record<string, number | null>;
  idleMemory?: Maybe<IdleMemoryResult>;
  latency?: Maybe<LatencyResult>;
  /**
   * The same cycles again right after, with no quiet spell between: a process that keeps working. The first
   * run follows the idle-memory scenario's quiet spell, after which V8 re-optimizes the dial path
   * (docs/benchmarks.md "Per-dial CPU: steady state, warm-up and quiet spells").
   */
  latencyWarm?: Maybe<LatencyResult>;
  throughput?: Maybe<ThroughputResult>;
  concurrency?: Record<number, Maybe<ConcurrencyResult>>;
  burst?: Maybe<BurstResult>;
  stall?: Maybe<StallResult>;
  peakRss?: Record<string, number | null | undefined>;
  backendsAtEnd?: number | null;
  exit?: Record<string, string | number | null | undefined>;
}

export interface ModeConfig {
  throughput: { bytes: number; runs: number; capMs: number; warmupBytes: number };
  latency: { n: number; warmup: number; capMs: number };
  concurrency: number[];
  inFlight: number;
  burst: number;
  burstEchoBytes: number;
  idle: { n: number; warmN: number; settleMs: number };
  stall: { rampMs: number; windowMs: number; settleMs: number; stallAfterBytes: number };
}

/**
 * A pause before each concurrency step. The transfers end just before the first one, and the processes
 * give back what a transfer grew once the data path has been nearly still for 250 ms, at most once a
 * second (src/transferTrim.ts). Without a pause the peak-RSS reading raced that trim: the 20:17 UTC run of
 * 2026-11-30 read 300.9 MB, the next run of the same code 155.4 MB.
 */
const BEFORE_CONCURRENCY_MS = 2_000;

async function runScenarios(ctx: Ctx, cfg: ModeConfig, out: ModeResults): Promise<void> {
  const log = ctx.log;
  out.idleMemory = await scenarios.attempt(log, 'idle memory', () => scenarios.idleMemory(ctx, cfg.idle));
  out.latency = await scenarios.attempt(log, 'latency', () => scenarios.latency(ctx, cfg.latency));
  out.latencyWarm = await scenarios.attempt(log, 'latency, warm', () => scenarios.latency(ctx, cfg.latency));
  out.throughput = await scenarios.attempt(log, 'throughput', () =>
    scenarios.throughput(ctx, cfg.throughput),
  );
  out.concurrency = {};
  for (const n of cfg.concurrency) {
    out.concurrency[n] = await scenarios.attempt(log, `${n} concurrent`, async () => {
      const problem = fdLimitProblem(n, 'tunnels');
      if (problem) throw new Error(problem);
      await sleep(BEFORE_CONCURRENCY_MS);
      return scenarios.concurrency(ctx, { n, inFlight: cfg.inFlight });
    });
  }
  out.burst = await scenarios.attempt(log, `burst of ${cfg.burst}`, () => {
    const problem = fdLimitProblem(cfg.burst, 'tunnels');
    if (problem) throw new Error(problem);
    return scenarios.burst(ctx, cfg.burst, cfg.burstEchoBytes);
  });
  out.stall = await scenarios.attempt(log, 'stalled neighbour', () =>
    scenarios.stalledNeighbour(ctx, cfg.stall),
  );
}

export async function runDirect(cfg: ModeConfig, log: (m: string) => void): Promise<ModeResults> {
  const target = await scenarios.startTarget('target (direct)', gcHookEnv());
  const ctx: Ctx = { via: { kind: 'direct' }, target, pids: { target: target.pid }, log };
  await sleep(cfg.idle.settleMs);
  const out: ModeResults = { idleRss: { target: procMemory(target.pid)?.rss ?? null } };
  try {
    await runScenarios(ctx, cfg, out);
    out.peakRss = { target: procMemory(target.pid)?.hwm };
  } finally {
    await target.stop();
  }
  return out;
}

export async function runMode(
  mode: Mode,
  c: BenchCluster,
  cfg: ModeConfig,
  log: (m: string) => void,
): Promise<ModeResults> {
  const target = await scenarios.startTarget(`target (${mode})`, gcHookEnv());
  let server: BenchServer | undefined;
  let agent: BenchAgent | undefined;
  try {
    server = await startServer(c, { mode, name: `server-${mode}` });
    agent = await startAgent(c, server, { name: `agent-${mode}` });
  } catch (err) {
    await agent?.stop();
    await server?.stop();
    await target.stop();
    throw err;
  }
  const s = server;
  const a = agent;
  const ctx: Ctx = {
    via: { kind: mode, socketPath: s.socketPath },
    target,
    pids: { server: s.pid, agent: a.pid },
    log,
    metrics: tunnelGauges(s, a),
  };
  log(`server pid ${s.pid} (frontend ${s.socketPath}), agent pid ${a.pid}`);
  // Idle means running with nothing to do: read after the quiet spell the idle-memory scenario also waits,
  // not in the moment start-up ends, when its garbage is still uncollected (src/heapTrim.ts).
  await sleep(cfg.idle.settleMs);
  const out: ModeResults = {
    idleRss: { server: procMemory(s.pid)?.rss ?? null, agent: procMemory(a.pid)?.rss ?? null },
  };
  try {
    await runScenarios(ctx, cfg, out);
    out.peakRss = { server: procMemory(s.pid)?.hwm, agent: procMemory(a.pid)?.hwm };
    out.backendsAtEnd = (await s.gauges())[READY_BACKENDS] ?? null;
  } finally {
    const exit = (p: BenchServer | BenchAgent): string | number | null | undefined => {
      const status = p.test.process.exitStatus;
      return status ? (status.code ?? status.signal) : undefined;
    };
    out.exit = { server: exit(s), agent: exit(a) };
    await a.stop();
    await s.stop();
    await target.stop();
  }
  return out;
}
