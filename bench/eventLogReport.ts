/**
 * Rows of the event-log table: for each mode and each log (nats, file) against the log off, download
 * throughput (on/off), dial+echo p50 and p99 (off/on, so that >= 0.95 means at most ~5% slower), dials/s
 * with 1,000 (or the configured number of) concurrent tunnels (on/off), and whether the log holds a
 * `dial.requested` event for every dial the clients made. The on and off columns are medians over rounds
 * (latency: percentiles of the pooled samples); the ratio is the median of the per-round paired ratios
 * (eventLog.ts, pairedRatios), so it need not equal on/off of the two columns exactly.
 */
import type { EventLogSection, VariantSummary } from './eventLog';
import { fmt, ratio, verdict, type Columns } from './report';

/** What the event-log section compares, and the target of the event-log issue. */
export const EVENT_LOG_TARGET = 0.95;

type EventLogRow = Record<string, string>;

export function buildEventLogRows(section: EventLogSection): EventLogRow[] {
  const rows: EventLogRow[] = [];
  // A verdict on a row whose A/A control is more than 5% from 1 gets a '?': the run could not resolve the
  // target there (the same comparison between two identical clusters moved more than the target allows).
  interface Cells {
    scenario: string;
    mode: string;
    on: string;
    off: string;
    ratio: string;
    aa?: string;
    target: string;
    ok: boolean | undefined;
    aaRatio?: number;
  }
  const add = (row: Cells): void => {
    const { ok, aaRatio, ...cells } = row;
    rows.push({
      aa: '',
      ...cells,
      result:
        verdict(ok) + (ok !== undefined && Math.abs((aaRatio ?? NaN) - 1) > 1 - EVENT_LOG_TARGET ? '?' : ''),
    });
  };
  const ge = `>= ${EVENT_LOG_TARGET}`;
  const n = section.config.concurrent.n;
  const rate = (v: number | null): string =>
    v !== null && Number.isFinite(v) ? `${v.toFixed(0)} dials/s` : 'n/a';
  const num = (v: number | null | undefined): number => (v === null || v === undefined ? NaN : v);
  const metrics: [
    'download' | 'p50' | 'p99' | 'dialsPerSecond',
    string,
    (v: VariantSummary) => string,
    boolean,
  ][] = [
    ['download', 'download', (v) => fmt.mbps(v.download.mbps), true],
    ['p50', 'dial+echo p50', (v) => fmt.ms(v.latency.p50), true],
    ['p99', 'dial+echo p99', (v) => fmt.ms(v.latency.p99), false],
    [
      'dialsPerSecond',
      `dials/s, ${n.toLocaleString('en-US')} concurrent`,
      (v) => rate(v.concurrent.dialsPerSecond),
      true,
    ],
  ];
  for (const [mode, m] of Object.entries(section.modes)) {
    if ('error' in m) {
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
    const off = m.variants.off!;
    const logs = Object.keys(m.ratios).filter((k) => !k.startsWith('off'));
    // Controls ('off-b'): a second cluster with the log off, measured like the others. Its ratio against
    // 'off' is what the same comparison gives with no difference at all: the noise floor of that row.
    const control = Object.keys(m.ratios).find((k) => k.startsWith('off'));
    for (const kind of logs) {
      const on = m.variants[kind]!;
      for (const [key, label, show, targeted] of metrics) {
        const r = num(m.ratios[kind]![key].ratio);
        const aaRatio = control ? num(m.ratios[control]![key].ratio) : NaN;
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
      const e = m.variants[kind]!.events;
      if (!e || 'error' in e) {
        add({
          scenario: `event log ${kind}: dial.requested stored / dials made`,
          mode,
          on: `error: ${e?.error.slice(0, 60)}`,
          off: '',
          ratio: '-',
          target: 'all, 0 dropped',
          ok: false,
        });
        continue;
      }
      add({
        scenario: `event log ${kind}: dial.requested stored / dials made`,
        mode,
        on: `${e.dialRequested} / ${e.dialsMade}`,
        off: '',
        ratio: fmt.ratio(ratio(e.dialRequested, e.dialsMade)),
        target: 'all, 0 dropped',
        ok: e.dialRequested === e.dialsMade && e.dropped.server + e.dropped.agent === 0,
      });
    }
  }
  return rows;
}

export const EVENT_LOG_COLUMNS: Columns = [
  ['scenario', 'scenario'],
  ['mode', 'mode'],
  ['on', 'log on'],
  ['off', 'log off'],
  ['ratio', 'ratio'],
  ['aa', 'A/A (off-b / off)'],
  ['target', 'target'],
  ['result', 'result'],
];
