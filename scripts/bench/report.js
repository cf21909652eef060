/**
 * Turns the raw results into the table rows (scenario, mode, ours, baseline, ratio, target, result) and
 * prints them. Targets are the ones in the benchmark issue; a row without a target is informational.
 */
'use strict';
const { MiB } = require('./common');

const fmt = {
  mbps: (v) => (Number.isFinite(v) ? `${v.toFixed(1)} MB/s` : 'n/a'),
  ms: (v) => (Number.isFinite(v) ? `${v.toFixed(3)} ms` : 'n/a'),
  kib: (v) => (Number.isFinite(v) ? `${(v / 1024).toFixed(1)} KiB` : 'n/a'),
  mib: (v) => (Number.isFinite(v) ? `${(v / MiB).toFixed(1)} MiB` : 'n/a'),
  ratio: (v) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-'),
  count: (r) => (r ? `${r.ok}/${r.requested} in ${(r.openMs / 1000).toFixed(2)} s` : 'n/a'),
};

const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN);
const verdict = (ok) => (ok === undefined ? '' : ok ? 'pass' : 'MISS');

/** A value that may be an `{error}` placeholder. */
const val = (x) => (x && !x.error ? x : undefined);

function buildRows(results, cfg) {
  const rows = [];
  const d = results.direct || {};
  const add = (scenario, mode, ours, direct, r, target, ok) =>
    rows.push({ scenario, mode, ours, direct, ratio: r, target, result: verdict(ok) });

  const modes = results.modes || {};
  for (const [mode, m] of Object.entries(modes)) {
    for (const dir of ['download', 'upload']) {
      const o = val(m.throughput)?.[dir]?.mbps;
      const b = val(d.throughput)?.[dir]?.mbps;
      const r = ratio(o, b);
      add(`throughput ${dir}`, mode, fmt.mbps(o), fmt.mbps(b), fmt.ratio(r), '>= 0.22x direct', r >= 0.22);
    }
  }
  for (const [mode, m] of Object.entries(modes)) {
    const o = val(m.latency)?.dialEcho;
    const b = val(d.latency)?.dialEcho;
    const r = ratio(o?.p50, b?.p50);
    add('dial+echo p50', mode, fmt.ms(o?.p50), fmt.ms(b?.p50), fmt.ratio(r), '<= 2.5x direct', r <= 2.5);
    add(
      'dial+echo p99',
      mode,
      fmt.ms(o?.p99),
      fmt.ms(b?.p99),
      fmt.ratio(ratio(o?.p99, b?.p99)),
      '',
      undefined,
    );
  }
  for (const [i, n] of cfg.concurrency.entries()) {
    const last = i === cfg.concurrency.length - 1;
    for (const [mode, m] of Object.entries(modes)) {
      const o = val(m.concurrency?.[n]);
      const b = val(d.concurrency?.[n]);
      add(
        `${n.toLocaleString('en-US')} concurrent`,
        mode,
        o ? fmt.count(o) : 'error',
        b ? fmt.count(b) : 'error',
        fmt.ratio(ratio(o?.openMs, b?.openMs)),
        last ? 'all succeed' : '',
        last ? !!o && o.ok === n : undefined,
      );
    }
  }
  for (const [mode, m] of Object.entries(modes)) {
    const o = val(m.burst);
    const b = val(d.burst);
    const n = cfg.burst;
    add(
      `burst: ${n.toLocaleString('en-US')} at once${mode === 'grpc' ? ' (one channel)' : ''}`,
      mode,
      o ? fmt.count(o) : 'error',
      b ? fmt.count(b) : 'error',
      fmt.ratio(ratio(o?.openMs, b?.openMs)),
      'all succeed',
      !!o && o.ok === n,
    );
    for (const proc of ['server', 'agent']) {
      add(`burst: CPU per dial, ${proc}`, mode, fmt.ms(o?.cpuPerDialMs?.[proc]), '-', '-', '', undefined);
    }
  }
  for (const [mode, m] of Object.entries(modes)) {
    const o = val(m.stall);
    const b = val(d.stall);
    add(
      'stalled neighbour (B with A stalled / B solo)',
      mode,
      o ? `${o.ratio.toFixed(2)} (${o.withStalled.mbps.toFixed(1)}/${o.solo.mbps.toFixed(1)} MB/s)` : 'error',
      b ? `${b.ratio.toFixed(2)}` : 'error',
      fmt.ratio(ratio(o?.ratio, b?.ratio)),
      '>= 0.9',
      !!o && o.ratio >= 0.9,
    );
  }
  for (const [mode, m] of Object.entries(modes)) {
    for (const proc of ['server', 'agent']) {
      const o = m.peakRss?.[proc];
      const b = d.peakRss?.target;
      add(`peak RSS ${proc}`, mode, fmt.mib(o), fmt.mib(b), fmt.ratio(ratio(o, b)), '', undefined);
    }
  }
  for (const [mode, m] of Object.entries(modes)) {
    for (const proc of ['server', 'agent']) {
      const o = val(m.idleMemory)?.perConnection?.[proc];
      const b = val(d.idleMemory)?.perConnection?.target;
      add(
        `memory per idle connection, ${proc}`,
        mode,
        fmt.kib(o),
        fmt.kib(b),
        fmt.ratio(ratio(o, b)),
        '< 16 KiB',
        Number.isFinite(o) ? o < 16 * 1024 : false,
      );
    }
  }
  if (!results.swarm) return rows;
  const s = val(results.swarm?.ours);
  const sb = val(results.swarm?.baseline);
  const swarmMode = results.swarm?.mode || '';
  add(
    `${cfg.swarmN.toLocaleString('en-US')} agents on one server`,
    swarmMode,
    s ? `${s.gauge ?? s.connected}/${s.requested} in ${(s.connectMs / 1000).toFixed(1)} s` : 'error',
    sb ? `${sb.connected}/${sb.requested} in ${(sb.connectMs / 1000).toFixed(1)} s` : 'error',
    fmt.ratio(ratio(s?.connectMs, sb?.connectMs)),
    `${cfg.swarmN.toLocaleString('en-US')} agents`,
    !!s && s.gauge === cfg.swarmN,
  );
  add(
    'server memory per agent',
    swarmMode,
    fmt.kib(s?.perAgent),
    fmt.kib(sb?.perAgent),
    fmt.ratio(ratio(s?.perAgent, sb?.perAgent)),
    '',
    undefined,
  );
  return rows;
}

