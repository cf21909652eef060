/**
 * What each way a dial can fail means to the outside world, in one table per side: the metric label, the
 * lifecycle event's reason, how the frontend hears it and the error text peers see. The connection machine
 * names the outcome (one action per outcome); actors look it up here and only perform the I/O, so a machine
 * and an actor can never disagree about what happened.
 */
import type { DialFailureReason, EndpointDialFailureReason } from './instruments';
import type { DialFailureKind } from './server/frontend';
import { goTimeoutError } from './agent/goDialErrors';
import type { ReasonOf } from '../events/reasons';

/** The connection machine's dial outcomes in which the requester is told that the dial failed. */
export type DialFailure = 'refused' | 'timedOut' | 'peerLost';

export interface ServerDialFailureFacts {
  /** `server_dial_failure_count{reason}` (the reference's names). */
  readonly metric: DialFailureReason;
  /** The lifecycle event it is recorded as. */
  readonly event:
    | { readonly type: 'dial.failed'; readonly reason: ReasonOf<'dial.failed'> }
    | { readonly type: 'dial.timed-out' };
  /** How the frontend is told: the HTTP status follows from it (httpStatus.ts), gRPC gets the text. */
  readonly frontend: DialFailureKind;
}

export const SERVER_DIAL_FAILURES: Readonly<Record<DialFailure, ServerDialFailureFacts>> = {
  /** The agent answered DIAL_RSP with an error: its text goes to the frontend verbatim. */
  refused: {
    metric: 'error_response',
    event: { type: 'dial.failed', reason: 'agent-error' },
    frontend: 'agent-error',
  },
  /** --backend-dial-timeout ran out before the agent answered. */
  timedOut: { metric: 'backend_dial_timeout', event: { type: 'dial.timed-out' }, frontend: 'timeout' },
  /** The agent's stream ended with the dial pending (the reference would wait forever). */
  peerLost: {
    metric: 'backend_close',
    event: { type: 'dial.failed', reason: 'agent-lost' },
    frontend: 'agent-lost',
  },
};

/**
 * The text the frontend sees for a failed dial; `recorded` is the connection machine's `error` (agent text
 * or loss reason).
 */
export function serverDialErrorText(outcome: DialFailure, recorded: string | null): string {
  if (outcome === 'timedOut') return 'dial timeout';
  return recorded ?? (outcome === 'peerLost' ? 'agent lost' : 'dial failed');
}

/** The `dial.endpoint-failed` event's reasons on the agent. */
export type EndpointDialFailedReason = ReasonOf<'dial.endpoint-failed'>;

export interface AgentDialFailureFacts {
  /** `agent_endpoint_dial_failure_total{reason}`; null: the endpoint dial itself did not fail. */
  readonly metric: EndpointDialFailureReason | null;
  readonly eventReason: EndpointDialFailedReason;
  /** Whether the server is answered with a failed DIAL_RSP (not when the server is the one that is gone). */
  readonly answersServer: boolean;
}

export const AGENT_DIAL_FAILURES: Readonly<Record<DialFailure, AgentDialFailureFacts>> = {
  /** The TCP connect (or the name lookup, or the destination policy) failed: Go's error text. */
  refused: { metric: 'unknown', eventReason: 'error', answersServer: true },
  /** The reference's 5 s endpoint dial timeout ran out. */
  timedOut: { metric: 'timeout', eventReason: 'timeout', answersServer: true },
  /** The server link dropped while connecting: the socket is dropped and nobody is left to answer. */
  peerLost: { metric: null, eventReason: 'server-lost', answersServer: false },
};

/** The agent's facts for one failed dial; a dial the destination policy refused is reported as such. */
export function agentDialFailure(outcome: DialFailure, denied: boolean): AgentDialFailureFacts {
  const facts = AGENT_DIAL_FAILURES[outcome];
  return denied && outcome === 'refused' ? { ...facts, eventReason: 'not-allowed' } : facts;
}

/** The DIAL_RSP error text the agent sends, in Go's wording. */
export function agentDialErrorText(outcome: DialFailure, address: string, recorded: string | null): string {
  if (outcome === 'timedOut') return goTimeoutError(address);
  return recorded ?? 'dial failed';
}
