/**
 * The instruments actors report through: a logger and the server's and agent's metrics, as narrow
 * interfaces (not to be confused with a machine's port, src/actors/portedMachine.ts). Real implementations
 * live in src/observability (wired by src/server/serverInstruments.ts and src/agent/agentInstruments.ts);
 * tests can pass recording ones.
 */
export type LogFields = Record<string, unknown>;

export interface ActorLogger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, err?: unknown, fields?: LogFields): void;
  debug(level: number, msg: string, fields?: LogFields): void;
}

/** Reasons of `server_dial_failure_count`, as the reference names them. */
export type DialFailureReason =
  | 'no_agent'
  | 'error_response'
  | 'unrecognized_response'
  | 'send_rsp'
  | 'backend_close'
  | 'backend_dial_timeout'
  | 'frontend_close'
  /** Ours: the admission queue was full (docs/bursts.md, "Admission"). */
  | 'too_many_dials';

export interface ServerInstruments {
  dialFailed(reason: DialFailureReason): void;
  dialSucceeded(seconds: number): void;
  pendingDials(delta: 1 | -1): void;
  establishedConnections(delta: 1 | -1): void;
  /** An established connection ended: who closed it, as the reference's connection_close_total reasons. */
  connectionClosed(reason: 'frontend_close' | 'backend_close' | 'stream_shutdown', seconds: number): void;
  /** segment: 'from_agent' | 'to_agent' | 'from_frontend' | 'to_frontend' ... per the reference. */
  packet(segment: PacketSegment, type: string): void;
}

export type PacketSegment = 'from_agent' | 'to_agent' | 'from_client' | 'to_client';

/** Reasons of `agent_endpoint_dial_failure_total`, as the reference names them. */
export type EndpointDialFailureReason = 'timeout' | 'unknown';

export interface AgentInstruments {
  serverConnections(delta: 1 | -1): void;
  knownServerCount(count: number): void;
  endpointConnectionOpened(): void;
  /** As the reference's endpoint_connection_close_total reasons. */
  endpointConnectionClosed(reason: 'server_close' | 'endpoint_close' | 'agent_shutdown'): void;
  dialSucceeded(seconds: number): void;
  dialFailed(reason: EndpointDialFailureReason): void;
  packet(direction: 'from_server' | 'to_server', type: string): void;
}
