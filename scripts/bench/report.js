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
  const d = results.direct;
  const add = (scenario, mode, ours, direct, r, target, ok) =>
    rows.push({ scenario, mode, ours, direct, ratio: r, target, result: verdict(ok) });

  for (const [mode, m] of Object.entries(results.modes)) {
    for (const dir of ['download', 'upload']) {
      const o = val(m.throughput)?.[dir]?.mbps;
      const b = val(d.throughput)?.[dir]?.mbps;
      const r = ratio(o, b);
      add(`throughput ${dir}`, mode, fmt.mbps(o), fmt.mbps(b), fmt.ratio(r), '>= 0.22x direct', r >= 0.22);
    }
  }
  for (const [mode, m] of Object.entries(results.modes)) {
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
    for (const [mode, m] of Object.entries(results.modes)) {
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
  for (const [mode, m] of Object.entries(results.modes)) {
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
  for (const [mode, m] of Object.entries(results.modes)) {
    for (const proc of ['server', 'agent']) {
      const o = m.peakRss?.[proc];
      const b = d.peakRss?.target;
      add(`peak RSS ${proc}`, mode, fmt.mib(o), fmt.mib(b), fmt.ratio(ratio(o, b)), '', undefined);
    }
  }
  for (const [mode, m] of Object.entries(results.modes)) {
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

const COLUMNS = [
  ['scenario', 'scenario'],
  ['mode', 'mode'],
  ['ours', 'ours'],
  ['direct', 'direct baseline'],
  ['ratio', 'ratio'],
  ['target', 'target'],
  ['result', 'result'],
];

function formatTable(rows) {
  const widths = COLUMNS.map(([k, title]) => Math.max(title.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ');
  return [
    line(COLUMNS.map(([, t]) => t)),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...rows.map((r) => line(COLUMNS.map(([k]) => r[k]))),
  ].join('\n');
}

function formatMarkdown(rows) {
  const esc = (v) => String(v).replace(/\|/g, '\\|');
  return [
    `| ${COLUMNS.map(([, t]) => t).join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${COLUMNS.map(([k]) => esc(r[k])).join(' | ')} |`),
  ].join('\n');
}

module.exports = { buildRows, formatTable, formatMarkdown };
