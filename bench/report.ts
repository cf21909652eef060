/**
 * Turns the raw results into the table rows (scenario, mode, ours, baseline, ratio, target, result) and
 * prints them. Targets are those of the benchmark issues (10 and 13; 13's are the Go reference's figures);
 * a row without a target is informational.
 */
import { KiB, MiB } from './common';
import type { ModeResults } from './modes';
import { ok, type LatencyResult } from './scenarios';
import type { SwarmSection } from './swarmSection';

export type Row = Record<string, string> & { scenario: string; result: string };
export type Columns = readonly (readonly [string, string])[];

const MB = 1e6;
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

export const fmt = {
  mbps: (v: unknown) => (Number.isFinite(num(v)) ? `${num(v).toFixed(1)} MB/s` : 'n/a'),
  ms: (v: unknown) => (Number.isFinite(num(v)) ? `${num(v).toFixed(3)} ms` : 'n/a'),
  kib: (v: unknown) => (Number.isFinite(num(v)) ? `${(num(v) / KiB).toFixed(1)} KiB` : 'n/a'),
  mb: (v: unknown) => (Number.isFinite(num(v)) ? `${(num(v) / MB).toFixed(1)} MB` : 'n/a'),
  mib: (v: unknown) => (Number.isFinite(num(v)) ? `${(num(v) / MiB).toFixed(1)} MiB` : 'n/a'),
  // Below 1, three decimals: a throughput of 0.178x direct against a 0.18x target must not print as 0.18x.
  ratio: (v: unknown) => (Number.isFinite(num(v)) ? `${num(v).toFixed(num(v) < 1 ? 3 : 2)}x` : '-'),
  count: (r: { ok: number; requested: number; openMs: number } | undefined) =>
    r ? `${r.ok}/${r.requested} in ${(r.openMs / 1000).toFixed(2)} s` : 'n/a',
};

export const ratio = (a: unknown, b: unknown): number =>
  Number.isFinite(num(a)) && Number.isFinite(num(b)) && num(b) !== 0 ? num(a) / num(b) : NaN;
export const verdict = (pass: boolean | undefined): string =>
  pass === undefined ? '' : pass ? 'pass' : 'MISS';
const sum = (...xs: unknown[]): number => xs.reduce<number>((a, x) => a + num(x), 0);

/** The targets of issues 10 and 13, in one place so the table and docs/benchmarks.md say the same. */
export const TARGETS = {
  throughputVsDirect: 0.18,
  dialEchoP50VsDirect: 3.9,
  cpuMsPerMiB: 6.6,
  cpuMsPerDial: 1.5,
  idleRssBytes: 60 * MB,
  peakRssAt1000Bytes: 180 * MB,
  idleConnectionBytes: 8 * KiB,
  /** The reference's figures (issue 13): per agent on its own connection, and per multiplexed stream. */
  agentOwnConnection: { rssBytes: 84 * KiB, cpuMs: 2.95 },
  agentMultiplexed: { rssBytes: 24 * KiB, cpuMs: 0.1 },
} as const;

export interface Results {
  direct?: ModeResults;
  modes?: Record<string, ModeResults | { error: string }>;
  swarm?: SwarmSection;
}

export interface RowConfig {
  concurrency: number[];
  burst: number;
  burstEchoBytes: number;
}

