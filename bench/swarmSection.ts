/**
 * The swarm section: many agents on one server (ours, and a bare grpc-js server as the baseline, in the
 * same run). Each size runs with every agent on its own HTTP/2 + TLS connection; one more run puts 1,000
 * agent streams on one shared connection. Per agent: the server's RSS growth (after a full GC) and its CPU
 * while the agents connect.
 */
import { waitFor } from '../test/helpers/waitFor';
import type { TlsDir } from '../test/helpers/tls';
import { READY_BACKENDS, startServer, type BenchCluster } from './cluster';
import { MiB, cpuMs, fdLimitProblem, gcHookEnv, gcMemory, procMemory, sleep, type GcMemory } from './common';
import { LineChild } from './lineChild';
import { HELPER_READY_MS, attempt } from './scenarios';

/** The swarm holds 10,000 TLS channels with their buffers: more than Node's default heap limit allows. */
const SWARM_ENV = { NODE_OPTIONS: '--max-old-space-size=8192' };
/** Connecting 10,000 agents (TLS handshakes on 2 loaded cores) may take minutes. */
const CONNECT_TIMEOUT_MS = 600_000;
/** After the swarm says it is connected, the server's gauge must catch up within this long. */
const GAUGE_TIMEOUT_MS = 60_000;

export interface SwarmShape {
  n: number;
  /** All agents' streams on one HTTP/2 connection instead of one connection each. */
  shared: boolean;
}

export interface SwarmRun {
  requested: number;
  shared: boolean;
  connected: number;
  failed: number;
  errors: Record<string, number>;
  gauge: number | null;
  connectMs: number;
  before: GcMemory | null;
  after: GcMemory | null;
  perAgent: number | null;
  cpuMsPerAgent: number | null;
  peakRss: number | null;
}

/**
 * `n` agent connections from a swarm process to one server (ours or the baseline): connect `warm` first,
 * measure the server's RSS after a GC, connect the rest while counting the server's CPU, wait until the
 * server counts them all (its ready-backends gauge when it has one), wait `settleMs`, measure again.
 */
export async function agentSwarm(
  ctx: {
    pid: number | undefined;
    prefix: string;
    log: (m: string) => void;
    ready?: () => Promise<number>;
    /** Runs while every agent is held, after the second RSS reading (a heap snapshot). */
    whileHeld?: () => Promise<void>;
  },
  o: {
    target: string;
    ca: string;
    n: number;
    warm: number;
    parallel: number;
    settleMs: number;
    shared: boolean;
  },
): Promise<SwarmRun> {
  const swarm = new LineChild(
    'swarm.js',
    [JSON.stringify({ target: o.target, ca: o.ca, prefix: ctx.prefix, shared: o.shared })],
    {
      name: 'swarm',
      env: SWARM_ENV,
    },
  );
  try {
    await swarm.next((m) => m.event === 'ready', HELPER_READY_MS);
    swarm.send({ cmd: 'connect', n: o.warm, parallel: o.parallel });
    const w = await swarm.next((m) => m.event === 'connected', CONNECT_TIMEOUT_MS);
    const ready = ctx.ready;
    if (ready) {
      await waitFor(async () => (await ready()) >= Number(w.total), { timeoutMs: GAUGE_TIMEOUT_MS }).catch(
        () => null,
      );
    }
    await sleep(1000);
    const before = await gcMemory(ctx.pid);
    const cpu0 = cpuMs(ctx.pid);
    const t0 = Date.now();
    swarm.send({ cmd: 'connect', n: o.n - o.warm, parallel: o.parallel });
    const r = await swarm.next((m) => m.event === 'connected', CONNECT_TIMEOUT_MS);
    let gauge: number | null = null;
    if (ready) {
      await waitFor(async () => (gauge = await ready()) >= o.n, {
        timeoutMs: GAUGE_TIMEOUT_MS,
        intervalMs: 250,
      }).catch(() => null);
    }
    const connectMs = Date.now() - t0;
    const cpu1 = cpuMs(ctx.pid);
    await sleep(o.settleMs);
    const after = await gcMemory(ctx.pid);
    if (ready) gauge = await ready();
    await ctx.whileHeld?.();
    const added = Number(r.total) - Number(w.total);
    const perAgent =
      after?.rss != null && before?.rss != null && added > 0 ? (after.rss - before.rss) / added : null;
    const cpuMsPerAgent = cpu0 !== null && cpu1 !== null && added > 0 ? (cpu1 - cpu0) / added : null;
    const mib = (m: GcMemory | null): string => (m?.rss != null ? (m.rss / MiB).toFixed(0) : '?');
    // The JS heap's share of the RSS per agent: what is left is native (TLS, nghttp2, socket buffers).
    const heapPerAgent =
      after?.heapUsed != null && before?.heapUsed != null && added > 0
        ? ((after.heapUsed - before.heapUsed) / added / 1024).toFixed(1)
        : '?';
    ctx.log(
      `${String(r.total)}/${o.n} agents ${o.shared ? 'on one connection' : 'each on its own connection'} ` +
        `(${Number(r.failed) + Number(w.failed)} failed) in ${(connectMs / 1000).toFixed(1)} s` +
        (ready ? `, server gauge ${gauge}` : '') +
        `, RSS ${mib(before)} -> ${mib(after)} MiB, ` +
        `${perAgent === null ? '?' : (perAgent / 1024).toFixed(1)} KiB (JS heap ${heapPerAgent}) and ` +
        `${cpuMsPerAgent === null ? '?' : cpuMsPerAgent.toFixed(2)} CPU ms per agent`,
    );
    swarm.send({ cmd: 'close' });
    await swarm.next((m) => m.event === 'closed', 30_000).catch(() => undefined);
    return {
      requested: o.n,
      shared: o.shared,
      connected: Number(r.total),
      failed: Number(r.failed) + Number(w.failed),
      errors: { ...(w.errors as Record<string, number>), ...(r.errors as Record<string, number>) },
      gauge,
      connectMs,
      before,
      after,
      perAgent,
      cpuMsPerAgent,
      peakRss: procMemory(ctx.pid)?.hwm ?? null,
    };
  } finally {
    await swarm.stop();
  }
}

