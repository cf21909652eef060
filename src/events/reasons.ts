/**
 * The closed set of `reason` values of every event type that has one: one spelling style (kebab-case),
 * each value with what it means. The event types take their `reason` unions from here, validation
 * rejects anything else, and docs/events.md prints these tables, so code, stored events and docs cannot
 * disagree. The reference's metric labels (`no_agent`, `error_response`, ...) are a different
 * vocabulary, kept as the reference spells them for dashboards built on the Go binaries.
 */

export const REASONS = {
  'server.stopped': {
    shutdown: 'the process was stopped (SIGTERM, SIGINT)',
    'server-restart': 'written at the next start for a run that ended without `server.stopped` (a crash)',
  },
  'agent.disconnected': {
    'stream-ended': 'the agent ended its stream (EOF or cancel)',
    'stream-error': 'the stream failed (transport error, reset); `error` says how',
    'keepalive-timeout': 'the agent stopped answering HTTP/2 pings (frozen, or behind a network black hole)',
    'malformed-packet': 'the agent sent bytes that are not a packet; the server closed its stream',
    'server-shutdown': 'this server is shutting down',
    'server-restart': 'the server crashed while the agent was connected',
  },
  'dial.failed': {
    'no-agent': 'no agent could take the dial (`No agent available`)',
    'bad-address': 'the address is longer than any host:port can be: refused before an agent was chosen',
    'agent-error':
      'the agent answered DIAL_RSP with an error, in `error` (refused, unknown host, not allowed)',
    'agent-lost': "the agent's stream ended before it answered",
    'server-restart': 'the server crashed while the dial was pending',
    'too-many-dials': 'refused at once: the admission queue was full (`--max-dials-waiting`)',
  },
  'dial.cancelled': {
    'dial-cls': 'the frontend sent DIAL_CLS',
    'frontend-closed': 'the frontend stream or socket ended before the dial completed',
  },
  'conn.closed': {
    'close-req': 'the frontend sent CLOSE_REQ',
    'frontend-closed': 'the frontend stream or socket ended (EOF, cancel)',
    'frontend-error': 'the frontend stream or socket failed, or sent a malformed packet; `error` says how',
    'agent-closed': 'the agent sent CLOSE_RSP (the endpoint closed)',
    'agent-error': 'the agent sent CLOSE_RSP with an error, in `error`',
    'agent-lost': "the agent's stream ended with the connection open",
    'server-shutdown': 'this server is shutting down',
    'buffer-overflow': 'the frontend stopped reading and the connection held up the shared stream too long',
    'server-restart': 'the server crashed with the connection open (bytes are recorded as 0)',
  },
  'agent.stopped': {
    shutdown: 'the process was stopped (SIGTERM twice, SIGINT)',
    'agent-restart': 'written at the next start for a run that ended without `agent.stopped` (a crash)',
  },
  'server.disconnected': {
    'stream-ended': 'the server ended the stream (EOF or cancel)',
    'stream-error': 'the stream failed (transport error, reset); `error` says how',
    'keepalive-timeout': 'the server stopped answering HTTP/2 pings (frozen, or behind a network black hole)',
    'malformed-packet': 'the server sent bytes that are not a packet; the agent closed the stream',
    'agent-shutdown': 'this agent is shutting down',
    'agent-restart': 'the agent crashed while connected',
  },
  'dial.endpoint-failed': {
    'not-allowed': 'the destination is outside `--allowed-destinations`',
    timeout: 'the TCP connect did not complete in 5 s',
    'server-lost': 'the tunnel to the server ended before the connect completed',
    error: 'the connect failed (refused, unknown host, unreachable); `error` has the Go-style text',
  },
  'conn.endpoint-closed': {
    'close-req': 'the server sent CLOSE_REQ (the frontend closed)',
    'endpoint-closed': 'the endpoint closed the TCP connection',
    'endpoint-error': 'the endpoint socket failed; `error` says how',
    'buffer-overflow': 'the endpoint stopped reading and the connection held up the shared stream too long',
    'server-lost': 'the tunnel to the server ended with the connection open',
    'agent-shutdown': 'this agent is shutting down',
    'agent-restart': 'the agent crashed with the connection open (bytes are recorded as 0)',
  },
} as const satisfies Readonly<Record<string, Readonly<Record<string, string>>>>;

/** The event types that carry a `reason`. */
export type ReasonedType = keyof typeof REASONS;
/** The reasons an event of type `T` may carry. */
export type ReasonOf<T extends ReasonedType> = keyof (typeof REASONS)[T] & string;

export const REASONED_TYPES = Object.keys(REASONS) as readonly ReasonedType[];

export function isReasonedType(type: string): type is ReasonedType {
  return Object.prototype.hasOwnProperty.call(REASONS, type);
}

export function isReason<T extends ReasonedType>(type: T, value: unknown): value is ReasonOf<T> {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(REASONS[type], value);
}

/** What a crash left open is closed with these, by the restarted process (`closingEvents`). */
export const RESTART_REASON = { server: 'server-restart', agent: 'agent-restart' } as const;
