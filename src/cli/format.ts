/** Human-readable output: aligned tables and one-line event renderings. */
import { EVENT_SCHEMA, type LifecycleEvent } from '../events';
import type { AuditRow } from './audit';
import { formatDuration } from './duration';

/** Columns padded to the widest cell; numbers right-aligned. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: ReadonlySet<number>,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function auditTable(rows: readonly AuditRow[]): string {
  const header = [
    'AGENT',
    'DESTINATION',
    'CONNS',
    'OPEN',
    'TO ENDPOINT',
    'FROM ENDPOINT',
    'FAILURES',
    'LONGEST',
  ];
  const total = rows.reduce(
    (t, r) => ({
      connections: t.connections + r.connections,
      open: t.open + r.open,
      to: t.to + r.bytesToEndpoint,
      from: t.from + r.bytesFromEndpoint,
      failures: t.failures + r.failures,
      longest: Math.max(t.longest, r.longestMs),
    }),
    { connections: 0, open: 0, to: 0, from: 0, failures: 0, longest: 0 },
  );
  const cells = rows.map((r) => [
    r.agentId,
    r.destination,
    String(r.connections),
    String(r.open),
    formatBytes(r.bytesToEndpoint),
    formatBytes(r.bytesFromEndpoint),
    String(r.failures),
    r.connections > 0 ? formatDuration(r.longestMs) : '-',
  ]);
  cells.push([
    'TOTAL',
    '',
    String(total.connections),
    String(total.open),
    formatBytes(total.to),
    formatBytes(total.from),
    String(total.failures),
    total.connections > 0 ? formatDuration(total.longest) : '-',
  ]);
  return table(header, cells, new Set([2, 3, 4, 5, 6, 7]));
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

const ENVELOPE = new Set(['v', 'id', 'type', 'time']);
/** Shown first, in this order, because they are what people grep for. */
const LEADING = ['agentId', 'destination', 'random', 'connectID', 'reason'];
const LABEL: Readonly<Record<string, string>> = { agentId: 'agent', destination: 'dest' };
const SOURCE_WIDTH = 16;
const TYPE_WIDTH = 24;

/** `time  source  type  key=value ...` with fixed-width columns, so followed output stays aligned. */
export function eventLine(event: LifecycleEvent): string {
  const fields = event as unknown as Record<string, unknown>;
  const isAgent = EVENT_SCHEMA[event.type].process === 'agent';
  // The process that wrote the event is the source column; its id is not repeated in the details.
  const origin = isAgent ? 'agentId' : 'serverId';
  const source = isAgent ? `agent:${String(fields.agentId)}` : String(fields.serverId);
  const keys = Object.keys(fields).filter((k) => !ENVELOPE.has(k) && k !== origin);
  keys.sort((a, b) => rank(a) - rank(b));
  const details = keys.map((k) => `${LABEL[k] ?? k}=${value(fields[k])}`).join(' ');
  return (
    `${event.time}  ${source.padEnd(SOURCE_WIDTH)}  ${event.type.padEnd(TYPE_WIDTH)}  ${details}`.trimEnd() +
    '\n'
  );
}

function rank(key: string): number {
  const i = LEADING.indexOf(key);
  return i === -1 ? LEADING.length : i;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
