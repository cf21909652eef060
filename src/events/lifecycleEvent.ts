/**
 * The lifecycle event union and its schema as data. The schema table is checked against the types
 * at compile time (every payload field must be listed with its kind), and drives validation on replay,
 * subject naming (entity + id) and the docs, so the three cannot drift apart.
 */
import type { AgentProcessEvent } from './agentEvents';
import type { EventEnvelope } from './common';
import type { ReasonedType } from './reasons';
import type { ServerEvent } from './serverEvents';

export type LifecycleEvent = ServerEvent | AgentProcessEvent;
export type EventType = LifecycleEvent['type'];
export type EventOfType<T extends EventType> = Extract<LifecycleEvent, { type: T }>;

/** The entity an event is about; the subject token after the process token. */
export type Entity = 'server' | 'agent' | 'dial' | 'conn';
/** Which process writes the event. */
export type ProcessKind = 'server' | 'agent';

/** `reason`: one of the event type's closed set in src/events/reasons.ts. */
export type FieldKind = 'string' | 'int64' | 'number' | 'mode' | 'closedBy' | 'identifiers' | 'reason';
export type EventPayload<E> = Omit<E, keyof EventEnvelope<string>>;
type FieldSpec<E> = {
  readonly [K in keyof EventPayload<E>]-?: undefined extends EventPayload<E>[K] ? `${FieldKind}?` : FieldKind;
};

export interface EventSchema<T extends EventType> {
  readonly process: ProcessKind;
  readonly entity: Entity;
  /** The payload field whose value is the entity id. */
  readonly entityKey: keyof EventPayload<EventOfType<T>> & string;
  readonly fields: FieldSpec<EventOfType<T>>;
}

const dialKey = { random: 'int64', destination: 'string' } as const;
/** Server events about one agent stream: entity `agent`, keyed by its agent id, the stream named. */
const onAgentStream = { process: 'server', entity: 'agent', entityKey: 'agentId' } as const;
const agentStreamKey = { serverId: 'string', agentId: 'string', streamId: 'string?' } as const;

export const EVENT_SCHEMA: { readonly [T in EventType]: EventSchema<T> } = {
  'server.started': {
    process: 'server',
    entity: 'server',
    entityKey: 'serverId',
    fields: { serverId: 'string', mode: 'mode', serverCount: 'number', version: 'string?' },
  },
  'server.stopped': {
    process: 'server',
    entity: 'server',
    entityKey: 'serverId',
    fields: { serverId: 'string', reason: 'reason' },
  },
  'agent.connected': {
    ...onAgentStream,
    fields: { ...agentStreamKey, identifiers: 'identifiers', remoteAddress: 'string' },
  },
  'agent.disconnected': {
    ...onAgentStream,
    fields: { ...agentStreamKey, reason: 'reason', error: 'string?' },
  },
  'agent.draining': { ...onAgentStream, fields: agentStreamKey },
  'dial.requested': {
    process: 'server',
    entity: 'dial',
    entityKey: 'random',
    fields: { serverId: 'string', ...dialKey, mode: 'mode', protocol: 'string', frontend: 'string?' },
  },
  'dial.established': {
    process: 'server',
    entity: 'dial',
    entityKey: 'random',
    fields: { serverId: 'string', ...dialKey, agentId: 'string', connectID: 'int64', latencyMs: 'number' },
  },
  'dial.failed': {
    process: 'server',
    entity: 'dial',
    entityKey: 'random',
    fields: {
      serverId: 'string',
      ...dialKey,
      agentId: 'string?',
      reason: 'reason',
      error: 'string',
      latencyMs: 'number',
    },
  },
  'dial.cancelled': {
    process: 'server',
    entity: 'dial',
    entityKey: 'random',
    fields: { serverId: 'string', ...dialKey, agentId: 'string?', reason: 'reason', latencyMs: 'number' },
  },
  'dial.timed-out': {
    process: 'server',
    entity: 'dial',
    entityKey: 'random',
    fields: { serverId: 'string', ...dialKey, agentId: 'string?', timeoutMs: 'number' },
  },
  'conn.opened': {
    process: 'server',
    entity: 'conn',
    entityKey: 'random',
    fields: { serverId: 'string', ...dialKey, agentId: 'string', connectID: 'int64', mode: 'mode' },
  },
  'conn.closed': {
    process: 'server',
    entity: 'conn',
    entityKey: 'random',
    fields: {
      serverId: 'string',
      ...dialKey,
      agentId: 'string',
      connectID: 'int64',
      bytesToAgent: 'number',
      bytesFromAgent: 'number',
      durationMs: 'number',
      closedBy: 'closedBy',
      reason: 'reason',
      error: 'string?',
    },
  },
  'agent.started': {
    process: 'agent',
    entity: 'agent',
    entityKey: 'agentId',
    fields: { agentId: 'string', identifiers: 'identifiers', version: 'string?' },
  },
  'agent.stopped': {
    process: 'agent',
    entity: 'agent',
    entityKey: 'agentId',
    fields: { agentId: 'string', reason: 'reason' },
  },
  'server.connected': {
    process: 'agent',
    entity: 'server',
    entityKey: 'serverId',
    fields: { agentId: 'string', serverId: 'string', serverCount: 'number', address: 'string' },
  },
  'server.disconnected': {
    process: 'agent',
    entity: 'server',
    entityKey: 'serverId',
    fields: { agentId: 'string', serverId: 'string', reason: 'reason', error: 'string?' },
  },
  'dial.endpoint-connected': {
    process: 'agent',
    entity: 'dial',
    entityKey: 'random',
    fields: { agentId: 'string', serverId: 'string', ...dialKey, connectID: 'int64', latencyMs: 'number' },
  },
  'dial.endpoint-failed': {
    process: 'agent',
    entity: 'dial',
    entityKey: 'random',
    fields: {
      agentId: 'string',
      serverId: 'string',
      ...dialKey,
      reason: 'reason',
      error: 'string',
      latencyMs: 'number',
    },
  },
  'conn.endpoint-closed': {
    process: 'agent',
    entity: 'conn',
    entityKey: 'random',
    fields: {
      agentId: 'string',
      serverId: 'string',
      ...dialKey,
      connectID: 'int64',
      bytesToEndpoint: 'number',
      bytesFromEndpoint: 'number',
      durationMs: 'number',
      closedBy: 'closedBy',
      reason: 'reason',
      error: 'string?',
    },
  },
};

export const EVENT_TYPES = Object.keys(EVENT_SCHEMA) as readonly EventType[];

type TypesWithReason = { [T in EventType]: 'reason' extends keyof EventOfType<T> ? T : never }[EventType];
/** Compile-time: src/events/reasons.ts has a vocabulary for exactly the event types with a `reason`. */
export const REASONS_COVER_EVENT_TYPES: [TypesWithReason] extends [ReasonedType]
  ? [ReasonedType] extends [TypesWithReason]
    ? true
    : never
  : never = true;

export function isEventType(type: unknown): type is EventType {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(EVENT_SCHEMA, type);
}

/** Where an event sits in the subject space: `<entity>.<entityId>.<token>`. */
export function eventAddress(event: LifecycleEvent): { entity: Entity; entityId: string; token: string } {
  const schema = EVENT_SCHEMA[event.type] as EventSchema<EventType>;
  const entityId = (event as unknown as Record<string, unknown>)[schema.entityKey];
  return {
    entity: schema.entity,
    entityId: typeof entityId === 'string' ? entityId : '',
    // The type's past-tense part: 'dial.timed-out' -> 'timed-out'.
    token: event.type.slice(event.type.indexOf('.') + 1),
  };
}
