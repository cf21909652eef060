/**
 * How often each side pings the other and how long it waits for the answer. The reference leaves this to
 * `--keepalive-time` (1 h by default) and gRPC's 20 s ping timeout, so by default a silent peer is noticed
 * after an hour, and dials keep going to a frozen agent meanwhile. Here the defaults notice a silent agent
 * within 30 s on the server and a silent server within 60 s on the agent; `--keepalive-time` remains the
 * knob, and can only make detection faster.
 */
import { MIN_PING_INTERVAL_MS } from './h2/keepalive';

export interface LivenessTiming {
  /** Ping when nothing has been heard from the peer for this long. */
  readonly idleMs: number;
  /** A ping unanswered for this long means the peer is gone. */
  readonly timeoutMs: number;
  /** Never ping sooner than this after the previous ping was answered (what the peer tolerates). */
  readonly minSpacingMs: number;
  /** Nothing heard for this long: stop giving the peer new work, even before the timeout ends it. */
  readonly silentAfterMs: number;
}

/**
 * The server's ping interval to agents when `--keepalive-time` is longer (it is 1 h by default). A Go
 * agent answers server pings whatever their rate (grpc-go enforces ping policy only on servers), ours
 * too, and one PING frame per agent every 10 s costs nothing.
 */
export const SERVER_PING_INTERVAL_MS = 10_000;
/**
 * The server waits twice its interval for an answer: a healthy agent always answers before the next ping
 * would be due, so it is never taken for silent, and interval + timeout is 30 s, the detection bound.
 */
export const SERVER_TIMEOUT_FACTOR = 2;
/**
 * The agent's ping interval: the reference server answers pings that come sooner than 30 s after the
 * previous one with GOAWAY (too_many_pings), so the agent never pings sooner, whatever the knob says.
 * It pings only after this long without hearing anything, so with our server (which pings every 10 s)
 * the agent never needs to ping at all.
 */
export const AGENT_PING_INTERVAL_MS = MIN_PING_INTERVAL_MS;
/** The agent waits this long for an answer: 30 s interval + 30 s timeout = the 60 s detection bound. */
export const AGENT_PING_TIMEOUT_MS = 30_000;
/** No knob goes below this: pings every few milliseconds would only measure our own event loop. */
export const MIN_KEEPALIVE_MS = 1_000;

/** A knob value that means "as fast as the defaults allow or faster"; 0 (Go's "unset") means the default. */
function knob(keepaliveTimeMs: number, defaultMs: number): number {
  if (!(keepaliveTimeMs > 0)) return defaultMs;
  return Math.max(MIN_KEEPALIVE_MS, Math.min(keepaliveTimeMs, defaultMs));
}

/** How the server watches each agent, from `--keepalive-time`. */
export function serverLivenessTiming(keepaliveTimeMs: number): LivenessTiming {
  const idleMs = knob(keepaliveTimeMs, SERVER_PING_INTERVAL_MS);
  const timeoutMs = idleMs * SERVER_TIMEOUT_FACTOR;
  return { idleMs, timeoutMs, minSpacingMs: 0, silentAfterMs: timeoutMs };
}

/** How the agent watches each server, from its `--keepalive-time`. */
export function agentLivenessTiming(keepaliveTimeMs: number): LivenessTiming {
  const idleMs = knob(keepaliveTimeMs, AGENT_PING_INTERVAL_MS);
  const timeoutMs = knob(keepaliveTimeMs, AGENT_PING_TIMEOUT_MS);
  return { idleMs, timeoutMs, minSpacingMs: MIN_PING_INTERVAL_MS, silentAfterMs: idleMs + timeoutMs };
}

/** The longest a silent peer can go unnoticed with this timing (the tests hold the defaults to it). */
export function worstCaseDetectionMs(t: LivenessTiming): number {
  return Math.max(t.idleMs, t.minSpacingMs) + t.timeoutMs;
}
