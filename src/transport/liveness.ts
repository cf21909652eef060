/**
 * Whether the peer at the other end of an HTTP/2 session still answers. A frozen process, a node behind
 * a network black hole or a half-dead NAT keeps its TCP connection open and simply says nothing; only a
 * PING that goes unanswered tells. One watcher per session, shared by every stream on it: it pings when
 * it has heard nothing for a while (never sooner after its previous ping than the peer tolerates), and
 * when a ping stays unanswered it tells its subscribers with a typed error and destroys the session.
 */
import { performance } from 'perf_hooks';
import type { LivenessTiming } from './livenessTiming';

/** The reason a stream or tunnel ends when its peer stopped answering pings (events, logs, frontends). */
export const KEEPALIVE_TIMEOUT = 'keepalive-timeout';

export class PeerSilentError extends Error {
  override readonly name = 'PeerSilentError';
  readonly reason = KEEPALIVE_TIMEOUT;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** What a stream's owner sees of its peer's liveness. */
export interface PeerLiveness {
  /** Nothing heard from the peer for `silentAfterMs`: do not give it new work. */
  readonly silent: boolean;
  /** How long since the peer last answered a ping or pinged us. */
  silentForMs(): number;
  /** Stops watching for this subscriber (the stream ended). Safe more than once. */
  release(): void;
}

type DeadListener = (err: PeerSilentError) => void;

/**
 * A timeout timer that fires this much later than due means we ourselves were not running (stopped,
 * swapped out, a long event-loop block): the answer may be sitting unread in the socket. The verdict then
 * waits this long again, so that I/O is read first, instead of blaming the peer for our own pause.
 */
const OWN_STALL_MS = 1_000;

/**
 * What the watch needs of an HTTP/2 session: node:http2's sessions have it, and so has our own server's
 * connection (h2/wire/connection.ts). 'ping' is a ping from the peer; `ping` sends one of ours.
 */
export interface WatchableSession {
  on(event: 'ping' | 'close', listener: () => void): unknown;
  off(event: 'ping' | 'close', listener: () => void): unknown;
  readonly destroyed: boolean;
  readonly closed: boolean;
  ping(callback: (err: Error | null) => void): boolean;
  destroy(): void;
}

const watchers = new WeakMap<WatchableSession, SessionWatcher>();

/**
 * Watches `session` with `timing` (the first subscriber's timing wins: one session, one policy) and calls
 * `onDead` once if the peer stops answering.
 */
export function watchPeer(
  session: WatchableSession,
  timing: LivenessTiming,
  onDead: DeadListener,
): PeerLiveness {
  let watcher = watchers.get(session);
  if (!watcher || watcher.stopped) {
    watcher = new SessionWatcher(session, timing);
    watchers.set(session, watcher);
  }
  return watcher.subscribe(onDead);
}

// One set of listeners and one timer callback for every watcher, which each finds through its session or
// its argument: a server watches thousands of agent sessions, and closures made per session are memory
// for as long as each lives.
function onWatchedPing(this: WatchableSession): void {
  watchers.get(this)?.heard();
}

function onWatchedClose(this: WatchableSession): void {
  watchers.get(this)?.stop();
}

function tickWatcher(watcher: SessionWatcher): void {
  watcher.tick();
}

class SessionWatcher {
  private readonly listeners = new Set<DeadListener>();
  private lastHeardAt = performance.now();
  private lastAnsweredAt = -Infinity;
  private pingSentAt: number | null = null;
  private verdictDueAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private dead = false;
  stopped = false;

  constructor(
    private readonly session: WatchableSession,
    private readonly timing: LivenessTiming,
  ) {
    // A ping from the peer proves it alive as well as an answer to ours (and saves us a ping).
    session.on('ping', onWatchedPing);
    session.on('close', onWatchedClose);
    this.arm(timing.idleMs);
  }

  subscribe(onDead: DeadListener): PeerLiveness {
    this.listeners.add(onDead);
    return new Subscription(this, onDead);
  }

  unsubscribe(onDead: DeadListener): void {
    if (this.listeners.delete(onDead) && this.listeners.size === 0) this.stop();
  }

  get silent(): boolean {
    return this.dead || this.silentForMs() > this.timing.silentAfterMs;
  }

  silentForMs(): number {
    return performance.now() - this.lastHeardAt;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.listeners.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.session.off('ping', onWatchedPing);
    this.session.off('close', onWatchedClose);
  }

  heard(): void {
    this.lastHeardAt = performance.now();
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(tickWatcher, Math.max(0, Math.ceil(delayMs)), this);
    // Liveness never keeps a process alive on its own.
    this.timer.unref();
  }

  tick(): void {
    this.timer = null;
    if (this.stopped) return;
    if (this.session.destroyed || this.session.closed) {
      this.stop();
      return;
    }
    const now = performance.now();
    if (this.pingSentAt !== null) {
      if (now - this.verdictDueAt > OWN_STALL_MS) {
        this.verdictDueAt = now + OWN_STALL_MS;
        this.arm(OWN_STALL_MS);
        return;
      }
      // Timers run before I/O in an event-loop turn: let an answer that already arrived be read first.
      const sentAt = this.pingSentAt;
      setImmediate(() => {
        if (!this.stopped && this.pingSentAt === sentAt) this.declareDead(performance.now() - sentAt);
      });
      return;
    }
    // Timers may fire a little early: measure, and wait out the remainder so the spacing always holds.
    const due = Math.max(
      this.lastHeardAt + this.timing.idleMs,
      this.lastAnsweredAt + this.timing.minSpacingMs,
    );
    if (now < due) {
      this.arm(due - now);
      return;
    }
    this.sendPing(now);
  }

  private sendPing(now: number): void {
    let sent: boolean;
    try {
      sent = this.session.ping((err) => this.onAnswer(err));
    } catch {
      sent = false;
    }
    if (!sent) {
      // The session is going away (or has too many pings in flight); its streams end on their own.
      this.arm(this.timing.idleMs);
      return;
    }
    this.pingSentAt = now;
    this.verdictDueAt = now + this.timing.timeoutMs;
    this.arm(this.timing.timeoutMs);
  }

  private onAnswer(err: Error | null): void {
    if (this.stopped) return;
    this.pingSentAt = null;
    if (err) {
      // Cancelled because the session closed: nothing to declare, the streams see the close.
      this.stop();
      return;
    }
    const now = performance.now();
    this.lastHeardAt = now;
    this.lastAnsweredAt = now;
    this.arm(this.timing.idleMs);
  }

  private declareDead(waitedMs: number): void {
    const err = new PeerSilentError(
      `no answer to a keepalive ping within ${Math.round(waitedMs)} ms ` +
        `(silent for ${Math.round(this.silentForMs())} ms)`,
    );
    const listeners = [...this.listeners];
    this.dead = true;
    this.stop();
    for (const listener of listeners) listener(err);
    // Nothing more will come from this peer: free the socket instead of waiting for TCP to notice.
    this.session.destroy();
  }
}

class Subscription implements PeerLiveness {
  constructor(
    private readonly watcher: SessionWatcher,
    private readonly onDead: DeadListener,
  ) {}

  get silent(): boolean {
    return this.watcher.silent;
  }

  silentForMs(): number {
    return this.watcher.silentForMs();
  }

  release(): void {
    this.watcher.unsubscribe(this.onDead);
  }
}
