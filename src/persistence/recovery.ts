/**
 * Recovery as a pure fold over the log: `evolve(state, event)` gives what was open when the log ends
 * (agents, dials, connections, the process run itself) and cumulative counters. `closingEvents` turns
 * what a crash left open into the events that close it.
 */
import type { LifecycleEvent } from '../events';
import {
  clone,
  initialState,
  type ByteCount,
  type Draft,
  type RecoveryCounters,
  type RecoveryState,
} from './recoveryState';

export * from './recoveryState';
export { closingEvents } from './closingEvents';

/** Pure: returns a new state and leaves `state` untouched. */
export function evolve(state: RecoveryState, event: LifecycleEvent): RecoveryState {
  const draft = clone(state);
  apply(draft, event);
  return draft;
}

/**
 * Folds a whole log. Equal to reducing with `evolve`, but copies the state once instead of once per
 * event, which matters for millions of events with thousands open.
 */
export async function fold(
  events: AsyncIterable<LifecycleEvent> | Iterable<LifecycleEvent>,
  from: RecoveryState = initialState(),
): Promise<RecoveryState> {
  const draft = clone(from);
  const step = (event: LifecycleEvent): void => apply(draft, event);
  if (Symbol.asyncIterator in events) for await (const event of events) step(event);
  else for (const event of events) step(event);
  return draft;
}

function apply(s: Draft, e: LifecycleEvent): void {
  s.events++;
  s.lastEventId = e.id;
  const c = s.counters;
  switch (e.type) {
    case 'server.started':
    case 'agent.started':
      s.running = { since: e.time };
      return;
    case 'server.stopped':
    case 'agent.stopped':
      s.running = undefined;
      return;
    case 'agent.connected':
      s.agents.set(streamKey(e.agentId, e.streamId), {
        agentId: e.agentId,
        streamId: e.streamId,
        remoteAddress: e.remoteAddress,
        since: e.time,
        draining: false,
      });
      return;
    case 'agent.draining': {
      const key = streamKey(e.agentId, e.streamId);
      const open = s.agents.get(key);
      if (open !== undefined) s.agents.set(key, { ...open, draining: true });
      return;
    }
    case 'agent.disconnected':
      if (e.streamId !== undefined) s.agents.delete(streamKey(e.agentId, e.streamId));
      else for (const [k, a] of s.agents) if (a.agentId === e.agentId) s.agents.delete(k);
      return;
    case 'dial.requested':
      c.dialsRequested++;
      s.dials.set(e.random, {
        random: e.random,
        destination: e.destination,
        mode: e.mode,
        requestedAt: e.time,
      });
      return;
    case 'dial.established':
    case 'dial.failed':
    case 'dial.timed-out':
    case 'dial.cancelled':
      // Every way a dial ends forgets it; only the counters differ.
      s.dials.delete(e.random);
      if (e.type === 'dial.established') c.dialsEstablished++;
      else if (e.type === 'dial.cancelled') c.dialsCancelled++;
      else increment(c.dialFailures, e.type === 'dial.failed' ? e.reason : 'timed-out');
      return;
    case 'conn.opened':
    case 'dial.endpoint-connected':
      if (e.type === 'dial.endpoint-connected') c.endpointDials++;
      c.connectionsOpened++;
      s.conns.set(e.random, {
        side: e.type === 'conn.opened' ? 'server' : 'agent',
        random: e.random,
        destination: e.destination,
        connectID: e.connectID,
        agentId: e.agentId,
        serverId: e.serverId,
        openedAt: e.time,
      });
      return;
    case 'conn.closed':
    case 'conn.endpoint-closed':
      c.connectionsClosed++;
      s.conns.delete(e.random);
      if (e.type === 'conn.closed') addBytes(c.bytesByAgent, e.agentId, e.bytesToAgent, e.bytesFromAgent);
      else addBytes(c.bytesByServer, e.serverId, e.bytesToEndpoint, e.bytesFromEndpoint);
      return;
    case 'dial.endpoint-failed':
      increment(c.endpointDialFailures, e.reason);
      return;
    case 'server.connected':
      s.servers.set(e.serverId, { serverId: e.serverId, address: e.address, since: e.time });
      return;
    case 'server.disconnected':
      s.servers.delete(e.serverId);
      return;
    default: {
      const _exhaustive: never = e;
      return _exhaustive;
    }
  }
}

function streamKey(agentId: string, streamId: string | undefined): string {
  return `${agentId}\u0000${streamId ?? ''}`;
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function addBytes(map: Map<string, ByteCount>, key: string, to: number, from: number): void {
  const prev = map.get(key) ?? { toEndpoint: 0, fromEndpoint: 0 };
  map.set(key, { toEndpoint: prev.toEndpoint + to, fromEndpoint: prev.fromEndpoint + from });
}

/**
 * A state kept current as events happen, starting from what recovery folded: cumulative counters continue
 * across restarts. Applies in place (one clone at the start), so it is cheap per event. `absorb` adds the
 * counters of earlier runs when recovery finishes after this run has begun (the log was not readable at
 * start): what those runs left open is closed by then, so only their counters carry over.
 */
export function liveState(from: RecoveryState = initialState()): {
  readonly state: RecoveryState;
  apply(event: LifecycleEvent): void;
  absorb(earlier: RecoveryState): void;
} {
  const draft = clone(from);
  return {
    state: draft,
    apply: (event) => apply(draft, event),
    absorb: (earlier) => addCounters(draft, earlier),
  };
}

/**
 * Maps that keep nothing: the open sets of a state that only counts. A process's live counters are
 * folded from every event it records, and keeping its open connections there too was a second copy of
 * what the checkpoint fold (durableFold.ts) keeps: about 200 bytes per open connection.
 */
class Forgetting<K, V> extends Map<K, V> {
  override set(): this {
    return this;
  }
}

/**
 * Like `liveState`, but only the cumulative counters (and the event count) are kept: what a process's
 * lifetime metrics read.
 */
export function liveCounters(): {
  readonly counters: RecoveryCounters;
  apply(event: LifecycleEvent): void;
  absorb(earlier: RecoveryState): void;
} {
  const draft: Draft = {
    ...clone(initialState()),
    agents: new Forgetting(),
    servers: new Forgetting(),
    dials: new Forgetting(),
    conns: new Forgetting(),
  };
  return {
    counters: draft.counters,
    apply: (event) => apply(draft, event),
    absorb: (earlier) => addCounters(draft, earlier),
  };
}

function addCounters(into: Draft, earlier: RecoveryState): void {
  const c = into.counters;
  const e = earlier.counters;
  into.events += earlier.events;
  c.dialsRequested += e.dialsRequested;
  c.dialsEstablished += e.dialsEstablished;
  c.dialsCancelled += e.dialsCancelled;
  c.endpointDials += e.endpointDials;
  c.connectionsOpened += e.connectionsOpened;
  c.connectionsClosed += e.connectionsClosed;
  for (const [k, n] of e.dialFailures) c.dialFailures.set(k, (c.dialFailures.get(k) ?? 0) + n);
  for (const [k, n] of e.endpointDialFailures) {
    c.endpointDialFailures.set(k, (c.endpointDialFailures.get(k) ?? 0) + n);
  }
  for (const [k, b] of e.bytesByAgent) addBytes(c.bytesByAgent, k, b.toEndpoint, b.fromEndpoint);
  for (const [k, b] of e.bytesByServer) addBytes(c.bytesByServer, k, b.toEndpoint, b.fromEndpoint);
}
