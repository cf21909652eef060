/**
 * Keepalive pings for one HTTP/2 session (either side), and the server's ping enforcement. A peer that
 * does not answer a ping within the timeout is taken as gone: the session is destroyed with a
 * keepalive-timeout error, which every call on it reports.
 */
import * as http2 from 'http2';
import { H2SessionError } from './errors';

export interface KeepaliveOptions {
  /** Time between pings. */
  readonly intervalMs: number;
  /** How long a ping may go unanswered before the peer counts as gone. */
  readonly timeoutMs: number;
}

/**
 * grpc-go's default ping timeout (keepalive.ClientParameters.Timeout / ServerParameters.Timeout): long
 * enough for a loaded peer to answer, short enough that a dead one is noticed within a minute.
 */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 20_000;

export interface Keepalive {
  stop(): void;
  /** Pings the peer acknowledged so far. */
  readonly acks: number;
}

/**
 * One session's pinger. Its timers call functions shared by every session, with the pinger as their
 * argument: a server holds one per frontend connection (one per tunnel, and --frontend-keepalive-time is on
 * by default), and closures made per session are memory for as long as each lives.
 */
class SessionKeepalive implements Keepalive {
  private acked = 0;
  private deadline: NodeJS.Timeout | undefined;
  private readonly interval: NodeJS.Timeout;

  constructor(
    private readonly session: http2.Http2Session,
    private readonly options: KeepaliveOptions,
    private readonly onTimeout: (error: H2SessionError) => void,
  ) {
    this.interval = setInterval(pingNow, options.intervalMs, this);
    this.interval.unref();
  }

  ping(): void {
    const session = this.session;
    if (session.destroyed || session.closed || this.deadline !== undefined) return;
    this.deadline = setTimeout(expire, this.options.timeoutMs, this);
    this.deadline.unref();
    const sent = session.ping((err) => {
      this.clearDeadline();
      // A ping cancelled by the session's end needs no answer: the session reports that.
      if (!err) this.acked++;
    });
    if (!sent) this.clearDeadline();
  }

  expire(): void {
    const error = new H2SessionError(
      'keepalive-timeout',
      `keepalive ping not acknowledged within ${this.options.timeoutMs} ms`,
    );
    this.onTimeout(error);
    this.session.destroy(error, http2.constants.NGHTTP2_NO_ERROR);
  }

  get acks(): number {
    return this.acked;
  }

  stop(): void {
    clearInterval(this.interval);
    this.clearDeadline();
  }

  private clearDeadline(): void {
    clearTimeout(this.deadline);
    this.deadline = undefined;
  }
}

const pingNow = (k: SessionKeepalive): void => k.ping();
const expire = (k: SessionKeepalive): void => k.expire();
const keepaliveOf = new WeakMap<http2.Http2Session, SessionKeepalive>();
function stopOnClose(this: http2.Http2Session): void {
  keepaliveOf.get(this)?.stop();
}

/** Starts pinging. The timers never keep the process alive. */
export function startKeepalive(
  session: http2.Http2Session,
  options: KeepaliveOptions,
  onTimeout: (error: H2SessionError) => void,
): Keepalive {
  const keepalive = new SessionKeepalive(session, options, onTimeout);
  keepaliveOf.set(session, keepalive);
  session.once('close', stopOnClose);
  return keepalive;
}

/** The reference's minimum time between agent pings (keepalive.EnforcementPolicy{MinTime: 30s}). */
export const MIN_PING_INTERVAL_MS = 30_000;
/** grpc-go's server tolerates this many early pings before it acts (maxPingStrikes). */
export const MAX_PING_STRIKES = 2;

/** Time for the GOAWAY to reach a client that pinged too often before its connection is dropped. */
export const PING_VIOLATION_CLOSE_MS = 1_000;

/**
 * Counts pings that came too soon after the previous one; pure apart from the injected clock. As in
 * grpc-go's server (handlePing and resetPingStrikes), once the server has sent headers or data the next
 * ping is not judged and the count starts over: a client pinging a busy call is not the abuse the policy
 * is for.
 */
export class PingStrikes {
  private last = -Infinity;
  private strikes = 0;
  private forgive = false;

  constructor(
    private readonly minIntervalMs = MIN_PING_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The server sent headers or data on the session. */
  sent(): void {
    this.forgive = true;
  }

  /** Records one ping; true when the peer has now pinged too often. */
  ping(): boolean {
    const at = this.now();
    const since = at - this.last;
    this.last = at;
    if (this.forgive) {
      this.forgive = false;
      this.strikes = 0;
      return false;
    }
    if (since < this.minIntervalMs) this.strikes++;
    return this.strikes > MAX_PING_STRIKES;
  }
}

/**
 * Judges one ping from the peer of a server session: GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (as
 * grpc-go) once the peer overdoes it, after telling `onViolation`. The caller listens for the session's
 * pings (one listener shared by every session of a server) and tells `strikes` when it sends headers or
 * data.
 */
export function judgePing(
  session: http2.ServerHttp2Session,
  strikes: PingStrikes,
  onViolation: () => void,
): void {
  if (!strikes.ping() || session.closed || session.destroyed) return;
  onViolation();
  session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
  session.close();
  // grpc-go closes the connection outright; a client that ignores the GOAWAY is cut off shortly after.
  setTimeout(() => session.destroy(), PING_VIOLATION_CLOSE_MS).unref();
}
