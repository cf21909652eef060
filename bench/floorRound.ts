/**
 * One round of `npm run bench:floor` for one server + agent pair (floorStack.ts) on fresh processes: an
 * unrecorded warm-up (dials), then idle memory with the CPU of opening them at `inFlight`, sequential
 * dial + 4-byte echo, and a download (after an unrecorded one). CPU is user + system of server and agent from /proc, counted until ours' event
 * log has written what the step produced; memory is read after a full GC in each process (gcHook.ts).
 */
import { FILE_LOG_DEFAULTS } from '../src/persistence/fileEventLog';
import { MiB, sleep, type GcMemory } from './common';
import type { LineChild } from './lineChild';
import type { Stack } from './floorStack';
import {
  addr,
  concurrency,
  cpuOf,
  cpuSum,
  gcMemoryOf,
  latency,
  listen,
  runClient,
  type Ctx,
} from './scenarios';

export interface FloorConfig {
  /** Sequential dial + echo cycles recorded per round. */
  dials: number;
  /** Idle tunnels held open for the memory figure, opened `inFlight` at a time. */
  idle: number;
  inFlight: number;
  /** MiB per download. */
  mib: number;
  /** How long the idle tunnels sit before the GC and the reading. */
  settleMs: number;
}

/** Each echo carries 4 bytes, as issue 10's dial figures do. */
const ECHO_BYTES = 4;
/** Unrecorded work first, so that JIT tier-up and heap growth fall outside the figures. */
const WARM = { dials: 200, mib: 32, idle: 200 };
/** Caps for one step's client: far above what a loaded 2-core machine needs, so a hang ends the run. */
const LATENCY_CAP_MS = 300_000;
const DOWNLOAD_CAP_MS = 300_000;
const CLIENT_SLACK_MS = 60_000;
/**
 * The file log updates its backlog gauge per batch, after gathering one for its batch delay: the last
 * step's appends must reach the gauge before a backlog of 0 means drained.
 */
const BATCH_SETTLE_MS = FILE_LOG_DEFAULTS.batchDelayMs + 20;

export interface RoundFigures {
  /** Server + agent CPU ms per sequential dial + echo + close. */
  seqCpuMsPerDial: number | null;
  dialEchoP50Ms: number | null;
  /** Server + agent CPU ms per dial + echo while opening `idle` tunnels `inFlight` at a time. */
  burstCpuMsPerDial: number | null;
  downloadMBps: number | null;
  cpuMsPerMiB: number | null;
  /** The client process's own CPU: when it nears the wall time, the client, not the tunnel, is the limit. */
  clientCpuMsPerDial: number | null;
  clientCpuMsPerMiB: number | null;
  /** Per idle connection after a GC, bytes: RSS, JS heap used, JS heap total, per process. */
  idle: Record<string, { rss: number | null; heapUsed: number | null; heapTotal: number | null }>;
  failed: number;
}

type Mem = GcMemory | null | undefined;

function perConn(after: Mem, before: Mem, key: 'rss' | 'heapUsed' | 'heapTotal', n: number): number | null {
  const a = after?.[key];
  const b = before?.[key];
  return typeof a === 'number' && typeof b === 'number' && n > 0 ? (a - b) / n : null;
}

/** Server + agent CPU of `step`, counted until the event log (if any) has caught up. */
async function proxyCpu<T>(stack: Stack, step: () => Promise<T>): Promise<{ value: T; ms: number | null }> {
  const cpu0 = cpuOf(stack.pids);
  const value = await step();
  await sleep(BATCH_SETTLE_MS);
  await stack.drained();
  return {
    value,
    ms: Object.keys(stack.pids).length ? cpuSum(cpuOf(stack.pids, cpu0), ['server', 'agent']) : null,
  };
}

interface Download {
  mbps: number;
  bytes: number;
  complete: boolean;
  clientCpuMs: number;
}

async function download(ctx: Ctx, mib: number): Promise<Download> {
  const ports = await listen(ctx.target);
  const r = await runClient(
    'download',
    { via: ctx.via, address: addr(ports.source), bytes: mib * MiB, capMs: DOWNLOAD_CAP_MS },
    DOWNLOAD_CAP_MS + CLIENT_SLACK_MS,
  );
  return r as unknown as Download;
}

export async function measureRound(
  stack: Stack,
  target: LineChild,
  cfg: FloorConfig,
  log: (msg: string) => void,
): Promise<RoundFigures> {
  const proxied = stack.name !== 'direct';
  const ctx: Ctx = {
    via: stack.via,
    target,
    pids: stack.pids,
    log,
    ...(stack.gauges ? { metrics: stack.gauges } : {}),
  };
  await latency(ctx, { n: WARM.dials, warmup: 0, capMs: LATENCY_CAP_MS, echoBytes: ECHO_BYTES });
  if (proxied) await concurrency(ctx, { n: WARM.idle, inFlight: Math.min(cfg.inFlight, WARM.idle) });
  await stack.drained();

  const out: RoundFigures = {
    seqCpuMsPerDial: null,
    dialEchoP50Ms: null,
    burstCpuMsPerDial: null,
    downloadMBps: null,
    cpuMsPerMiB: null,
    clientCpuMsPerDial: null,
    clientCpuMsPerMiB: null,
    idle: {},
    failed: 0,
  };
  if (proxied) {
    await sleep(cfg.settleMs);
    // The first full GC also gives back heap the warm-up grew; the second reads a settled heap.
    await gcMemoryOf(stack.pids);
    const before = await gcMemoryOf(stack.pids);
    const r = await concurrency(ctx, {
      n: cfg.idle,
      inFlight: cfg.inFlight,
      settleMs: cfg.settleMs,
      gcAtPeak: true,
      echoBytes: ECHO_BYTES,
    });
    const open = cpuSum(r.openCpuMs, ['server', 'agent']);
    out.burstCpuMsPerDial = open !== null && r.ok > 0 ? open / r.ok : null;
    out.failed += r.failed;
    for (const who of Object.keys(stack.pids)) {
      const a = r.atPeak.memory[who] as Mem;
      const b = before[who];
      out.idle[who] = {
        rss: perConn(a, b, 'rss', r.ok),
        heapUsed: perConn(a, b, 'heapUsed', r.ok),
        heapTotal: perConn(a, b, 'heapTotal', r.ok),
      };
    }
    await stack.drained();
  }

  const seq = await proxyCpu(stack, () =>
    latency(ctx, { n: cfg.dials, warmup: 0, capMs: LATENCY_CAP_MS, echoBytes: ECHO_BYTES }),
  );
  const cycles = seq.value.attempts;
  out.dialEchoP50Ms = seq.value.dialEcho.p50 ?? null;
  out.seqCpuMsPerDial = seq.ms !== null && cycles > 0 ? seq.ms / cycles : null;
  out.clientCpuMsPerDial = cycles > 0 ? seq.value.clientCpuMs / cycles : null;
  out.failed += seq.value.failed;

  // After the memory reading: a download's buffers would leave RSS behind that the idle tunnels reuse.
  await download(ctx, WARM.mib);
  const dl = await proxyCpu(stack, () => download(ctx, cfg.mib));
  out.downloadMBps = dl.value.mbps;
  out.cpuMsPerMiB = dl.ms !== null ? dl.ms / (dl.value.bytes / MiB) : null;
  out.clientCpuMsPerMiB = dl.value.clientCpuMs / (dl.value.bytes / MiB);
  if (!dl.value.complete) out.failed++;
  return out;
}
