/** Shapes shared by every lifecycle event. The event model is pure data: no I/O anywhere in src/events. */
import type { ReasonOf } from './reasons';
import type { AgentIdentifiers as MetadataIdentifiers } from '../protocol/agentIdentifiers';

/**
 * Bumped only with an upcaster in src/persistence/upcast.ts, so old logs keep replaying. Version 2
 * closed the `reason` vocabulary (src/events/reasons.ts); version-1 reasons are mapped on read.
 */
export const EVENT_SCHEMA_VERSION = 2;

/**
 * A protocol int64 (`random`, `connectID`) as an exact decimal string. `random` is uniform over
 * [0, 2^63) and a JSON number would silently round it, breaking the match between dial and response.
 */
export type Int64String = string;

export { FRONTEND_MODES, type FrontendMode } from '../protocol/frontendModes';

/** Which side ended a connection first. */
export type CloseInitiator = 'frontend' | 'agent' | 'endpoint' | 'server';
export const CLOSE_INITIATORS: readonly CloseInitiator[] = ['frontend', 'agent', 'endpoint', 'server'];

/**
 * What an agent announced in its `agentidentifiers` gRPC metadata, sparse: absent keys are left out so
 * stored JSON stays minimal.
 */
export type AgentIdentifiers = Partial<MetadataIdentifiers>;

/** Fields every event carries. `time` is RFC 3339 UTC with milliseconds. */
export interface EventEnvelope<T extends string> {
  readonly v: typeof EVENT_SCHEMA_VERSION;
  readonly id: string;
  readonly type: T;
  readonly time: string;
}

/** Events written by a konnectivity server process. */
export interface FromServer {
  readonly serverId: string;
}

/** Events written by a konnectivity agent process. */
export interface FromAgent {
  readonly agentId: string;
}

/** A dial as both processes see it: keyed by the frontend's `random`. */
export interface DialKey {
  readonly random: Int64String;
  readonly destination: string;
}

/**
 * How a connection ended, as both processes record it (`conn.closed` on the server, `conn.endpoint-closed`
 * on the agent); each adds its origin, its peer and its byte counts.
 */
export interface ConnectionEnd<T extends 'conn.closed' | 'conn.endpoint-closed'>
  extends EventEnvelope<T>, DialKey {
  readonly connectID: Int64String;
  readonly durationMs: number;
  readonly closedBy: CloseInitiator;
  readonly reason: ReasonOf<T>;
  readonly error?: string;
}
