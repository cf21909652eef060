/**
 * Facts recorded by the agent process. Type names differ from the server's (`dial.endpoint-connected`
 * rather than `dial.established`) so one union discriminates on `type` alone even when both processes
 * share a stream.
 */
import type {
  ConnectionEnd,
  AgentIdentifiers,
  DialKey,
  EventEnvelope,
  FromAgent,
  Int64String,
} from './common';
import type { ReasonOf } from './reasons';

export interface AgentStarted extends EventEnvelope<'agent.started'>, FromAgent {
  readonly identifiers: AgentIdentifiers;
  readonly version?: string;
}

export interface AgentStopped extends EventEnvelope<'agent.stopped'>, FromAgent {
  readonly reason: ReasonOf<'agent.stopped'>;
}

/** The agent's tunnel to one server came up (the server told us its id and the server count). */
export interface ServerConnected extends EventEnvelope<'server.connected'>, FromAgent {
  readonly serverId: string;
  readonly serverCount: number;
  /** The proxy-server address the agent dialed (often a load balancer). */
  readonly address: string;
}

export interface ServerDisconnected extends EventEnvelope<'server.disconnected'>, FromAgent {
  readonly serverId: string;
  readonly reason: ReasonOf<'server.disconnected'>;
  readonly error?: string;
}

export interface EndpointDialConnected extends EventEnvelope<'dial.endpoint-connected'>, FromAgent, DialKey {
  readonly serverId: string;
  readonly connectID: Int64String;
  readonly latencyMs: number;
}

export interface EndpointDialFailed extends EventEnvelope<'dial.endpoint-failed'>, FromAgent, DialKey {
  readonly serverId: string;
  readonly reason: ReasonOf<'dial.endpoint-failed'>;
  /** Go-style text sent back in DIAL_RSP, e.g. `dial tcp 127.0.0.1:1: connect: connection refused`. */
  readonly error: string;
  readonly latencyMs: number;
}

export interface EndpointConnClosed extends ConnectionEnd<'conn.endpoint-closed'>, FromAgent {
  readonly serverId: string;
  readonly bytesToEndpoint: number;
  readonly bytesFromEndpoint: number;
}

export type AgentProcessEvent =
  | AgentStarted
  | AgentStopped
  | ServerConnected
  | ServerDisconnected
  | EndpointDialConnected
  | EndpointDialFailed
  | EndpointConnClosed;
