/**
 * The measurements, as the driver runs them: each starts a client process (client.ts) against a fresh set
 * of target listeners, samples the proxy processes' memory and metrics where it matters, and returns plain
 * data. The same functions run with `via.kind === 'direct'` for the baseline.
 */
import { waitFor } from '../test/helpers/waitFor';
import {
  MiB,
  cpuMs,
  errorText,
  gcMemory,
  median,
  openFds,
  procMemory,
  sleep,
  type GcMemory,
  type Msg,
  type ProcMemory,
  type Summary,
} from './common';
import { LineChild } from './lineChild';
import type { Via } from './scenarioTypes';

/** The client holds 10,000 tunnels with their buffers: more than Node's default heap limit allows. */
const CLIENT_ENV = { NODE_OPTIONS: '--max-old-space-size=8192' };
/** A helper process that does not say it is ready within this long failed to start. */
export const HELPER_READY_MS = 10_000;
/** Headroom for a client scenario beyond its own cap: process start-up and the result line. */
const CLIENT_SLACK_MS = 30_000;
/** Closing every tunnel must bring the server's and agent's gauges back to 0 within this long. */
const GAUGES_CLEAN_MS = 15_000;
/** The longest a concurrent scenario may take to open (10,000 tunnels on 2 loaded cores). */
const CONCURRENT_TIMEOUT_MS = 240_000;

export type Pids = Record<string, number | undefined>;

export interface Ctx {
  via: Via;
  target: LineChild;
  pids: Pids;
  log: (msg: string) => void;
  /** Gauges that must be back at zero once every tunnel is closed. */
  metrics?: () => Promise<Record<string, number | null>>;
}

export interface ClientResult extends Msg {
  clientCpuMs: number;
}

/** Runs one client scenario to completion and returns its result line. */
export async function runClient(scenario: string, args: object, timeoutMs: number): Promise<ClientResult> {
  const c = new LineChild('client.js', [scenario, JSON.stringify(args)], {
    env: CLIENT_ENV,
    name: `client ${scenario}`,
  });
  try {
    const msg = await c.next((m) => m.event === 'result' || m.event === 'error', timeoutMs);
    if (msg.event === 'error') throw new Error(`client ${scenario} failed: ${String(msg.error)}`);
    return msg as ClientResult;
  } finally {
    await c.stop();
  }
}

export interface TargetPorts {
  echo: number;
  sink: number;
  source: number;
}

export async function startTarget(name: string, env?: NodeJS.ProcessEnv): Promise<LineChild> {
  const target = new LineChild('target.js', [], { name, ...(env ? { env } : {}) });
  try {
    await target.next((m) => m.event === 'ready', HELPER_READY_MS);
  } catch (err) {
    await target.stop();
    throw err;
  }
  return target;
}

let nextId = 1;

export async function listen(target: LineChild): Promise<TargetPorts> {
  const id = nextId++;
  target.send({ cmd: 'listen', id });
  const msg = await target.next((m) => m.id === id, HELPER_READY_MS);
  if (msg.error) throw new Error(`target could not listen: ${JSON.stringify(msg.error)}`);
  return msg.ports as TargetPorts;
}

async function targetSockets(target: LineChild): Promise<number> {
  const id = nextId++;
  target.send({ cmd: 'stats', id });
  return (await target.next((m) => m.id === id, HELPER_READY_MS)).openSockets as number;
}

export const addr = (port: number): string => `127.0.0.1:${port}`;

function eachPid<T>(pids: Pids, f: (pid: number | undefined, name: string) => T): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = f(pid, name);
  return out;
}

/** Memory of each named process: { server: {rss, hwm}, agent: {...} }. */
export const memoryOf = (pids: Pids): Record<string, ProcMemory | null> => eachPid(pids, procMemory);

export type Cpu = Record<string, number | null>;

