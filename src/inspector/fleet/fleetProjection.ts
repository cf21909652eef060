/**
 * The fleet as the event log tells it: every server and agent, which agents each server holds (HA),
 * connections per agent and destination, and failures. A pure fold over lifecycle events from every
 * process (servers and agents write to the same log), so it works across replicas and after restarts, and
 * folding a prefix of the log gives the fleet as it stood at that moment (the page's time control).
 */
import type { LifecycleEvent } from '../../events';

/** Closed connections kept in the view (newest); open ones are always all kept. */
export const CLOSED_CONNECTIONS_KEPT = 500;
/** Failures kept in the view (newest). */
export const FAILURES_KEPT = 200;

export interface FleetServer {
  readonly id: string;
  status: 'up' | 'stopped';
  mode: string;
  serverCount: number;
  since: string;
  /** agentId -> streams this server holds from it (an agent may reconnect before the old stream ends). */
  readonly agents: Map<string, number>;
  openConnections: number;
  dials: number;
  failedDials: number;
}

export interface FleetAgent {
  readonly id: string;
  /** `seen` when only servers have reported it (its own events are not in this log). */
  status: 'up' | 'stopped' | 'seen';
  /** Servers this agent holds, as either side reported it. */
  readonly servers: Set<string>;
  openConnections: number;
  closedConnections: number;
  failedDials: number;
}

export interface FleetConnection {
  readonly key: string;
  readonly serverId: string;
  agentId: string | null;
  readonly destination: string;
  state: 'dialing' | 'open' | 'closed' | 'failed';
  readonly requestedAt: string;
  openedAt: string | null;
  closedAt: string | null;
  bytesToAgent: number | null;
  bytesFromAgent: number | null;
  reason: string | null;
}

/** A connection as its dial request left it (or, when that was not seen, as it opened). */
function dialing(
  event: {
    readonly serverId: string;
    readonly random: string;
    readonly destination: string;
    readonly time: string;
  },
  agentId: string | null,
): FleetConnection {
  return {
    key: `${event.serverId}/${event.random}`,
    serverId: event.serverId,
    agentId,
    destination: event.destination,
    state: 'dialing',
    requestedAt: event.time,
    openedAt: null,
    closedAt: null,
    bytesToAgent: null,
    bytesFromAgent: null,
    reason: null,
  };
}

export interface FleetFailure {
  readonly time: string;
  readonly type: string;
  readonly serverId: string | null;
  readonly agentId: string | null;
  readonly destination: string | null;
  readonly reason: string;
  readonly error: string | null;
}

export interface FleetState {
  readonly servers: Map<string, FleetServer>;
  readonly agents: Map<string, FleetAgent>;
  /** Connections by `serverId/random`, in the order they were requested. */
  readonly connections: Map<string, FleetConnection>;
  readonly failures: FleetFailure[];
  /** Keys of ended connections, oldest first, so the oldest can be dropped past CLOSED_CONNECTIONS_KEPT. */
  readonly ended: string[];
  events: number;
}

export function emptyFleet(): FleetState {
  return {
    servers: new Map(),
    agents: new Map(),
    connections: new Map(),
    failures: [],
    ended: [],
    events: 0,
  };
}

function server(state: FleetState, id: string): FleetServer {
  let s = state.servers.get(id);
  if (!s) {
    s = {
      id,
      status: 'up',
      mode: '',
      serverCount: 0,
      since: '',
      agents: new Map(),
      openConnections: 0,
      dials: 0,
      failedDials: 0,
    };
    state.servers.set(id, s);
  }
  return s;
}

function agent(state: FleetState, id: string): FleetAgent {
  let a = state.agents.get(id);
  if (!a) {
    a = { id, status: 'seen', servers: new Set(), openConnections: 0, closedConnections: 0, failedDials: 0 };
    state.agents.set(id, a);
  }
  return a;
}

function fail(state: FleetState, failure: FleetFailure): void {
  state.failures.push(failure);
  if (state.failures.length > FAILURES_KEPT) state.failures.shift();
}

function endConnection(state: FleetState, c: FleetConnection, how: 'closed' | 'failed', time: string): void {
  if (c.state === 'open') {
    const s = state.servers.get(c.serverId);
    if (s) s.openConnections--;
    const a = c.agentId === null ? undefined : state.agents.get(c.agentId);
    if (a) {
      a.openConnections--;
      a.closedConnections++;
    }
  }
  if (c.state !== 'closed' && c.state !== 'failed') state.ended.push(c.key);
  c.state = how;
  c.closedAt = time;
  while (state.ended.length > CLOSED_CONNECTIONS_KEPT) {
    const key = state.ended.shift()!;
    const old = state.connections.get(key);
    if (old && (old.state === 'closed' || old.state === 'failed')) state.connections.delete(key);
  }
}

