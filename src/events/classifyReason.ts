/**
 * One place that turns what a producer says about an ending into the reason vocabulary of its event
 * type (src/events/reasons.ts). Producers should pass a vocabulary value; two kinds of input are still
 * accepted and mapped here, table-tested in test/events/classifyReason.test.ts:
 *
 * - the spellings events carried before the vocabulary was closed (`no_agent`, `error_response`,
 *   `signal`, `close-rsp`, ...), so stored version-1 events upcast to the same values;
 * - a producer's free text (a stream's end, a CLOSE_RSP error), classified by the rules below with the
 *   `closedBy` the machine recorded; the text itself is kept in `error` when it says more than the
 *   reason does.
 */
import type { CloseInitiator } from './common';
import { isReason, type ReasonedType, type ReasonOf } from './reasons';

export interface ReasonInput {
  readonly reason?: string | null;
  readonly closedBy?: CloseInitiator;
}

export interface ClassifiedReason<T extends ReasonedType> {
  readonly reason: ReasonOf<T>;
  /** The producer's free text, when it was not a vocabulary word and says more than the reason. */
  readonly detail?: string;
}

/** Spellings of stored version-1 events and of producers not yet moved to the vocabulary. */
const LEGACY: { readonly [T in ReasonedType]?: Readonly<Record<string, ReasonOf<T>>> } = {
  'server.stopped': { signal: 'shutdown' },
  'agent.stopped': { signal: 'shutdown' },
  'dial.failed': {
    // server_dial_failure_count labels, which dial.failed used to copy.
    no_agent: 'no-agent',
    error_response: 'agent-error',
    unrecognized_response: 'agent-error',
    backend_close: 'agent-lost',
  },
  'conn.closed': {
    'close-rsp': 'agent-closed',
    'frontend-eof': 'frontend-closed',
    'agent-disconnected': 'agent-lost',
  },
  'dial.endpoint-failed': { refused: 'error', dns: 'error' },
};

/** Reasons that say all there is to say: free text behind them is not kept. */
const SELF_EXPLANATORY: ReadonlySet<string> = new Set([
  'shutdown',
  'server-shutdown',
  'agent-shutdown',
  'close-req',
  'dial-cls',
  'frontend-closed',
  'agent-closed',
  'endpoint-closed',
  'stream-ended',
  'buffer-overflow',
]);

type Rule<T extends ReasonedType> = (text: string, closedBy: CloseInitiator | undefined) => ReasonOf<T>;

const STREAM_ENDED = /^(stream[- ](ended|eof|cancelled)|server connection closed)$/i;
const SHUTTING_DOWN = /shut(ting)? ?down/i;
/** A stream ended by the session's ping watcher (src/transport/liveness.ts), whatever wraps the text. */
const KEEPALIVE = /keepalive-timeout/;

/** How free text is read, per event type; each rule ends in the type's catch-all. */
const RULES: { readonly [T in ReasonedType]: Rule<T> } = {
  'server.stopped': () => 'shutdown',
  'agent.stopped': () => 'shutdown',
  'agent.disconnected': (text) =>
    KEEPALIVE.test(text)
      ? 'keepalive-timeout'
      : /malformed/i.test(text)
        ? 'malformed-packet'
        : SHUTTING_DOWN.test(text)
          ? 'server-shutdown'
          : STREAM_ENDED.test(text)
            ? 'stream-ended'
            : 'stream-error',
  'server.disconnected': (text) =>
    KEEPALIVE.test(text)
      ? 'keepalive-timeout'
      : /malformed/i.test(text)
        ? 'malformed-packet'
        : SHUTTING_DOWN.test(text)
          ? 'agent-shutdown'
          : STREAM_ENDED.test(text)
            ? 'stream-ended'
            : 'stream-error',
  'dial.failed': () => 'agent-error',
  'dial.cancelled': (text) => (/DIAL_CLS/i.test(text) ? 'dial-cls' : 'frontend-closed'),
  'conn.closed': (text, closedBy) => {
    if (closedBy === 'frontend') {
      if (/CLOSE_REQ/.test(text)) return 'close-req';
      return /error|malformed/i.test(text) ? 'frontend-error' : 'frontend-closed';
    }
    if (closedBy === 'agent' || closedBy === 'endpoint') {
      // CLOSE_RSP carries an error text only when the agent had one to report.
      return text === '' || text === 'agent closed' ? 'agent-closed' : 'agent-error';
    }
    return SHUTTING_DOWN.test(text) ? 'server-shutdown' : 'agent-lost';
  },
  'dial.endpoint-failed': () => 'error',
  'conn.endpoint-closed': (text, closedBy) => {
    if (closedBy === 'endpoint') return /error/i.test(text) ? 'endpoint-error' : 'endpoint-closed';
    if (/CLOSE_REQ/.test(text)) return 'close-req';
    return SHUTTING_DOWN.test(text) ? 'agent-shutdown' : 'server-lost';
  },
};

export function classifyReason<T extends ReasonedType>(type: T, input: ReasonInput): ClassifiedReason<T> {
  const text = (input.reason ?? '').trim();
  if (isReason(type, text)) return { reason: text };
  const legacy = LEGACY[type]?.[text];
  if (legacy !== undefined) return { reason: legacy };
  const reason = (RULES[type] as Rule<T>)(text, input.closedBy);
  const keep = text !== '' && text !== 'unknown' && !SELF_EXPLANATORY.has(reason);
  return keep ? { reason, detail: text } : { reason };
}
