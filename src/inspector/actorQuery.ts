/**
 * The actor table's server-side filtering, sorting and paging: a page asks for one screenful, so ten
 * thousand connections cost the browser nothing more than ten.
 */
import type { ActorRow } from './actorRecords';

export const SORT_FIELDS = [
  'id',
  'kind',
  'state',
  'agent',
  'server',
  'destination',
  'age',
  'bytesOut',
  'bytesIn',
] as const;
export type SortField = (typeof SORT_FIELDS)[number];

/** The most rows one request returns: a screenful or two; a tool wanting more pages through. */
export const MAX_PAGE = 500;
const DEFAULT_PAGE = 100;

export interface ActorQuery {
  readonly kind?: string;
  readonly machine?: string;
  /** A state path or its prefix (`open` matches `open.flowing`). */
  readonly state?: string;
  readonly agent?: string;
  readonly destination?: string;
  /** Free text matched against id, agent, server and destination. */
  readonly q?: string;
  /** Include actors that ended recently (recorded while someone was looking). */
  readonly ended: boolean;
  readonly sort: SortField;
  readonly desc: boolean;
  readonly offset: number;
  readonly limit: number;
}

export interface ActorPage {
  readonly total: number;
  readonly offset: number;
  readonly rows: readonly ActorRow[];
}

export function parseActorQuery(params: URLSearchParams): ActorQuery {
  const text = (name: string): string | undefined => {
    const v = params.get(name);
    return v === null || v === '' ? undefined : v;
  };
  const int = (name: string, fallback: number, max: number): number => {
    const n = Number.parseInt(params.get(name) ?? '', 10);
    return Number.isFinite(n) && n >= 0 ? Math.min(n, max) : fallback;
  };
  const sort = params.get('sort');
  const optional = (name: string): Record<string, string> => {
    const v = text(name);
    return v === undefined ? {} : { [name]: v };
  };
  return {
    ...optional('kind'),
    ...optional('machine'),
    ...optional('state'),
    ...optional('agent'),
    ...optional('destination'),
    ...optional('q'),
    ended: params.get('ended') !== 'false',
    sort: (SORT_FIELDS as readonly string[]).includes(sort ?? '') ? (sort as SortField) : 'age',
    desc: params.get('dir') === 'desc',
    offset: int('offset', 0, Number.MAX_SAFE_INTEGER),
    limit: int('limit', DEFAULT_PAGE, MAX_PAGE) || DEFAULT_PAGE,
  };
}

function matches(row: ActorRow, query: ActorQuery): boolean {
  if (query.kind && row.kind !== query.kind) return false;
  if (query.machine && row.machine !== query.machine) return false;
  if (query.state && !(row.state === query.state || row.state.startsWith(`${query.state}.`))) return false;
  if (query.agent && !(row.agent ?? '').includes(query.agent)) return false;
  if (query.destination && !(row.destination ?? '').includes(query.destination)) return false;
  if (query.q) {
    const q = query.q;
    const hay = [row.id, row.agent, row.server, row.destination];
    if (!hay.some((h) => h !== null && h.includes(q))) return false;
  }
  return true;
}

function sortKey(row: ActorRow, field: SortField, now: number): string | number {
  switch (field) {
    case 'age':
      return (row.endedAt ?? now) - row.startedAt;
    case 'bytesOut':
      return row.bytesOut ?? -1;
    case 'bytesIn':
      return row.bytesIn ?? -1;
    case 'id':
      return Number.parseInt(row.id.replace(/^\D+/, ''), 10) || 0;
    default:
      return row[field] ?? '';
  }
}

/** Filters, sorts and pages rows. Pure. */
export function queryActors(rows: Iterable<ActorRow>, query: ActorQuery, now: number): ActorPage {
  const kept: ActorRow[] = [];
  for (const row of rows) if ((query.ended || row.endedAt === null) && matches(row, query)) kept.push(row);
  const sign = query.desc ? -1 : 1;
  kept.sort((a, b) => {
    const x = sortKey(a, query.sort, now);
    const y = sortKey(b, query.sort, now);
    return x < y ? -sign : x > y ? sign : 0;
  });
  return {
    total: kept.length,
    offset: query.offset,
    rows: kept.slice(query.offset, query.offset + query.limit),
  };
}
