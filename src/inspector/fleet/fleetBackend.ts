/**
 * The JSON API of the fleet inspector (documented in docs/inspector.md): `fleet?at=N|time=ISO` (the fleet
 * after N events, or as it stood at a time; the whole log by default), `events?...`, and the live
 * `stream`, whose frames say how far the log has grown so a page watching "live" refreshes.
 */
import { matchesFeedFilter } from '../eventFeed';
import type { InspectorBackend } from '../http/inspectorHandler';
import { InspectorRequestError } from '../http/requestError';
import { FRAME_INTERVAL_MS } from '../http/viewerStream';
import { feedFilter, MAX_EVENTS_PER_REQUEST } from '../processBackend';
import type { FleetState } from './fleetProjection';
import type { FleetStore } from './fleetStore';

/** Connections listed in one view: open ones first, then the most recently ended. */
export const CONNECTIONS_LISTED = 200;

export interface FleetSourceStatus {
  readonly location: string;
  /** The last read error, cleared once reading works again. */
  readonly error: string | null;
}

function view(state: FleetState, params: URLSearchParams): unknown {
  const agentFilter = params.get('agent') ?? '';
  const destinationFilter = params.get('destination') ?? '';
  const connections = [...state.connections.values()].filter(
    (c) => (c.agentId ?? '').includes(agentFilter) && c.destination.includes(destinationFilter),
  );
  const open = connections.filter((c) => c.state === 'open' || c.state === 'dialing');
  const ended = connections.filter((c) => c.state === 'closed' || c.state === 'failed').reverse();
  return {
    servers: [...state.servers.values()].map((s) => ({
      id: s.id,
      status: s.status,
      mode: s.mode,
      serverCount: s.serverCount,
      since: s.since,
      agents: [...s.agents.keys()].sort(),
      openConnections: s.openConnections,
      dials: s.dials,
      failedDials: s.failedDials,
    })),
    agents: [...state.agents.values()].map((a) => ({
      id: a.id,
      status: a.status,
      servers: [...a.servers].sort(),
      openConnections: a.openConnections,
      closedConnections: a.closedConnections,
      failedDials: a.failedDials,
    })),
    connections: {
      open: open.length,
      listed: [...open, ...ended].slice(0, CONNECTIONS_LISTED),
    },
    failures: [...state.failures].reverse(),
  };
}

export function fleetBackend(store: FleetStore, status: () => FleetSourceStatus): InspectorBackend {
  const position = (params: URLSearchParams): number => {
    const at = params.get('at');
    if (at !== null && at !== '') {
      if (!/^\d+$/.test(at)) {
        throw new InspectorRequestError(`at: ${JSON.stringify(at)} is not a number of events (0 or more)`);
      }
      return Math.min(Number(at), store.length);
    }
    const time = params.get('time');
    if (time !== null && time !== '') {
      const t = Date.parse(time);
      if (!Number.isFinite(t)) {
        throw new InspectorRequestError(`time: ${JSON.stringify(time)} is not a date and time (ISO 8601)`);
      }
      return store.countUntil(t);
    }
    return store.length;
  };
  return {
    info: () => ({ mode: 'fleet', source: status(), frameIntervalMs: FRAME_INTERVAL_MS }),
    get: (route, params) => {
      if (route.length !== 1) return undefined;
      const at = position(params);
      if (route[0] === 'fleet') {
        const last = at > 0 ? store.event(at - 1) : undefined;
        return {
          position: {
            at,
            total: store.length,
            droppedBefore: store.droppedEvents,
            time: last?.time ?? null,
            event: last ?? null,
          },
          ...(view(store.stateAfter(at), params) as object),
        };
      }
      if (route[0] === 'events') {
        const filter = feedFilter(params);
        const limit = Math.min(Number.parseInt(params.get('limit') ?? '', 10) || 100, MAX_EVENTS_PER_REQUEST);
        return { at, events: store.recent(at, (e) => matchesFeedFilter(e, filter), limit) };
      }
      return undefined;
    },
    viewer: () => ({
      frame: (skipped) => {
        const s = status();
        return { total: store.length, error: s.error, skipped };
      },
      leave: () => undefined,
    }),
  };
}