export interface SwarmSection {
  mode: 'grpc';
  runs: { shape: SwarmShape; ours: SwarmRun | { error: string }; baseline: SwarmRun | { error: string } }[];
}

export async function runSwarmSection(
  c: BenchCluster & { tls: TlsDir },
  cfg: { shapes: SwarmShape[]; warm: number; parallel: number; settleMs: number },
  log: (scope: string) => (m: string) => void,
): Promise<SwarmSection> {
  const out: SwarmSection = { mode: 'grpc', runs: [] };
  for (const shape of cfg.shapes) {
    const label = `${shape.n} agents${shape.shared ? ' on one connection' : ''}`;
    const problem = shape.shared ? null : fdLimitProblem(shape.n, 'agents');
    if (problem) {
      log('swarm')(`${label}: SKIPPED: ${problem}`);
      out.runs.push({ shape, ours: { error: problem }, baseline: { error: problem } });
      continue;
    }
    const opts = {
      ca: c.tls.caCert,
      n: shape.n,
      warm: cfg.warm,
      parallel: cfg.parallel,
      settleMs: cfg.settleMs,
      shared: shape.shared,
    };
    const baseline = await attempt(log('swarm'), `${label}, baseline`, async () => {
      const base = new LineChild(
        'grpcBaseline.js',
        [JSON.stringify({ cert: c.tls.clusterCert, key: c.tls.clusterKey })],
        {
          name: 'grpc baseline',
          env: gcHookEnv(),
        },
      );
      try {
        const ready = await base.next((m) => m.event === 'ready', HELPER_READY_MS);
        return await agentSwarm(
          { pid: base.pid, prefix: 'baseline', log: log(`swarm baseline ${label}`) },
          { ...opts, target: `127.0.0.1:${String(ready.port)}` },
        );
      } finally {
        await base.stop();
      }
    });
    const ours = await attempt(log('swarm'), label, async () => {
      const server = await startServer(c, {
        mode: 'grpc',
        name: `server-swarm-${shape.n}${shape.shared ? '-shared' : ''}`,
      });
      try {
        return await agentSwarm(
          {
            pid: server.pid,
            prefix: 'swarm',
            log: log(`swarm ${label}`),
            ready: async () => (await server.gauges())[READY_BACKENDS] ?? 0,
          },
          { ...opts, target: `127.0.0.1:${server.agentPort}` },
        );
      } finally {
        await server.stop();
      }
    });
    out.runs.push({ shape, ours, baseline });
  }
  return out;
}
