/** Facts recorded by the server process, in past tense. Entity ids: serverId, agentId, `random`. */
import type {
  ConnectionEnd,
  AgentIdentifiers,
  DialKey,
  EventEnvelope,
  FromServer,
  FrontendMode,
  Int64String,
} from './common';
import type { ReasonOf } from './reasons';

export interface ServerStarted extends EventEnvelope<'server.started'>, FromServer {
  readonly mode: FrontendMode;
  readonly serverCount: number;
  readonly version?: string;
}

export interface ServerStopped extends EventEnvelope<'server.stopped'>, FromServer {
  readonly reason: ReasonOf<'server.stopped'>;
}

export interface AgentConnected extends EventEnvelope<'agent.connected'>, FromServer {
  readonly agentId: string;
  /** Distinguishes several streams of one agent to this server (the oldest serves dials). */
  readonly streamId?: string;
  readonly identifiers: AgentIdentifiers;
  readonly remoteAddress: string;
}

export interface AgentDisconnected extends EventEnvelope<'agent.disconnected'>, FromServer {
  readonly agentId: string;
  readonly streamId?: string;
  readonly reason: ReasonOf<'agent.disconnected'>;
  readonly error?: string;
}

export interface AgentDraining extends EventEnvelope<'agent.draining'>, FromServer {
  readonly agentId: string;
  readonly streamId?: string;
}

export interface DialRequested extends EventEnvelope<'dial.requested'>, FromServer, DialKey {
  readonly mode: FrontendMode;
  readonly protocol: string;
  /** The frontend's address or stream id, when known: who asked. */
  readonly frontend?: string;
}

export interface DialEstablished extends EventEnvelope<'dial.established'>, FromServer, DialKey {
  readonly agentId: string;
  readonly connectID: Int64String;
  readonly latencyMs: number;
}

export interface DialFailed extends EventEnvelope<'dial.failed'>, FromServer, DialKey {
  /** Absent when no agent was chosen (`no-agent`). */
  readonly agentId?: string;
  readonly reason: ReasonOf<'dial.failed'>;
  /** The error text the frontend was given, e.g. `dial tcp 10.0.0.5:1: connect: connection refused`. */
  readonly error: string;
  readonly latencyMs: number;
}

export interface DialCancelled extends EventEnvelope<'dial.cancelled'>, FromServer, DialKey {
  readonly agentId?: string;
  readonly reason: ReasonOf<'dial.cancelled'>;
  readonly latencyMs: number;
}

export interface DialTimedOut extends EventEnvelope<'dial.timed-out'>, FromServer, DialKey {
  readonly agentId?: string;
  readonly timeoutMs: number;
}

/** The connection is carrying bytes; its entity id is the dial's `random`, unique per connection. */
export interface ConnOpened extends EventEnvelope<'conn.opened'>, FromServer, DialKey {
  readonly agentId: string;
  readonly connectID: Int64String;
  readonly mode: FrontendMode;
}

export interface ConnClosed extends ConnectionEnd<'conn.closed'>, FromServer {
  readonly agentId: string;
  /** Frontend -> agent (towards the endpoint). */
  readonly bytesToAgent: number;
  /** Agent -> frontend (from the endpoint). */
  readonly bytesFromAgent: number;
}

export type ServerEvent =
  | ServerStarted
  | ServerStopped
  | AgentConnected
  | AgentDisconnected
  | AgentDraining
  | DialRequested
  | DialEstablished
  | DialFailed
  | DialCancelled
  | DialTimedOut
  | ConnOpened
  | ConnClosed;
