/**
 * One function per event type. The factory stamps the envelope (schema version, monotonic ULID, time,
 * origin id) and normalises protocol int64s to exact decimal strings, so callers pass the `bigint`s the
 * codec gives them.
 */
import type { AgentProcessEvent } from './agentEvents';
import { classifyReason } from './classifyReason';
import { EVENT_SCHEMA_VERSION, type AgentIdentifiers, type CloseInitiator } from './common';
import { parseAgentIdentifiers } from './identifiers';
import {
  EVENT_SCHEMA,
  type EventOfType,
  type EventPayload,
  type EventType,
  type LifecycleEvent,
} from './lifecycleEvent';
import { isReasonedType, type ReasonedType } from './reasons';
import { boundPeerText } from '../protocol/peerText';
import type { ServerEvent } from './serverEvents';
import { monotonicUlid, type IdGenerator } from './ulid';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export type Int64Input = bigint | number | string;

/** Raised for a value that cannot be an event field: a programming error in the caller. */
export class InvalidEventFieldError extends Error {
  override readonly name = 'InvalidEventFieldError';
  constructor(
    readonly reason: 'not-int64',
    readonly field: string,
    options?: { cause?: unknown },
  ) {
    super(`event field ${field} is not a signed 64-bit integer`, options);
  }
}

/**
 * A producer's own wording of a reason, classified into the vocabulary by `classifyReason` (the text
 * is kept in `error`). Producers should pass a vocabulary value; this exists for the ones that still
 * hand over a stream's or a peer's free text.
 */
export type FreeTextReason = string & {};

type Inputs<P> = {
  [K in keyof P]: K extends 'random' | 'connectID'
    ? Int64Input
    : K extends 'identifiers'
      ? AgentIdentifiers | string
      : K extends 'reason'
        ? P[K] | FreeTextReason
        : P[K];
};
type ServerInput<T extends ServerEvent['type']> = Inputs<Omit<EventPayload<EventOfType<T>>, 'serverId'>>;
type AgentInput<T extends AgentProcessEvent['type']> = Inputs<Omit<EventPayload<EventOfType<T>>, 'agentId'>>;

export interface FactoryDeps {
  clock?: Clock;
  ids?: IdGenerator;
}

/** The factory's method for each event type a server writes. */
const SERVER_METHODS = {
  serverStarted: 'server.started',
  serverStopped: 'server.stopped',
  agentConnected: 'agent.connected',
  agentDisconnected: 'agent.disconnected',
  agentDraining: 'agent.draining',
  dialRequested: 'dial.requested',
  dialEstablished: 'dial.established',
  dialFailed: 'dial.failed',
  dialCancelled: 'dial.cancelled',
  dialTimedOut: 'dial.timed-out',
  connOpened: 'conn.opened',
  connClosed: 'conn.closed',
} as const satisfies Record<string, ServerEvent['type']>;

/** The factory's method for each event type an agent writes. */
const AGENT_METHODS = {
  agentStarted: 'agent.started',
  agentStopped: 'agent.stopped',
  serverConnected: 'server.connected',
  serverDisconnected: 'server.disconnected',
  endpointDialConnected: 'dial.endpoint-connected',
  endpointDialFailed: 'dial.endpoint-failed',
  endpointConnClosed: 'conn.endpoint-closed',
} as const satisfies Record<string, AgentProcessEvent['type']>;

export type ServerEventFactory = { readonly kind: 'server'; readonly serverId: string } & {
  readonly [M in keyof typeof SERVER_METHODS]: (
    i: ServerInput<(typeof SERVER_METHODS)[M]>,
  ) => EventOfType<(typeof SERVER_METHODS)[M]>;
};

export type AgentEventFactory = { readonly kind: 'agent'; readonly agentId: string } & {
  readonly [M in keyof typeof AGENT_METHODS]: (
    i: AgentInput<(typeof AGENT_METHODS)[M]>,
  ) => EventOfType<(typeof AGENT_METHODS)[M]>;
};

