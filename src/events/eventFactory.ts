/**
 * One function per event type. The factory stamps the envelope (schema version, monotonic ULID, time,
 * origin id) and normalises protocol int64s to exact decimal strings, so callers pass the `bigint`s the
 * codec gives them.
 */
import type { AgentProcessEvent } from './agentEvents';
import { classifyReason } from './classifyReason';
import { EVENT_SCHEMA_VERSION, type AgentIdentifiers, type CloseInitiator } from './common';
import { parseAgentIdentifiers } from './identifiers';
import { EVENT_SCHEMA, type EventOfType, type EventPayload, type EventType } from './lifecycleEvent';
import { isReasonedType } from './reasons';
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

export interface ServerEventFactory {
  readonly kind: 'server';
  readonly serverId: string;
  serverStarted(i: ServerInput<'server.started'>): EventOfType<'server.started'>;
  serverStopped(i: ServerInput<'server.stopped'>): EventOfType<'server.stopped'>;
  agentConnected(i: ServerInput<'agent.connected'>): EventOfType<'agent.connected'>;
  agentDisconnected(i: ServerInput<'agent.disconnected'>): EventOfType<'agent.disconnected'>;
  agentDraining(i: ServerInput<'agent.draining'>): EventOfType<'agent.draining'>;
  dialRequested(i: ServerInput<'dial.requested'>): EventOfType<'dial.requested'>;
  dialEstablished(i: ServerInput<'dial.established'>): EventOfType<'dial.established'>;
  dialFailed(i: ServerInput<'dial.failed'>): EventOfType<'dial.failed'>;
  dialCancelled(i: ServerInput<'dial.cancelled'>): EventOfType<'dial.cancelled'>;
  dialTimedOut(i: ServerInput<'dial.timed-out'>): EventOfType<'dial.timed-out'>;
  connOpened(i: ServerInput<'conn.opened'>): EventOfType<'conn.opened'>;
  connClosed(i: ServerInput<'conn.closed'>): EventOfType<'conn.closed'>;
}

export interface AgentEventFactory {
  readonly kind: 'agent';
  readonly agentId: string;
  agentStarted(i: AgentInput<'agent.started'>): EventOfType<'agent.started'>;
  agentStopped(i: AgentInput<'agent.stopped'>): EventOfType<'agent.stopped'>;
  serverConnected(i: AgentInput<'server.connected'>): EventOfType<'server.connected'>;
  serverDisconnected(i: AgentInput<'server.disconnected'>): EventOfType<'server.disconnected'>;
  endpointDialConnected(i: AgentInput<'dial.endpoint-connected'>): EventOfType<'dial.endpoint-connected'>;
  endpointDialFailed(i: AgentInput<'dial.endpoint-failed'>): EventOfType<'dial.endpoint-failed'>;
  endpointConnClosed(i: AgentInput<'conn.endpoint-closed'>): EventOfType<'conn.endpoint-closed'>;
}

export function eventFactory(deps: FactoryDeps & { serverId: string }): ServerEventFactory;
export function eventFactory(deps: FactoryDeps & { agentId: string }): AgentEventFactory;
export function eventFactory(
  deps: FactoryDeps & ({ serverId: string } | { agentId: string }),
): ServerEventFactory | AgentEventFactory {
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? monotonicUlid({ now: () => clock.now() });
  const make =
    <T extends EventType>(type: T, origin: Record<string, string>) =>
    (input: object): EventOfType<T> =>
      ({
        v: EVENT_SCHEMA_VERSION,
        id: ids(),
        type,
        time: new Date(clock.now()).toISOString(),
        ...origin,
        ...withReason(type, normalise(input)),
      }) as unknown as EventOfType<T>;

  if ('serverId' in deps) {
    const o = { serverId: deps.serverId };
    return {
      kind: 'server',
      serverId: deps.serverId,
      serverStarted: make('server.started', o),
      serverStopped: make('server.stopped', o),
      agentConnected: make('agent.connected', o),
      agentDisconnected: make('agent.disconnected', o),
      agentDraining: make('agent.draining', o),
      dialRequested: make('dial.requested', o),
      dialEstablished: make('dial.established', o),
      dialFailed: make('dial.failed', o),
      dialCancelled: make('dial.cancelled', o),
      dialTimedOut: make('dial.timed-out', o),
      connOpened: make('conn.opened', o),
      connClosed: make('conn.closed', o),
    };
  }
  const o = { agentId: deps.agentId };
  return {
    kind: 'agent',
    agentId: deps.agentId,
    agentStarted: make('agent.started', o),
    agentStopped: make('agent.stopped', o),
    serverConnected: make('server.connected', o),
    serverDisconnected: make('server.disconnected', o),
    endpointDialConnected: make('dial.endpoint-connected', o),
    endpointDialFailed: make('dial.endpoint-failed', o),
    endpointConnClosed: make('conn.endpoint-closed', o),
  };
}

/** Puts `reason` into the event type's vocabulary; free text it replaced goes to `error` if that is free. */
export function withReason(type: EventType, fields: Record<string, unknown>): Record<string, unknown> {
  if (!isReasonedType(type)) return fields;
  const { reason, detail } = classifyReason(type, {
    reason: typeof fields.reason === 'string' ? fields.reason : undefined,
    closedBy: fields.closedBy as CloseInitiator | undefined,
  });
  const out: Record<string, unknown> = { ...fields, reason };
  const hasError = 'error' in EVENT_SCHEMA[type].fields;
  if (detail !== undefined && hasError && (fields.error === undefined || fields.error === ''))
    out.error = detail;
  return out;
}

/**
 * Drops absent optional fields (so stored JSON stays minimal), converts int64s and identifiers, and cuts
 * strings to a bounded prefix: most of them are what a peer sent (agent ids, addresses, error texts).
 */
function normalise(input: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (key === 'random' || key === 'connectID') out[key] = toInt64String(value as Int64Input, key);
    else if (key === 'identifiers' && typeof value === 'string')
      out[key] = parseAgentIdentifiers(boundPeerText(value));
    else if (typeof value === 'string') out[key] = boundPeerText(value);
    else out[key] = value;
  }
  return out;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function toInt64String(value: Int64Input, field = 'value'): string {
  let n: bigint;
  try {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(String(value));
    if (typeof value === 'string' && !/^-?\d+$/.test(value)) throw new SyntaxError(value);
    n = BigInt(value);
  } catch (cause) {
    throw new InvalidEventFieldError('not-int64', field, { cause });
  }
  if (n < INT64_MIN || n > INT64_MAX) throw new InvalidEventFieldError('not-int64', field);
  return n.toString();
}
