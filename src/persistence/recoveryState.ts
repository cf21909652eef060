/** The state recovery folds the log into: what is open, and cumulative counters. */
import type { FrontendMode } from '../events';

export interface OpenAgentStream {
  readonly agentId: string;
  readonly streamId?: string;
  readonly remoteAddress: string;
  readonly since: string;
  readonly draining: boolean;
}
export interface OpenServerLink {
  readonly serverId: string;
  readonly address: string;
  readonly since: string;
}
export interface OpenDial {
  readonly random: string;
  readonly destination: string;
  readonly mode: FrontendMode;
  readonly requestedAt: string;
}
export interface OpenConn {
  /** Who recorded it: a server's relayed connection or an agent's endpoint connection. */
  readonly side: 'server' | 'agent';
  readonly random: string;
  readonly destination: string;
  readonly connectID: string;
  readonly agentId: string;
  readonly serverId: string;
  readonly openedAt: string;
}
export interface ByteCount {
  /** Towards the endpoint (frontend -> agent -> endpoint). */
  readonly toEndpoint: number;
  readonly fromEndpoint: number;
}
export interface RecoveryCounters {
  readonly dialsRequested: number;
  readonly dialsEstablished: number;
  readonly dialsCancelled: number;
  /** `dial.failed` by reason, plus `timed-out` for `dial.timed-out`. */
  readonly dialFailures: ReadonlyMap<string, number>;
  readonly endpointDials: number;
  readonly endpointDialFailures: ReadonlyMap<string, number>;
  readonly connectionsOpened: number;
  readonly connectionsClosed: number;
  /** Server log: bytes relayed per agent. */
  readonly bytesByAgent: ReadonlyMap<string, ByteCount>;
  /** Agent log: bytes carried per server tunnel. */
  readonly bytesByServer: ReadonlyMap<string, ByteCount>;
}
export interface RecoveryState {
  /** The process run that started and has not recorded its stop. */
  readonly running?: { readonly since: string };
  readonly agents: ReadonlyMap<string, OpenAgentStream>;
  readonly servers: ReadonlyMap<string, OpenServerLink>;
  readonly dials: ReadonlyMap<string, OpenDial>;
  readonly conns: ReadonlyMap<string, OpenConn>;
  readonly counters: RecoveryCounters;
  readonly events: number;
  readonly lastEventId?: string;
}

export type Mutable<T> = {
  -readonly [K in keyof T]: T[K] extends ReadonlyMap<infer K2, infer V> ? Map<K2, V> : T[K];
};
export type Draft = Omit<Mutable<RecoveryState>, 'counters'> & { counters: Mutable<RecoveryCounters> };

export function initialState(): RecoveryState {
  return {
    agents: new Map(),
    servers: new Map(),
    dials: new Map(),
    conns: new Map(),
    events: 0,
    counters: {
      dialsRequested: 0,
      dialsEstablished: 0,
      dialsCancelled: 0,
      dialFailures: new Map(),
      endpointDials: 0,
      endpointDialFailures: new Map(),
      connectionsOpened: 0,
      connectionsClosed: 0,
      bytesByAgent: new Map(),
      bytesByServer: new Map(),
    },
  };
}

export function clone(s: RecoveryState): Draft {
  const c = s.counters;
  return {
    ...s,
    agents: new Map(s.agents),
    servers: new Map(s.servers),
    dials: new Map(s.dials),
    conns: new Map(s.conns),
    counters: {
      ...c,
      dialFailures: new Map(c.dialFailures),
      endpointDialFailures: new Map(c.endpointDialFailures),
      bytesByAgent: new Map(c.bytesByAgent),
      bytesByServer: new Map(c.bytesByServer),
    },
  };
}