/** What the event-log section compares, and the target of the event-log issue. */
const EVENT_LOG_TARGET = 0.95;

/**
 * Rows of the event-log table: for each mode and each log (nats, file) against the log off, download
 * throughput (on/off), dial+echo p50 and p99 (off/on, so that >= 0.95 means at most ~5% slower), dials/s
 * with 1,000 (or the configured number of) concurrent tunnels (on/off), and whether the log holds a
 * `dial.requested` event for every dial the clients made. The on and off columns are medians over rounds
 * (latency: percentiles of the pooled samples); the ratio is the median of the per-round paired ratios
 * (eventLog.js, pairedRatios), so it need not equal on/off of the two columns exactly.
 */
function buildEventLogRows(section) {
  const rows = [];
  if (!section) return rows;
  // A verdict on a row whose A/A control is more than 5% from 1 gets a '?': the run could not resolve the
  // target there (the same comparison between two identical clusters moved more than the target allows).
  const add = (row) =>
    rows.push({
      aa: '',
      ...row,
      result:
        verdict(row.ok) +
        (row.ok !== undefined && Math.abs(row.aaRatio - 1) > 1 - EVENT_LOG_TARGET ? '?' : ''),
    });
  const ge = `>= ${EVENT_LOG_TARGET}`;
  const n = section.config?.concurrent?.n;
  const rate = (v) => (Number.isFinite(v) ? `${v.toFixed(0)} dials/s` : 'n/a');
  const num = (v) => (v === null || v === undefined ? NaN : v);
  const metrics = [
    ['download', 'download', (v) => fmt.mbps(v.download.mbps), true],
    ['p50', 'dial+echo p50', (v) => fmt.ms(v.latency.p50), true],
    ['p99', 'dial+echo p99', (v) => fmt.ms(v.latency.p99), false],
    [
      'dialsPerSecond',
      `dials/s, ${n?.toLocaleString('en-US')} concurrent`,
      (v) => rate(v.concurrent.dialsPerSecond),
      true,
    ],
  ];
  for (const [mode, m] of Object.entries(section.modes || {})) {
    if (m.error) {
      add({
        scenario: 'event log',
        mode,
        on: `error: ${m.error.slice(0, 60)}`,
        off: '',
        ratio: '-',
        target: ge,
        ok: false,
      });
      continue;
    }
    const off = m.variants.off;
    const logs = Object.keys(m.ratios || {}).filter((k) => !k.startsWith('off'));
    // Controls ('off-b'): a second cluster with the log off, measured like the others. Its ratio against
    // 'off' is what the same comparison gives with no difference at all: the noise floor of that row.
    const control = Object.keys(m.ratios || {}).find((k) => k.startsWith('off'));
    for (const kind of logs) {
      const on = m.variants[kind];
      for (const [key, label, show, targeted] of metrics) {
        const r = num(m.ratios[kind][key].ratio);
        const aaRatio = control ? num(m.ratios[control][key].ratio) : NaN;
        add({
          scenario: `event log ${kind} / off: ${label}`,
          mode,
          on: show(on),
          off: show(off),
          ratio: fmt.ratio(r),
          aa: control ? fmt.ratio(aaRatio) : '',
          aaRatio,
          target: targeted ? ge : '',
          ok: targeted ? r >= EVENT_LOG_TARGET : undefined,
        });
      }
    }
    for (const kind of logs) {
      const e = m.variants[kind].events;
      const good = !!e && !e.error;
      add({
        scenario: `event log ${kind}: dial.requested stored / dials made`,
        mode,
        on: good ? `${e.dialRequested} / ${e.dialsMade}` : `error: ${e?.error?.slice(0, 60)}`,
        off: '',
        ratio: good ? fmt.ratio(ratio(e.dialRequested, e.dialsMade)) : '-',
        target: 'all, 0 dropped',
        ok: good && e.dialRequested === e.dialsMade && e.dropped.server + e.dropped.agent === 0,
      });
    }
  }
  return rows;
}