/** CPU ms used by each named process since `before` (a previous `cpuOf`), or the totals so far. */
export function cpuOf(pids: Pids, before?: Cpu): Cpu {
  return eachPid(pids, (pid, name) => {
    const now = cpuMs(pid);
    if (!before) return now;
    const then = before[name];
    return now === null || then === null || then === undefined ? null : now - then;
  });
}

/** Sum of the named processes' CPU, or null when any is unknown. */
export function cpuSum(cpu: Cpu, names: readonly string[]): number | null {
  let sum = 0;
  for (const n of names) {
    const v = cpu[n];
    if (v === null || v === undefined) return null;
    sum += v;
  }
  return sum;
}

/** Same, after a full GC in each process (see gcHook.ts). */
export async function gcMemoryOf(pids: Pids): Promise<Record<string, GcMemory | null>> {
  const out: Record<string, GcMemory | null> = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = await gcMemory(pid);
  return out;
}

const fdsOf = (pids: Pids): Record<string, number | null> => eachPid(pids, openFds);

interface TransferRun {
  mbps: number;
  bytes: number;
  ms: number;
  complete: boolean;
  cpuMs: Cpu;
}

export interface DirectionResult {
  runs: TransferRun[];
  mbps: number;
  cpuMsPerMB: Record<string, number>;
  /** Server + agent CPU per MiB carried (median over runs): the figure issue 10 sets a target for. */
  proxyCpuMsPerMiB: number | null;
}

export type ThroughputResult = Record<'download' | 'upload', DirectionResult>;

/** Median of `runs` downloads and of `runs` uploads, each of `bytes` (or `capMs`, whichever first). */
export async function throughput(
  ctx: Ctx,
  { bytes, runs, capMs, warmupBytes }: { bytes: number; runs: number; capMs: number; warmupBytes: number },
): Promise<ThroughputResult> {
  const collected: Record<'download' | 'upload', TransferRun[]> = { download: [], upload: [] };
  const directions = (ports: TargetPorts): ['download' | 'upload', number][] => [
    ['download', ports.source],
    ['upload', ports.sink],
  ];
  if (warmupBytes) {
    // Unrecorded: the first few hundred MiB through a fresh process run slower (JIT, heap sizing).
    const ports = await listen(ctx.target);
    for (const [dir, port] of directions(ports)) {
      await runClient(
        dir,
        { via: ctx.via, address: addr(port), bytes: warmupBytes, capMs },
        capMs + CLIENT_SLACK_MS,
      );
    }
  }
  for (let i = 0; i < runs; i++) {
    const ports = await listen(ctx.target);
    for (const [dir, port] of directions(ports)) {
      const cpu0 = cpuOf(ctx.pids);
      const r = await runClient(
        dir,
        { via: ctx.via, address: addr(port), bytes, capMs },
        capMs + CLIENT_SLACK_MS,
      );
      const cpu = { ...cpuOf(ctx.pids, cpu0), client: r.clientCpuMs };
      const run = r as unknown as TransferRun;
      collected[dir].push({
        mbps: run.mbps,
        bytes: run.bytes,
        ms: run.ms,
        complete: run.complete,
        cpuMs: cpu,
      });
      ctx.log(`${dir} run ${i + 1}: ${run.mbps.toFixed(1)} MB/s (${(run.bytes / MiB).toFixed(0)} MiB)`);
    }
  }
  const summarizeDir = (list: TransferRun[]): DirectionResult => {
    // CPU cost of moving one MB through each process (median over runs): where the time goes.
    const cpuMsPerMB: Record<string, number> = {};
    for (const name of Object.keys(list[0]?.cpuMs ?? {})) {
      cpuMsPerMB[name] = median(list.map((r) => (r.cpuMs[name] ?? NaN) / (r.bytes / 1e6)));
    }
    const proxy = list
      .map((r) => {
        const sum = cpuSum(r.cpuMs, ['server', 'agent']);
        return sum === null ? NaN : sum / (r.bytes / MiB);
      })
      .filter(Number.isFinite);
    return {
      runs: list,
      mbps: median(list.map((r) => r.mbps)),
      cpuMsPerMB,
      proxyCpuMsPerMiB: proxy.length ? median(proxy) : null,
    };
  };
  return { download: summarizeDir(collected.download), upload: summarizeDir(collected.upload) };
}