export function buildRows(results: Results, cfg: RowConfig): Row[] {
  const rows: Row[] = [];
  const d: ModeResults = results.direct ?? {};
  const add = (
    scenario: string,
    mode: string,
    ours: string,
    direct: string,
    r: string,
    target: string,
    pass: boolean | undefined,
  ): void => void rows.push({ scenario, mode, ours, direct, ratio: r, target, result: verdict(pass) });
  /** A row with no target: both figures in one format, and their ratio. */
  const measured = (
    scenario: string,
    mode: string,
    format: (v: unknown) => string,
    ours: unknown,
    direct: unknown,
  ): void => add(scenario, mode, format(ours), format(direct), fmt.ratio(ratio(ours, direct)), '', undefined);

  const modes: [string, ModeResults][] = Object.entries(results.modes ?? {}).map(([k, v]) => [
    k,
    ok(v) ?? {},
  ]);
  const t = TARGETS;
  for (const [mode, m] of modes) {
    for (const dir of ['download', 'upload'] as const) {
      const o = ok(m.throughput)?.[dir];
      const b = ok(d.throughput)?.[dir];
      const r = ratio(o?.mbps, b?.mbps);
      add(
        `throughput ${dir} (one stream)`,
        mode,
        fmt.mbps(o?.mbps),
        fmt.mbps(b?.mbps),
        fmt.ratio(r),
        `>= ${t.throughputVsDirect}x direct`,
        r >= t.throughputVsDirect,
      );
      const cpu = o?.proxyCpuMsPerMiB;
      add(
        `CPU per MiB ${dir}, server + agent`,
        mode,
        fmt.ms(cpu),
        '-',
        '-',
        `<= ${t.cpuMsPerMiB} ms`,
        Number.isFinite(num(cpu)) ? num(cpu) <= t.cpuMsPerMiB : false,
      );
    }
  }
  /** The p50 and CPU-per-dial rows of one run of the dial + echo cycles; `run` names any run but the first. */
  const latencyRows = (
    mode: string,
    o: LatencyResult | undefined,
    b: LatencyResult | undefined,
    run = '',
  ): void => {
    const r = ratio(o?.dialEcho.p50, b?.dialEcho.p50);
    add(
      `dial+echo p50${run}`,
      mode,
      fmt.ms(o?.dialEcho.p50),
      fmt.ms(b?.dialEcho.p50),
      fmt.ratio(r),
      `<= ${t.dialEchoP50VsDirect}x direct`,
      r <= t.dialEchoP50VsDirect,
    );
    if (!run) measured('dial+echo p99', mode, fmt.ms, o?.dialEcho.p99, b?.dialEcho.p99);
    const perDial = o ? sum(o.cpuMsPerCycle.server, o.cpuMsPerCycle.agent) : NaN;
    add(
      `CPU per dial (dial+echo+close), server + agent${run}`,
      mode,
      fmt.ms(perDial),
      '-',
      '-',
      `<= ${t.cpuMsPerDial} ms`,
      Number.isFinite(perDial) ? perDial <= t.cpuMsPerDial : false,
    );
  };
  for (const [mode, m] of modes) {
    latencyRows(mode, ok(m.latency), ok(d.latency));
    // The same cycles again at once: a process that keeps working, not one back from a quiet spell.
    latencyRows(mode, ok(m.latencyWarm), ok(d.latencyWarm), ', warm (the same again at once)');
  }
  for (const [mode, m] of modes) {
    for (const proc of ['server', 'agent']) {
      const o = m.idleRss?.[proc];
      add(
        `idle RSS ${proc}`,
        mode,
        fmt.mb(o),
        fmt.mb(d.idleRss?.target),
        fmt.ratio(ratio(o, d.idleRss?.target)),
        `<= ${t.idleRssBytes / MB} MB`,
        Number.isFinite(num(o)) ? num(o) <= t.idleRssBytes : false,
      );
    }
  }
  for (const [i, n] of cfg.concurrency.entries()) {
    const last = i === cfg.concurrency.length - 1;
    for (const [mode, m] of modes) {
      const o = ok(m.concurrency?.[n]);
      const b = ok(d.concurrency?.[n]);
      add(
        `${n.toLocaleString('en-US')} concurrent`,
        mode,
        o ? fmt.count(o) : 'error',
        b ? fmt.count(b) : 'error',
        fmt.ratio(ratio(o?.openMs, b?.openMs)),
        last ? 'all succeed' : '',
        last ? !!o && o.ok === n : undefined,
      );
      const rss = o ? sum(o.atPeak.memory.server?.rss, o.atPeak.memory.agent?.rss) : NaN;
      const brss = b?.atPeak.memory.target?.rss;
      if (n === 1000) {
        add(
          'peak RSS at 1,000 concurrent, server + agent',
          mode,
          fmt.mb(rss),
          fmt.mb(brss),
          fmt.ratio(ratio(rss, brss)),
          `<= ${t.peakRssAt1000Bytes / MB} MB`,
          Number.isFinite(rss) ? rss <= t.peakRssAt1000Bytes : false,
        );
        // What of that peak the processes held before the first dial (left by the transfers before).
        const held = o ? sum(o.before?.server?.rss, o.before?.agent?.rss) : NaN;
        const bheld = b?.before?.target?.rss;
        add(
          '... of which held before the first dial',
          mode,
          fmt.mb(held),
          fmt.mb(bheld),
          fmt.ratio(ratio(held, bheld)),
          '',
          undefined,
        );
      }
      if (last && o) {
        // Agent-side memory with every stream on the one agent: its growth over idle, per stream.
        const agentRss = o.atPeak.memory.agent?.rss;
        const per = ratio(num(agentRss) - num(m.idleRss?.agent), n);
        const bper = b ? ratio(num(brss) - num(d.idleRss?.target), n) : NaN;
        add(
          `agent RSS with ${n.toLocaleString('en-US')} streams (per stream)`,
          mode,
          `${fmt.mib(agentRss)} (${fmt.kib(per)})`,
          `${fmt.mib(brss)} (${fmt.kib(bper)})`,
          fmt.ratio(ratio(per, bper)),
          '',
          undefined,
        );
        const cpu = ratio(o.openCpuMs.agent, o.ok);
        const bcpu = b ? ratio(b.openCpuMs.target, b.ok) : NaN;
        measured(
          `agent CPU per stream opened, ${n.toLocaleString('en-US')} streams`,
          mode,
          fmt.ms,
          cpu,
          bcpu,
        );
      }
    }
  }
  for (const [mode, m] of modes) {
    const o = ok(m.burst);
    const b = ok(d.burst);
    const n = cfg.burst;
    const what = mode === 'grpc' ? 'gRPC streams on one channel' : 'CONNECT on the Unix socket';
    add(
      `burst: ${n.toLocaleString('en-US')} ${what}, ${cfg.burstEchoBytes / KiB} KiB echo`,
      mode,
      o ? fmt.count(o) : 'error',
      b ? fmt.count(b) : 'error',
      fmt.ratio(ratio(o?.openMs, b?.openMs)),
      `all ${n.toLocaleString('en-US')} complete`,
      !!o && o.ok === n,
    );
    const cpu = o ? sum(o.cpuPerDialMs.server, o.cpuPerDialMs.agent) : NaN;
    const bcpu = b?.cpuPerDialMs.target;
    measured('burst: CPU per dial, server + agent', mode, fmt.ms, cpu, bcpu);
    const rss = o ? sum(o.atPeak.memory.server?.rss, o.atPeak.memory.agent?.rss) : NaN;
    const brss = b?.atPeak.memory.target?.rss;
    measured('burst: RSS with all open, server + agent', mode, fmt.mb, rss, brss);
  }
  for (const [mode, m] of modes) {
    const o = ok(m.stall);
    const b = ok(d.stall);
    add(
      'stalled neighbour (B with A stalled / B solo)',
      mode,
      o && o.ratio !== null
        ? `${o.ratio.toFixed(2)} (${o.withStalled.mbps.toFixed(1)}/${o.solo.mbps.toFixed(1)} MB/s)`
        : 'error',
      b && b.ratio !== null ? b.ratio.toFixed(2) : 'error',
      fmt.ratio(ratio(o?.ratio, b?.ratio)),
      '>= 0.9',
      !!o && num(o.ratio) >= 0.9,
    );
  }
  for (const [mode, m] of modes) {
    for (const proc of ['server', 'agent']) {
      const o = m.peakRss?.[proc];
      const b = d.peakRss?.target;
      measured(`peak RSS ${proc} (whole run)`, mode, fmt.mib, o, b);
    }
  }
  for (const [mode, m] of modes) {
    for (const proc of ['server', 'agent']) {
      const o = ok(m.idleMemory)?.perConnection[proc];
      const b = ok(d.idleMemory)?.perConnection.target;
      add(
        `memory per idle connection, ${proc}`,
        mode,
        fmt.kib(o),
        fmt.kib(b),
        fmt.ratio(ratio(o, b)),
        `< ${t.idleConnectionBytes / KiB} KiB`,
        Number.isFinite(num(o)) ? num(o) < t.idleConnectionBytes : false,
      );
    }
  }
  for (const run of results.swarm?.runs ?? []) {
    const s = ok(run.ours);
    const sb = ok(run.baseline);
    const n = run.shape.n;
    const shared = run.shape.shared;
    const goal = shared ? t.agentMultiplexed : t.agentOwnConnection;
    const label = `${n.toLocaleString('en-US')} agents${shared ? ', streams on one connection' : ', own connection each'}`;
    const error = 'error' in run.ours ? `error: ${run.ours.error.slice(0, 60)}` : 'error';
    add(
      label,
      'grpc',
      s ? `${s.gauge ?? s.connected}/${s.requested} in ${(s.connectMs / 1000).toFixed(1)} s` : error,
      sb ? `${sb.connected}/${sb.requested} in ${(sb.connectMs / 1000).toFixed(1)} s` : 'error',
      fmt.ratio(ratio(s?.connectMs, sb?.connectMs)),
      `${n.toLocaleString('en-US')} agents`,
      !!s && s.gauge === n,
    );
    add(
      `${label}: server RSS per agent`,
      'grpc',
      fmt.kib(s?.perAgent),
      fmt.kib(sb?.perAgent),
      fmt.ratio(ratio(s?.perAgent, sb?.perAgent)),
      `<= ${goal.rssBytes / KiB} KiB`,
      s && s.perAgent !== null ? s.perAgent <= goal.rssBytes : false,
    );
    add(
      `${label}: server CPU per agent`,
      'grpc',
      fmt.ms(s?.cpuMsPerAgent),
      fmt.ms(sb?.cpuMsPerAgent),
      fmt.ratio(ratio(s?.cpuMsPerAgent, sb?.cpuMsPerAgent)),
      `<= ${goal.cpuMs} ms`,
      s && s.cpuMsPerAgent !== null ? s.cpuMsPerAgent <= goal.cpuMs : false,
    );
  }
  return rows;
}

