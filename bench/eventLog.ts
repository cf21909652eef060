/**
 * The event-log section: the same server + agent + target + client setup with the lifecycle event log
 * off (`--event-log=off`), on NATS JetStream (`--event-log=nats://...`, server and agent, a private
 * nats-server started by the test harness) and on the embedded file log (the default, under a fresh
 * `--data-dir`), measured in one run; optionally `off-b`, a second cluster with the log off, as an A/A
 * control. The clusters run side by side and every measurement step is taken for each in turn, the order
 * rotating each round (downloads: one client alternating between them), so machine-wide drift hits them
 * alike. Figures are medians over all samples (latency: percentiles of the pooled samples); ratios are
 * medians of per-round paired ratios (pairedRatios). After each step the driver waits for the step's events
 * to be durable (the backlog gauges at 0), so a log catching up never runs into the next variant's
 * measurement, and the CPU it costs is charged to its own variant. At the end it counts the
 * `dial.requested` events that reached the NATS stream and the file log, against the dials the clients
 * made. docs/benchmarks.md.
 */
import { AckPolicy, DeliverPolicy, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import * as fs from 'fs';
import * as path from 'path';
import { FILE_LOG_DEFAULTS } from '../src/persistence/fileEventLog';
import type { Mode } from '../test/e2e/cluster';
import { startNatsServer, type NatsServerHandle } from '../test/helpers/natsServer';
import { waitFor } from '../test/helpers/waitFor';
import {
  EVENT_LOG_BACKLOG,
  EVENT_LOG_DROPPED,
  EVENT_LOG_PUBLISHED,
  startAgent,
  startServer,
  type BenchAgent,
  type BenchCluster,
  type BenchServer,
  tunnelGauges,
} from './cluster';
import { errorText, gcHookEnv, median, percentile, sleep } from './common';
import type { LineChild } from './lineChild';
import * as scenarios from './scenarios';
import type { ConcurrencyResult, Cpu, Ctx, LatencyResult, Pids } from './scenarios';

/** The variants compared, by default; `off-b` (a second cluster with the log off) is an A/A control. */
export const VARIANTS = ['off', 'nats', 'file'];
const kindOf = (variant: string): 'off' | 'nats' | 'file' =>
  variant.startsWith('off') ? 'off' : (variant as 'nats' | 'file');
const STREAM = 'KONNECTIVITY_EVENTS';
/** How long an event log may take to make a step's events durable before the step counts as failed. */
const DRAIN_TIMEOUT_MS = 20_000;
/** The stored events must match the dials made within this long after the last round. */
const VERIFY_TIMEOUT_MS = 20_000;
/** A process must report the event log it was asked for (its start-up events durable) within this long. */
const BACKEND_CHECK_MS = 10_000;

export interface EventLogConfig {
  modes: Mode[];
  warmupRounds: number;
  rounds: number;
  variants: string[];
  download: { bytes: number; capMs: number; perRound: number };
  latency: { n: number; warmup: number; capMs: number };
  concurrent: { n: number; inFlight: number };
}

interface Variant {
  variant: string;
  kind: 'off' | 'nats' | 'file';
  name: string;
  server: BenchServer;
  agent: BenchAgent;
  pids: Pids;
  dials: number;
  log: (m: string) => void;
  ctx: Omit<Ctx, 'target'>;
}

/** Rotates the variant order each round: off,nats,file / nats,file,off / file,off,nats / ... */
const orderOf = (names: string[], round: number): string[] =>
  names.map((_, i) => names[(i + round) % names.length]!);

/** Sum of the backlog gauges of server and agent (null metrics, e.g. with the log off, count as 0). */
async function backlog(v: Variant): Promise<number> {
  const s = await v.server.eventLogGauges();
  const a = await v.agent.eventLogGauges();
  return (s[EVENT_LOG_BACKLOG] ?? 0) + (a[EVENT_LOG_BACKLOG] ?? 0);
}

/** Waits until every event appended so far is durable (fsynced / acked by JetStream); returns ms waited. */
async function drain(v: Variant): Promise<number> {
  const t0 = Date.now();
  // The file log updates its backlog gauge per batch, after gathering one for its batch delay: give an
  // append made at the step's last moment the time to show up in the gauge.
  await sleep(FILE_LOG_DEFAULTS.batchDelayMs + 20);
  try {
    await waitFor(async () => (await backlog(v)) === 0, { timeoutMs: DRAIN_TIMEOUT_MS, intervalMs: 20 });
  } catch (err) {
    throw new Error(
      `${v.name}: event log backlog ${await backlog(v)} still not 0 after ${DRAIN_TIMEOUT_MS} ms`,
      {
        cause: err,
      },
    );
  }
  return Date.now() - t0;
}

interface Step {
  cpuMs: Cpu;
  drainMs: number;
}

/**
 * Runs `fn` against variant `v`, waits for its events to be durable, and returns `fn`'s result with the CPU
 * each process used from the start of the step to the end of the drain, and the drain time.
 */
async function step<T extends object>(v: Variant, fn: () => Promise<T>): Promise<T & Step> {
  const cpu0 = scenarios.cpuOf(v.pids);
  const r = await fn();
  const drainMs = await drain(v);
  return { ...r, cpuMs: scenarios.cpuOf(v.pids, cpu0), drainMs };
}

async function startVariant(o: {
  variant: string;
  mode: Mode;
  c: BenchCluster;
  nats: NatsServerHandle;
  log: (m: string) => void;
}): Promise<Variant> {
  const { variant, mode, c, nats, log } = o;
  const name = `el-${mode}-${variant}`;
  const kind = kindOf(variant);
  const extraArgs = kind === 'off' ? ['--event-log=off'] : kind === 'nats' ? [`--event-log=${nats.url}`] : [];
  const server = await startServer(c, { mode, name, extraArgs });
  let agent: BenchAgent;
  try {
    agent = await startAgent(c, server, { name: `${name}-agent`, extraArgs });
  } catch (err) {
    await server.stop();
    throw err;
  }
  // Make sure each process runs the log it was asked for: `published_total` only exists with a log, is
  // labelled with its backend, and counts the start-up events (server.started, agent.started, ...) once
  // they are durable.
  const backendOf = async (
    read: () => Promise<import('../test/helpers/metrics').Metrics>,
  ): Promise<string | null> => {
    try {
      const m = await read();
      return m.all(EVENT_LOG_PUBLISHED).find((s) => s.value > 0)?.labels['backend'] ?? null;
    } catch {
      return null;
    }
  };
  let seen = { server: null as string | null, agent: null as string | null };
  const matched = await waitFor(
    async () => {
      seen = {
        server: await backendOf(() => server.test.metrics()),
        agent: await backendOf(() => agent.test.metrics()),
      };
      return kind === 'off' ? !seen.server && !seen.agent : seen.server === kind && seen.agent === kind;
    },
    { timeoutMs: BACKEND_CHECK_MS },
  ).catch(() => false);
  const problem = !matched
    ? `${name}: the event log is not what was asked for (${kind}): server ${seen.server}, agent ${seen.agent}`
    : kind === 'file' && !fs.existsSync(path.join(server.dataDir, 'events'))
      ? `${name}: no embedded event log under ${server.dataDir}`
      : null;
  if (problem) {
    await agent.stop();
    await server.stop();
    throw new Error(problem);
  }
  const vlog = (msg: string): void => log(`${variant}: ${msg}`);
  return {
    variant,
    kind,
    name,
    server,
    agent,
    pids: { server: server.pid, agent: agent.pid, ...(kind === 'nats' ? { nats: nats.pid } : {}) },
    dials: 0,
    log: vlog,
    ctx: {
      via: { kind: mode, socketPath: server.socketPath },
      pids: { server: server.pid, agent: agent.pid },
      log: vlog,
      metrics: tunnelGauges(server, agent),
    },
  };
}

interface DownloadSample {
  mbps: number;
  bytes: number;
  ms: number;
  complete: boolean;
}
interface DownloadStep extends Step {
  samples: DownloadSample[];
  bytes: number;
}

/**
 * `perRound` downloads through each variant, from one client process that alternates between them
 * (pass p in the round's order rotated by p), then the drain of every variant. Each variant's CPU over the
 * series is charged to the bytes it carried: its processes are idle while another variant downloads.
 */
async function downloads(
  order: Variant[],
  target: LineChild,
  cfg: EventLogConfig['download'],
): Promise<DownloadStep[]> {
  const ports = await scenarios.listen(target);
  const cpu0 = order.map((v) => scenarios.cpuOf(v.pids));
  const targets = order.map((v) => ({ via: v.ctx.via, address: scenarios.addr(ports.source) }));
  const r = await scenarios.runClient(
    'downloadSeries',
    { targets, bytes: cfg.bytes, capMs: cfg.capMs, passes: cfg.perRound },
    cfg.perRound * order.length * (cfg.capMs + 5000) + 30_000,
  );
  const samples = r.samples as (DownloadSample & { target: number; pass: number })[];
  const out: DownloadStep[] = [];
  for (const [i, v] of order.entries()) {
    v.dials += cfg.perRound;
    const drainMs = await drain(v);
    const mine = samples.filter((x) => x.target === i).sort((a, b) => a.pass - b.pass);
    out.push({
      samples: mine.map((x) => ({ mbps: x.mbps, bytes: x.bytes, ms: x.ms, complete: x.complete })),
      bytes: mine.reduce((a, x) => a + x.bytes, 0),
      cpuMs: scenarios.cpuOf(v.pids, cpu0[i]),
      drainMs,
    });
  }
  return out;
}

type LatencyRun = LatencyResult & { dialEchoSamples?: number[] };

async function latency(v: Variant, target: LineChild, cfg: EventLogConfig['latency']): Promise<LatencyRun> {
  const ports = await scenarios.listen(target);
  const r = (await scenarios.runClient(
    'latency',
    { via: v.ctx.via, address: scenarios.addr(ports.echo), ...cfg, samples: true },
    cfg.capMs + 30_000,
  )) as LatencyRun;
  v.dials += r.attempts;
  return r;
}

async function concurrent(
  v: Variant,
  target: LineChild,
  cfg: EventLogConfig['concurrent'],
): Promise<ConcurrencyResult> {
  v.dials += cfg.n;
  return scenarios.concurrency({ ...v.ctx, target }, cfg);
}

interface EventCounts {
  streamMessages?: number;
  dialRequested: number;
  endpointConnected: number;
}

/** `dial.requested` (server) and `dial.endpoint-connected` (agent) events each variant's log holds. */
async function natsCounts(url: string, v: Variant): Promise<EventCounts> {
  // The type comes from nats-core: transport-node re-exports it from a subpath lint cannot resolve.
  const nc: NatsConnection = await connect({ servers: url, timeout: 5000 });
  try {
    const jsm = await jetstreamManager(nc);
    // Each process publishes under konnectivity.events.<process>.<entity>.<id>.<type> (src/persistence/subjects.ts).
    const count = async (subject: string): Promise<number> => {
      const ci = await jsm.consumers.add(STREAM, {
        filter_subject: subject,
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.All,
        inactive_threshold: 60_000 * 1e6,
      });
      await jsm.consumers.delete(STREAM, ci.name);
      return ci.num_pending;
    };
    return {
      streamMessages: (await jsm.streams.info(STREAM)).state.messages,
      dialRequested: await count(`konnectivity.events.${v.name}.dial.*.requested`),
      endpointConnected: await count(`konnectivity.events.agent-${v.name}-agent.dial.*.endpoint-connected`),
    };
  } finally {
    await nc.close();
  }
}

/** The same two counts in an embedded log: its segments are JSON lines, one record per event. */
function fileCounts(serverDataDir: string, agentDataDir: string): EventCounts {
  const count = (dir: string, type: string): number => {
    const needle = `"type":"${type}"`;
    let n = 0;
    for (const f of fs.readdirSync(dir)) {
      if (!f.endsWith('.jsonl')) continue;
      for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
        if (line.includes(needle)) n++;
    }
    return n;
  };
  return {
    dialRequested: count(path.join(serverDataDir, 'events'), 'dial.requested'),
    endpointConnected: count(path.join(agentDataDir, 'events'), 'dial.endpoint-connected'),
  };
}

export interface EventsStored extends EventCounts {
  dialsMade: number;
  dropped: { server: number; agent: number };
  published: { server: number | null; agent: number | null };
}

/** Waits until the log holds an event for every dial made; returns the last counts. */
async function verifyEvents(v: Variant, nats: NatsServerHandle): Promise<EventsStored> {
  const read =
    v.kind === 'nats'
      ? () => natsCounts(nats.url, v)
      : async () => fileCounts(v.server.dataDir, v.agent.dataDir);
  let counts: EventCounts = { dialRequested: 0, endpointConnected: 0 };
  await waitFor(
    async () => {
      counts = await read();
      return counts.dialRequested >= v.dials;
    },
    { timeoutMs: VERIFY_TIMEOUT_MS, intervalMs: 250 },
  ).catch(() => undefined);
  const s = await v.server.eventLogGauges();
  const a = await v.agent.eventLogGauges();
  return {
    ...counts,
    dialsMade: v.dials,
    dropped: { server: s[EVENT_LOG_DROPPED] ?? 0, agent: a[EVENT_LOG_DROPPED] ?? 0 },
    published: { server: s[EVENT_LOG_PUBLISHED] ?? null, agent: a[EVENT_LOG_PUBLISHED] ?? null },
  };
}

type Maybe<T> = T | { error: string };
const good = <T extends object>(x: Maybe<T> | undefined): x is T => !!x && !('error' in x);

interface Round {
  download?: Maybe<DownloadStep>;
  latency?: Maybe<LatencyRun & Step>;
  concurrent?: Maybe<ConcurrencyResult & Step>;
}

export interface VariantSummary {
  download: {
    samples: number[];
    mbps: number | null;
    complete: boolean;
    cpuMsPerMB: Record<string, number | null>;
  };
  latency: {
    n: number;
    failed: number;
    p50: number | null;
    p99: number | null;
    roundP50s: (number | undefined)[];
    roundP99s: (number | undefined)[];
    cpuMsPerCycle: Record<string, number | null>;
  };
  concurrent: {
    runs: { ok: number; failed: number; openMs: number; clean: boolean | undefined }[];
    dialsPerSecond: number | null;
    allOk: boolean;
  };
  drainMs: { max: number };
  errors: string[];
  dialsMade?: number;
  events?: EventsStored | { error: string; dialsMade: number };
  runs?: Round[];
}

/** Medians and pooled percentiles of one variant's rounds. */
function summarizeVariant(rounds: Round[]): VariantSummary {
  const dl = rounds.map((r) => r.download).filter(good);
  const dlSamples = dl.flatMap((r) => r.samples);
  const lat = rounds.map((r) => r.latency).filter(good);
  const conc = rounds.map((r) => r.concurrent).filter(good);
  const samples = lat.flatMap((r) => r.dialEchoSamples ?? []);
  const medianOf = <T>(list: T[], f: (x: T) => number | null): number | null => {
    const vals = list.map(f).filter((x): x is number => x !== null && Number.isFinite(x));
    return vals.length ? median(vals) : null;
  };
  const cpu = <T extends Step>(list: T[], per: (r: T) => number): Record<string, number | null> => {
    const procs = new Set(list.flatMap((r) => Object.keys(r.cpuMs)));
    const out: Record<string, number | null> = {};
    for (const k of procs) out[k] = medianOf(list, (r) => (r.cpuMs[k] == null ? null : r.cpuMs[k] / per(r)));
    return out;
  };
  return {
    download: {
      samples: dlSamples.map((r) => r.mbps),
      mbps: medianOf(dlSamples, (r) => r.mbps),
      complete: dlSamples.every((r) => r.complete),
      cpuMsPerMB: cpu(dl, (r) => r.bytes / 1e6),
    },
    latency: {
      n: samples.length,
      failed: lat.reduce((a, r) => a + r.failed, 0),
      p50: samples.length ? percentile(samples, 50) : null,
      p99: samples.length ? percentile(samples, 99) : null,
      roundP50s: lat.map((r) => r.dialEcho.p50),
      roundP99s: lat.map((r) => r.dialEcho.p99),
      cpuMsPerCycle: cpu(lat, (r) => r.attempts),
    },
    concurrent: {
      runs: conc.map((r) => ({ ok: r.ok, failed: r.failed, openMs: r.openMs, clean: r.afterClose?.clean })),
      dialsPerSecond: medianOf(conc, (r) => r.ok / (r.openMs / 1000)),
      allOk: conc.every((r) => r.failed === 0 && r.afterClose?.clean !== false),
    },
    drainMs: {
      max: Math.max(
        0,
        ...rounds.flatMap((r) => [r.download, r.latency, r.concurrent].map((x) => (good(x) ? x.drainMs : 0))),
      ),
    },
    errors: rounds.flatMap((r) =>
      (['download', 'latency', 'concurrent'] as const).flatMap((k) => {
        const x = r[k];
        return x && 'error' in x && typeof x.error === 'string' ? [`${k}: ${x.error}`] : [];
      }),
    ),
  };
}

export interface PairedRatio {
  ratio: number | null;
  pairs?: number[];
}
export type Ratios = Record<'download' | 'p50' | 'p99' | 'dialsPerSecond', PairedRatio>;

/**
 * Ratios of variant `on` against `off`, each the median over rounds of the ratio between figures taken in
 * the same round (paired, so drift slower than a round cancels): download on/off (each pass of the round's
 * download series against the same pass), dial+echo p50 off/on (the round's p50s), dials/s on/off. p99 is
 * off/on of the pooled samples' p99, a round's 1% tail being too few samples.
 */
function pairedRatios(
  onRounds: Round[],
  offRounds: Round[],
  on: VariantSummary,
  off: VariantSummary,
): Ratios {
  const pairs = <T>(f: (a: Round, b: Round) => [T | undefined, T | undefined][]): [T, T][] => {
    const out: [T, T][] = [];
    for (let r = 0; r < Math.min(onRounds.length, offRounds.length); r++) {
      for (const [a, b] of f(onRounds[r]!, offRounds[r]!))
        if (a !== undefined && b !== undefined) out.push([a, b]);
    }
    return out;
  };
  const medianRatio = <T>(list: [T, T][], f: (p: [T, T]) => number): PairedRatio => {
    const vals = list.map(f).filter(Number.isFinite);
    return { ratio: vals.length ? median(vals) : null, pairs: vals };
  };
  return {
    download: medianRatio(
      pairs((a, b) =>
        good(a.download) && good(b.download)
          ? a.download.samples.map((d, i) => [d, (b.download as DownloadStep).samples[i]])
          : [],
      ),
      ([a, b]) => a.mbps / b.mbps,
    ),
    p50: medianRatio(
      pairs((a, b) => [[good(a.latency) ? a.latency : undefined, good(b.latency) ? b.latency : undefined]]),
      ([a, b]) => (b.dialEcho.p50 ?? NaN) / (a.dialEcho.p50 ?? NaN),
    ),
    p99: { ratio: (off.latency.p99 ?? NaN) / (on.latency.p99 ?? NaN) },
    dialsPerSecond: medianRatio(
      pairs((a, b) => [
        [good(a.concurrent) ? a.concurrent : undefined, good(b.concurrent) ? b.concurrent : undefined],
      ]),
      ([a, b]) => a.ok / a.openMs / (b.ok / b.openMs),
    ),
  };
}

export interface EventLogModeResult {
  variants: Record<string, VariantSummary>;
  ratios: Record<string, Ratios>;
}

/**
 * One frontend mode: a cluster per variant, `cfg.warmupRounds` unrecorded rounds (JIT, heap sizing), then
 * `cfg.rounds` recorded ones, then the event counts.
 */
async function runMode(o: {
  mode: Mode;
  c: BenchCluster;
  cfg: EventLogConfig;
  nats: NatsServerHandle;
  log: (m: string) => void;
}): Promise<EventLogModeResult> {
  const { mode, c, cfg, nats, log } = o;
  const names = cfg.variants;
  const target = await scenarios.startTarget(`target (eventlog ${mode})`, gcHookEnv());
  const variants: Variant[] = [];
  try {
    for (const variant of names) variants.push(await startVariant({ variant, mode, c, nats, log }));
    log(
      `clusters up: ${variants.map((v) => `${v.variant} (server ${v.server.pid}, agent ${v.agent.pid})`).join(', ')}`,
    );
    const tryStep = async <T extends object>(
      v: Variant,
      what: string,
      fn: () => Promise<T>,
    ): Promise<Maybe<T & Step>> => {
      try {
        return await step(v, fn);
      } catch (err) {
        v.log(`${what} FAILED: ${errorText(err)}`);
        return { error: errorText(err) };
      }
    };
    /** Every step for every variant in turn: downloads, then latency, then the concurrent dials. */
    const runRound = async (round: number): Promise<{ order: string[]; rec: Record<string, Round> }> => {
      const order = orderOf(names, round).map((k) => variants.find((v) => v.variant === k)!);
      const rec: Record<string, Round> = Object.fromEntries(names.map((k) => [k, {}]));
      try {
        const series = await downloads(order, target, cfg.download);
        for (const [i, v] of order.entries()) rec[v.variant]!.download = series[i]!;
      } catch (err) {
        log(`downloads FAILED: ${errorText(err)}`);
        for (const v of order) rec[v.variant]!.download = { error: errorText(err) };
      }
      for (const v of order)
        rec[v.variant]!.latency = await tryStep(v, 'latency', () => latency(v, target, cfg.latency));
      for (const v of order) {
        rec[v.variant]!.concurrent = await tryStep(v, 'concurrent', () =>
          concurrent(v, target, cfg.concurrent),
        );
      }
      return { order: order.map((v) => v.variant), rec };
    };
    const fmtRound =
      (rec: Record<string, Round>) =>
      (k: string): string => {
        const r = rec[k]!;
        const f = <T extends object>(x: Maybe<T> | undefined, g: (y: T) => string): string =>
          good(x) ? g(x) : 'error';
        return (
          `${k} ${f(r.download, (x) => x.samples.map((d) => d.mbps.toFixed(0)).join('/'))} MB/s, ` +
          `p50 ${f(r.latency, (x) => `${(x.dialEcho.p50 ?? NaN).toFixed(3)} ms`)}, ` +
          `${f(r.concurrent, (x) => `${(x.ok / (x.openMs / 1000)).toFixed(0)} dials/s`)}`
        );
      };
    for (let w = 0; w < cfg.warmupRounds; w++) {
      const { rec } = await runRound(w);
      log(
        `warm-up round ${w + 1}/${cfg.warmupRounds} (not recorded): ${names.map(fmtRound(rec)).join('; ')}`,
      );
    }
    const byVariant: Record<string, Round[]> = Object.fromEntries(names.map((k) => [k, []]));
    for (let round = 0; round < cfg.rounds; round++) {
      const { order, rec } = await runRound(round);
      log(`round ${round + 1}/${cfg.rounds} (${order.join(', ')}): ${names.map(fmtRound(rec)).join('; ')}`);
      for (const k of names) byVariant[k]!.push(rec[k]!);
    }
    const out: EventLogModeResult = { variants: {}, ratios: {} };
    for (const v of variants) {
      const s = summarizeVariant(byVariant[v.variant]!);
      s.dialsMade = v.dials;
      if (v.kind !== 'off') {
        try {
          const e = await verifyEvents(v, nats);
          s.events = e;
          v.log(
            `events stored: dial.requested ${e.dialRequested} / ${e.dialsMade} dials made, ` +
              `agent dial.endpoint-connected ${e.endpointConnected}, dropped ${e.dropped.server}+${e.dropped.agent}` +
              (e.streamMessages !== undefined ? `; stream ${STREAM} holds ${e.streamMessages} messages` : ''),
          );
        } catch (err) {
          s.events = { error: errorText(err), dialsMade: v.dials };
          v.log(`event count FAILED: ${errorText(err)}`);
        }
      }
      const c2 = (x: Record<string, number | null>): string =>
        Object.entries(x)
          .map(([k, y]) => `${k} ${y === null ? '?' : y.toFixed(2)}`)
          .join(' / ');
      v.log(
        `CPU ms per MB downloaded: ${c2(s.download.cpuMsPerMB)}; per dial+echo+close cycle: ${c2(s.latency.cpuMsPerCycle)}`,
      );
      out.variants[v.variant] = s;
    }
    for (const k of names.filter((n) => n !== 'off')) {
      out.ratios[k] = pairedRatios(byVariant[k]!, byVariant.off!, out.variants[k]!, out.variants.off!);
    }
    for (const k of names) {
      out.variants[k]!.runs = byVariant[k]!;
      for (const r of byVariant[k]!) if (good(r.latency)) delete r.latency.dialEchoSamples;
    }
    return out;
  } finally {
    for (const v of variants) {
      await v.agent.stop();
      await v.server.stop();
    }
    await target.stop();
  }
}

export interface EventLogSection {
  config: EventLogConfig;
  nats: { version: string | null; url: string };
  modes: Record<string, EventLogModeResult | { error: string }>;
  durationMs: number;
}

/** The whole section: a private nats-server, then each mode in `cfg.modes`. */
export async function runEventLogSection(
  c: BenchCluster,
  cfg: EventLogConfig,
  log: (m: string) => void,
): Promise<EventLogSection> {
  const t0 = Date.now();
  const nats = await startNatsServer();
  const out: EventLogSection = {
    config: cfg,
    nats: { version: nats.version, url: nats.url },
    modes: {},
    durationMs: 0,
  };
  log(`nats-server ${nats.version} (pid ${nats.pid}) on ${nats.url}, store ${nats.storeDir}`);
  try {
    for (const mode of cfg.modes) {
      const scoped = (msg: string): void => log(`${mode} ${msg}`);
      try {
        out.modes[mode] = await runMode({ mode, c, cfg, nats, log: scoped });
      } catch (err) {
        scoped(`FAILED: ${errorText(err)}`);
        out.modes[mode] = { error: errorText(err) };
      }
    }
  } finally {
    await nats.dispose();
  }
  out.durationMs = Date.now() - t0;
  return out;
}