export interface LatencyResult extends ClientResult {
  dialEcho: Summary;
  failed: number;
  attempts: number;
  cpuMsPerCycle: Record<string, number | null>;
}

export async function latency(
  ctx: Ctx,
  { n, warmup, capMs, echoBytes }: { n: number; warmup: number; capMs: number; echoBytes?: number },
): Promise<LatencyResult> {
  const ports = await listen(ctx.target);
  const cpu0 = cpuOf(ctx.pids);
  const r = (await runClient(
    'latency',
    { via: ctx.via, address: addr(ports.echo), n, warmup, capMs, echoBytes },
    capMs + CLIENT_SLACK_MS,
  )) as LatencyResult;
  const cycles = r.attempts;
  r.cpuMsPerCycle = { client: r.clientCpuMs / cycles };
  for (const [name, v] of Object.entries(cpuOf(ctx.pids, cpu0)))
    r.cpuMsPerCycle[name] = v === null ? null : v / cycles;
  ctx.log(
    `dial+echo p50 ${r.dialEcho.p50?.toFixed(3)} ms, p99 ${r.dialEcho.p99?.toFixed(3)} ms ` +
      `(${r.dialEcho.n} samples, ${r.failed} failed)`,
  );
  return r;
}

export interface ConcurrencyResult extends ClientResult {
  requested: number;
  ok: number;
  failed: number;
  openMs: number;
  closeMs: number;
  atPeak: {
    memory: Record<string, ProcMemory | GcMemory | null>;
    fds: Record<string, number | null>;
    targetSockets: number;
    metrics: Record<string, number | null> | undefined;
  };
  afterClose?: { metrics: Record<string, number | null>; clean: boolean; ms: number };
  openCpuMs: Cpu;
  /**
   * RSS of each process just before the dials: what it still held from the scenarios before (after a
   * transfer, glibc's heap keeps what it grew to: docs/benchmarks.md "Peak RSS: what a transfer leaves").
   */
  before: Record<string, ProcMemory | null>;
}

/**
 * Opens `n` tunnels (bounded in-flight dials), holds them, samples memory/fds/metrics of the proxy
 * processes while all are open, then closes them and checks the server's gauges return to zero.
 */
export async function concurrency(
  ctx: Ctx,
  o: { n: number; inFlight: number; settleMs?: number; gcAtPeak?: boolean; echoBytes?: number },
): Promise<ConcurrencyResult> {
  const { n, inFlight, settleMs = 0, gcAtPeak = false } = o;
  const ports = await listen(ctx.target);
  const before = memoryOf(ctx.pids);
  const cpu0 = cpuOf(ctx.pids);
  const args = { via: ctx.via, address: addr(ports.echo), n, inFlight, hold: true, echoBytes: o.echoBytes };
  const c = new LineChild('client.js', ['concurrent', JSON.stringify(args)], {
    env: CLIENT_ENV,
    name: `client concurrent ${n}`,
  });
  try {
    const open = await c.next((m) => m.event === 'open' || m.event === 'error', CONCURRENT_TIMEOUT_MS);
    if (open.event === 'error') throw new Error(`client concurrent failed: ${String(open.error)}`);
    const openCpuMs = cpuOf(ctx.pids, cpu0);
    if (settleMs) await sleep(settleMs);
    const atPeak = {
      memory: gcAtPeak ? await gcMemoryOf(ctx.pids) : memoryOf(ctx.pids),
      fds: fdsOf(ctx.pids),
      targetSockets: await targetSockets(ctx.target),
      metrics: ctx.metrics ? await ctx.metrics() : undefined,
    };
    c.send({ cmd: 'close' });
    const result = await c.next((m) => m.event === 'result' || m.event === 'error', CONCURRENT_TIMEOUT_MS);
    if (result.event === 'error') throw new Error(`client concurrent failed: ${String(result.error)}`);
    const r = result as ConcurrencyResult;
    let afterClose: ConcurrencyResult['afterClose'];
    if (ctx.metrics) {
      const read = ctx.metrics;
      // Every tunnel is closed: the gauges must come back to zero (anything left is a leak).
      const t0 = Date.now();
      const clean = await waitFor(
        async () => {
          const m = await read();
          return Object.values(m).every((v) => !v) ? m : null;
        },
        { timeoutMs: GAUGES_CLEAN_MS, intervalMs: 100, description: 'gauges back at 0' },
      ).catch(() => null);
      afterClose = { metrics: clean ?? (await read()), clean: !!clean, ms: Date.now() - t0 };
    }
    ctx.log(
      `${n} concurrent: ${r.ok} ok, ${r.failed} failed, open in ${(r.openMs / 1000).toFixed(2)} s, ` +
        `closed in ${(r.closeMs / 1000).toFixed(2)} s` +
        (afterClose && !afterClose.clean
          ? ` (gauges not back to 0: ${JSON.stringify(afterClose.metrics)})`
          : ''),
    );
    return { ...r, atPeak, ...(afterClose ? { afterClose } : {}), openCpuMs, before };
  } finally {
    await c.stop();
  }
}