export const COLUMNS: Columns = [
  ['scenario', 'scenario'],
  ['mode', 'mode'],
  ['ours', 'ours'],
  ['direct', 'baseline'],
  ['ratio', 'ratio'],
  ['target', 'target'],
  ['result', 'result'],
];

/** A table cell: strings as they are, numbers and the rest as JSON, nothing for a missing value. */
const cellText = (v: unknown): string =>
  v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);

export function formatTable(rows: readonly Record<string, unknown>[], columns: Columns = COLUMNS): string {
  const cell = cellText;
  const widths = columns.map(([k, title]) => Math.max(title.length, ...rows.map((r) => cell(r[k]).length)));
  const line = (cells: unknown[]): string => cells.map((c, i) => cell(c).padEnd(widths[i]!)).join(' | ');
  return [
    line(columns.map(([, title]) => title)),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...rows.map((r) => line(columns.map(([k]) => r[k]))),
  ].join('\n');
}

export function formatMarkdown(rows: readonly Record<string, unknown>[], columns: Columns = COLUMNS): string {
  const esc = (v: unknown): string => cellText(v).replace(/\|/g, '\\|');
  return [
    `| ${columns.map(([, t]) => t).join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${columns.map(([k]) => esc(r[k])).join(' | ')} |`),
  ].join('\n');
}