/** Applies one event (mutating `state`, which the caller owns). */
export function applyFleetEvent(state: FleetState, event: LifecycleEvent): void {
  state.events++;
  switch (event.type) {
    case 'server.started': {
      const s = server(state, event.serverId);
      s.status = 'up';
      s.mode = event.mode;
      s.serverCount = event.serverCount;
      s.since = event.time;
      // A restarted server holds nothing until agents connect again.
      for (const agentId of s.agents.keys()) state.agents.get(agentId)?.servers.delete(s.id);
      s.agents.clear();
      return;
    }
    case 'server.stopped': {
      const s = server(state, event.serverId);
      s.status = 'stopped';
      for (const agentId of s.agents.keys()) state.agents.get(agentId)?.servers.delete(s.id);
      s.agents.clear();
      return;
    }
    case 'agent.connected': {
      const s = server(state, event.serverId);
      s.agents.set(event.agentId, (s.agents.get(event.agentId) ?? 0) + 1);
      const a = agent(state, event.agentId);
      a.servers.add(s.id);
      if (a.status === 'stopped') a.status = 'seen';
      return;
    }
    case 'agent.disconnected': {
      const s = server(state, event.serverId);
      const streams = (s.agents.get(event.agentId) ?? 1) - 1;
      if (streams > 0) s.agents.set(event.agentId, streams);
      else {
        s.agents.delete(event.agentId);
        state.agents.get(event.agentId)?.servers.delete(s.id);
      }
      return;
    }
    case 'agent.draining':
      return;
    case 'dial.requested': {
      server(state, event.serverId).dials++;
      const c = dialing(event, null);
      state.connections.set(c.key, c);
      return;
    }
    case 'dial.established': {
      const c = state.connections.get(`${event.serverId}/${event.random}`);
      if (c) c.agentId = event.agentId;
      return;
    }
    case 'dial.failed':
    case 'dial.cancelled':
    case 'dial.timed-out': {
      const s = server(state, event.serverId);
      const reason = event.type === 'dial.timed-out' ? 'timeout' : event.reason;
      if (event.type !== 'dial.cancelled') s.failedDials++;
      const agentId = event.agentId ?? null;
      if (agentId !== null && event.type !== 'dial.cancelled') agent(state, agentId).failedDials++;
      const c = state.connections.get(`${event.serverId}/${event.random}`);
      if (c) {
        c.agentId ??= agentId;
        c.reason = reason;
        endConnection(state, c, 'failed', event.time);
      }
      if (event.type !== 'dial.cancelled') {
        fail(state, {
          time: event.time,
          type: event.type,
          serverId: event.serverId,
          agentId,
          destination: event.destination,
          reason,
          error: event.type === 'dial.failed' ? event.error : null,
        });
      }
      return;
    }
    case 'conn.opened': {
      const key = `${event.serverId}/${event.random}`;
      const c = state.connections.get(key) ?? dialing(event, event.agentId);
      state.connections.set(key, c);
      c.agentId = event.agentId;
      c.state = 'open';
      c.openedAt = event.time;
      server(state, event.serverId).openConnections++;
      agent(state, event.agentId).openConnections++;
      return;
    }
    case 'conn.closed': {
      const c = state.connections.get(`${event.serverId}/${event.random}`);
      if (c) {
        c.bytesToAgent = event.bytesToAgent;
        c.bytesFromAgent = event.bytesFromAgent;
        c.reason = `${event.closedBy}: ${event.reason}`;
        endConnection(state, c, 'closed', event.time);
      }
      return;
    }
    case 'agent.started': {
      const a = agent(state, event.agentId);
      a.status = 'up';
      return;
    }
    case 'agent.stopped': {
      const a = agent(state, event.agentId);
      a.status = 'stopped';
      return;
    }
    case 'server.connected':
      agent(state, event.agentId).servers.add(event.serverId);
      return;
    case 'server.disconnected':
      agent(state, event.agentId).servers.delete(event.serverId);
      return;
    case 'dial.endpoint-failed':
      fail(state, {
        time: event.time,
        type: event.type,
        serverId: event.serverId,
        agentId: event.agentId,
        destination: event.destination,
        reason: event.reason,
        error: event.error,
      });
      return;
    case 'dial.endpoint-connected':
    case 'conn.endpoint-closed':
      return;
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** Folds events into a fresh state. */
export function foldFleet(events: Iterable<LifecycleEvent>): FleetState {
  const state = emptyFleet();
  for (const event of events) applyFleetEvent(state, event);
  return state;
}