export interface BurstResult extends ConcurrencyResult {
  echoBytes: number;
  cpuPerDialMs: Record<string, number | null>;
}

/**
 * A burst: `n` tunnels dialed all at once (no in-flight bound), each echoing `echoBytes`; gRPC ones as
 * streams on one shared channel (one HTTP/2 connection, as kube-apiserver multiplexes: DIAL_REQ, echo,
 * CLOSE_REQ), HTTP-CONNECT ones as `n` connections on the Unix socket. Reports the CPU per dial of each
 * process (user + system, /proc/<pid>/stat) while opening, and the RSS with all of them open.
 */
export async function burst(ctx: Ctx, n: number, echoBytes: number): Promise<BurstResult> {
  const via: Via = ctx.via.kind === 'grpc' ? { ...ctx.via, oneChannel: true } : ctx.via;
  const r = await concurrency({ ...ctx, via }, { n, inFlight: n, echoBytes });
  const cpuPerDialMs: Record<string, number | null> = {};
  for (const [name, ms] of Object.entries(r.openCpuMs)) {
    cpuPerDialMs[name] = ms !== null && r.ok > 0 ? ms / r.ok : null;
  }
  return { ...r, echoBytes, cpuPerDialMs };
}

export interface IdleMemoryResult {
  n: number;
  ok: number;
  failed: number;
  before: Record<string, GcMemory | null>;
  after: Record<string, ProcMemory | GcMemory | null>;
  perConnection: Record<string, number | null>;
  breakdown: Record<string, Record<string, number | null | boolean>>;
}

/**
 * Memory per idle open connection: warm up with a small batch, wait `settleMs`, GC and measure, open `n`
 * idle tunnels, wait `settleMs`, GC and measure again (a quiet spell long enough for the processes to give
 * back what the burst made their heaps grow, src/heapTrim.ts); (after - before) / n for each process in ctx.pids, as RSS and as
 * its V8 parts (JS heap in use; external + array buffers, which hold socket and TLS buffers).
 */