export function eventFactory(deps: FactoryDeps & { serverId: string }): ServerEventFactory;
export function eventFactory(deps: FactoryDeps & { agentId: string }): AgentEventFactory;
export function eventFactory(
  deps: FactoryDeps & ({ serverId: string } | { agentId: string }),
): ServerEventFactory | AgentEventFactory {
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? monotonicUlid({ now: () => clock.now() });
  const [kind, originKey, origin, methods]: [string, string, string, Record<string, EventType>] =
    'serverId' in deps
      ? ['server', 'serverId', deps.serverId, SERVER_METHODS]
      : ['agent', 'agentId', deps.agentId, AGENT_METHODS];
  const out: Record<string, unknown> = { kind, [originKey]: origin };
  for (const [method, type] of Object.entries(methods))
    out[method] = maker(type, originKey, origin, clock, ids);
  return out as unknown as ServerEventFactory | AgentEventFactory;
}

/**
 * One event type's constructor. It runs on every dial of both processes, so what can be decided per type
 * is decided here, once, and each call builds exactly one object, in the field order the log stores.
 */
function maker(
  type: EventType,
  originKey: string,
  origin: string,
  clock: Clock,
  ids: IdGenerator,
): (input: object) => LifecycleEvent {
  const reasoned = isReasonedType(type);
  const hasError = 'error' in EVENT_SCHEMA[type].fields;
  return (input) => {
    const now = clock.now();
    const out: Record<string, unknown> = {
      v: EVENT_SCHEMA_VERSION,
      id: ids(now),
      type,
      time: new Date(now).toISOString(),
    };
    out[originKey] = origin;
    normaliseInto(out, input);
    if (reasoned) classifyInto(type, out, hasError);
    return out as unknown as LifecycleEvent;
  };
}

/** Puts `reason` into the event type's vocabulary; free text it replaced goes to `error` if that is free. */
export function withReason(type: EventType, fields: Record<string, unknown>): Record<string, unknown> {
  if (!isReasonedType(type)) return fields;
  const out = { ...fields };
  classifyInto(type, out, 'error' in EVENT_SCHEMA[type].fields);
  return out;
}

function classifyInto(type: ReasonedType, fields: Record<string, unknown>, hasError: boolean): void {
  const { reason, detail } = classifyReason(type, {
    reason: typeof fields.reason === 'string' ? fields.reason : undefined,
    closedBy: fields.closedBy as CloseInitiator | undefined,
  });
  fields.reason = reason;
  if (detail !== undefined && hasError && (fields.error === undefined || fields.error === ''))
    fields.error = detail;
}

/**
 * Copies the input's fields into `out`, dropping absent optional ones (so stored JSON stays minimal),
 * converting int64s and identifiers, and cutting strings to a bounded prefix: most of them are what a
 * peer sent (agent ids, addresses, error texts).
 */
function normaliseInto(out: Record<string, unknown>, input: object): void {
  const fields = input as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value === undefined) continue;
    if (key === 'random' || key === 'connectID') out[key] = toInt64String(value as Int64Input, key);
    else if (typeof value === 'string')
      out[key] = key === 'identifiers' ? parseAgentIdentifiers(boundPeerText(value)) : boundPeerText(value);
    else out[key] = value;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function toInt64String(value: Int64Input, field = 'value'): string {
  // What the codec hands over (a bigint) and small numbers need no parsing; strings are checked and
  // normalised ('0042' -> '42') through BigInt.
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) throw new InvalidEventFieldError('not-int64', field);
    return value.toString();
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new InvalidEventFieldError('not-int64', field, { cause: new RangeError(String(value)) });
    return String(value);
  }
  let n: bigint;
  try {
    if (!/^-?\d+$/.test(value)) throw new SyntaxError(value);
    n = BigInt(value);
  } catch (cause) {
    throw new InvalidEventFieldError('not-int64', field, { cause });
  }
  if (n < INT64_MIN || n > INT64_MAX) throw new InvalidEventFieldError('not-int64', field);
  return n.toString();
}