const EVENT_LOG_COLUMNS = [
  ['scenario', 'scenario'],
  ['mode', 'mode'],
  ['on', 'log on'],
  ['off', 'log off'],
  ['ratio', 'ratio'],
  ['aa', 'A/A (off-b / off)'],
  ['target', 'target'],
  ['result', 'result'],
];

const COLUMNS = [
  ['scenario', 'scenario'],
  ['mode', 'mode'],
  ['ours', 'ours'],
  ['direct', 'direct baseline'],
  ['ratio', 'ratio'],
  ['target', 'target'],
  ['result', 'result'],
];

function formatTable(rows, columns = COLUMNS) {
  const widths = columns.map(([k, title]) => Math.max(title.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ');
  return [
    line(columns.map(([, t]) => t)),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...rows.map((r) => line(columns.map(([k]) => r[k]))),
  ].join('\n');
}

function formatMarkdown(rows, columns = COLUMNS) {
  const esc = (v) => String(v).replace(/\|/g, '\\|');
  return [
    `| ${columns.map(([, t]) => t).join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${columns.map(([k]) => esc(r[k])).join(' | ')} |`),
  ].join('\n');
}

module.exports = { buildRows, buildEventLogRows, EVENT_LOG_COLUMNS, formatTable, formatMarkdown };
