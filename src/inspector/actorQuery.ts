/**
 * The actor table's server-side filtering, sorting and paging: a page asks for one screenful, so ten
 * thousand connections cost the browser nothing more than ten, and the process builds a hundred rows.
 */
import type { ActorFacts, LiveActor } from '../actors/actorHost';
import { KIND_MACHINE, rowOf, type ActorRow } from './actorRecords';
import { stateKey } from './stateValue';

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

/** An actor the table may list: live (`endedAt` null) or recently ended. */
export interface ActorCandidate {
  readonly entry: LiveActor;
  readonly endedAt: number | null;
}

/** Sorts that need the actor's facts (its `describe()`); the others read only what the host keeps. */
const FACT_SORTS: ReadonlySet<SortField> = new Set(['agent', 'server', 'destination', 'bytesOut', 'bytesIn']);

interface Kept {
  readonly candidate: ActorCandidate;
  readonly facts: ActorFacts | undefined;
  readonly key: string | number;
}

function factsMatch(id: string, facts: ActorFacts, query: ActorQuery): boolean {
  if (query.agent && !(facts.agent ?? '').includes(query.agent)) return false;
  if (query.destination && !(facts.destination ?? '').includes(query.destination)) return false;
  if (query.q) {
    const q = query.q;
    const hay = [id, facts.agent, facts.server, facts.destination];
    if (!hay.some((h) => h !== undefined && h.includes(q))) return false;
  }
  return true;
}

function sortKey(
  c: ActorCandidate,
  state: string,
  facts: ActorFacts | undefined,
  field: SortField,
  now: number,
): string | number {
  switch (field) {
    case 'age':
      return (c.endedAt ?? now) - c.entry.startedAt;
    case 'id':
      return Number.parseInt(c.entry.actor.sessionId.replace(/^\D+/, ''), 10) || 0;
    case 'kind':
      return c.entry.kind;
    case 'state':
      return state;
    case 'bytesOut':
      return facts?.bytesOut ?? -1;
    case 'bytesIn':
      return facts?.bytesIn ?? -1;
    default:
      return facts?.[field] ?? '';
  }
}

/**
 * Filters, sorts and pages actors. An actor is asked to describe itself only when the query filters or
 * sorts on what it describes, and rows are built for the page alone: the page's usual request (sorted by
 * age, filtered by kind or state) reads only what the host keeps and each actor's state.
 */
export function queryActors(candidates: Iterable<ActorCandidate>, query: ActorQuery, now: number): ActorPage {
  const needsFacts = Boolean(query.agent || query.destination || query.q) || FACT_SORTS.has(query.sort);
  const kept: Kept[] = [];
  for (const candidate of candidates) {
    if (!query.ended && candidate.endedAt !== null) continue;
    const { entry } = candidate;
    if (query.kind && entry.kind !== query.kind) continue;
    if (query.machine && KIND_MACHINE[entry.kind] !== query.machine) continue;
    const state = stateKey(entry.actor.getSnapshot().value as never);
    if (query.state && !(state === query.state || state.startsWith(`${query.state}.`))) continue;
    let facts: ActorFacts | undefined;
    if (needsFacts) {
      facts = entry.describe() ?? {};
      if (!factsMatch(entry.actor.sessionId, facts, query)) continue;
    }
    kept.push({ candidate, facts, key: sortKey(candidate, state, facts, query.sort, now) });
  }
  const sign = query.desc ? -1 : 1;
  kept.sort((a, b) => (a.key < b.key ? -sign : a.key > b.key ? sign : 0));
  return {
    total: kept.length,
    offset: query.offset,
    rows: kept
      .slice(query.offset, query.offset + query.limit)
      .map((k) => rowOf(k.candidate.entry, k.candidate.endedAt, k.facts)),
  };
}