export async function idleMemory(
  ctx: Ctx,
  { n, warmN, settleMs }: { n: number; warmN: number; settleMs: number },
): Promise<IdleMemoryResult> {
  await concurrency(ctx, { n: warmN, inFlight: Math.min(100, warmN) });
  // Both readings after the same quiet spell, so that each process's heap trim has run before both.
  await sleep(settleMs);
  const before = await gcMemoryOf(ctx.pids);
  const r = await concurrency(ctx, { n, inFlight: 500, settleMs, gcAtPeak: true });
  const perConnection: Record<string, number | null> = {};
  const breakdown: IdleMemoryResult['breakdown'] = {};
  type Mem = Record<string, unknown> | null | undefined;
  const per = (a: Mem, b: Mem, key: string): number | null => {
    const x = a?.[key];
    const y = b?.[key];
    return typeof x === 'number' && typeof y === 'number' && r.ok > 0 ? (x - y) / r.ok : null;
  };
  for (const name of Object.keys(ctx.pids)) {
    const b = before[name] as Mem;
    const a = r.atPeak.memory[name] as Mem;
    perConnection[name] = per(a, b, 'rss');
    breakdown[name] = {
      rss: perConnection[name],
      heapUsed: per(a, b, 'heapUsed'),
      external: per(a, b, 'external'),
      arrayBuffers: per(a, b, 'arrayBuffers'),
      gc: !!(a?.gc && b?.gc),
    };
  }
  const kib = (v: unknown): string => (typeof v === 'number' ? (v / 1024).toFixed(1) : '?');
  ctx.log(
    `idle memory per connection (after GC): ${Object.entries(breakdown)
      .map(([k, v]) => `${k} ${kib(v.rss)} KiB RSS (JS heap ${kib(v.heapUsed)}, external ${kib(v.external)})`)
      .join(', ')}`,
  );
  return { n, ok: r.ok, failed: r.failed, before, after: r.atPeak.memory, perConnection, breakdown };
}

export interface StallResult extends ClientResult {
  ratio: number | null;
  solo: { mbps: number };
  soloBefore: { mbps: number };
  soloAfter: { mbps: number } | null;
  withStalled: { mbps: number; timelineMBps: number[] };
  stalledReader: { endedAfterMs: number | null; end: string | null };
  recovered: boolean;
  recoveryMs: number;
  recoveryAttempts: number;
  recoveryError?: string;
}

export async function stalledNeighbour(
  ctx: Ctx,
  cfg: { rampMs: number; windowMs: number; settleMs: number; stallAfterBytes: number },
): Promise<StallResult> {
  const ports = await listen(ctx.target);
  const r = (await runClient(
    'stall',
    { via: ctx.via, address: addr(ports.source), echoAddress: addr(ports.echo), ...cfg },
    90_000 + 4 * cfg.windowMs,
  )) as StallResult;
  const a = r.stalledReader;
  ctx.log(
    `stalled neighbour: B solo ${r.soloBefore.mbps.toFixed(1)}/${r.soloAfter ? r.soloAfter.mbps.toFixed(1) : '-'} MB/s (before/after), with A stalled ${r.withStalled.mbps.toFixed(1)} MB/s ` +
      `(ratio ${r.ratio === null ? '?' : r.ratio.toFixed(3)}); B per ${r.withStalled.timelineMBps.length} slices: ` +
      `[${r.withStalled.timelineMBps.map((v) => v.toFixed(0)).join(' ')}] MB/s; A ` +
      (a.endedAfterMs === null
        ? 'saw no close (it is not reading)'
        : `ended (${a.end}) ${(a.endedAfterMs / 1000).toFixed(1)} s after it paused`) +
      `; afterwards a new tunnel worked ` +
      (r.recovered
        ? `after ${(r.recoveryMs / 1000).toFixed(1)} s (${r.recoveryAttempts} attempts)`
        : `NEVER within ${(r.recoveryMs / 1000).toFixed(0)} s (${r.recoveryError})`),
  );
  return r;
}

/** Runs `fn`, returning its value or `{error}` so one failed scenario does not end the run. */
export async function attempt<T>(
  log: (msg: string) => void,
  what: string,
  fn: () => Promise<T>,
): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (err) {
    log(`${what} FAILED: ${errorText(err)}`);
    return { error: errorText(err) };
  }
}

/** The value, or undefined for an `{error}` placeholder. */
export function ok<T extends object>(x: T | { error: string } | undefined | null): T | undefined {
  return x && !('error' in x && typeof x.error === 'string' && Object.keys(x).length === 1)
    ? (x as T)
    : undefined;
}
