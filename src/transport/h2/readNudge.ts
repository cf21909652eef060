/**
 * Keeps an HTTP/2 session on a native socket reading while its own output waits for the peer, without a
 * JavaScript hop per chunk.
 *
 * Node's HTTP/2 session stops reading its socket while one of its writes is in progress (a write the
 * kernel could not take at once), as a guard against peers that send without reading (nodejs/node#29399).
 * Two Node peers that both have more to send than the kernel's socket buffers hold both stop reading, and
 * every stream on the connection hangs (see readWhileWritingSocket.ts, the older remedy, which puts a
 * JavaScript Duplex under the session at a cost of about 1.3-1.5 ms of CPU per MiB carried).
 *
 * The session stops reading by stopping the socket handle, and marks itself as stopped; it starts the
 * handle again only when its write completes, and while it is marked stopped it does not stop the handle
 * again. So restarting the handle from outside while a write waits makes the session read on until that
 * write completes, which is all the peer needs to finish its own write and read ours. A nudge is
 * therefore: when the socket holds unwritten output (libuv's `writeQueueSize`), start reading. It is
 * checked once per event-loop turn in which the session's streams sent or received (`poke`, after the
 * session's own write of that turn), then every RECHECK_MS while output waits, and by a slow sweep of every
 * session as a backstop for writes no stream activity announced (a window update from the peer releasing
 * queued data). Past OUTPUT_LIMIT_BYTES of unwritten output no nudge is given, which leaves Node's guard
 * in place for a peer that truly stops reading.
 *
 * Only the socket handle's own methods are used, and only while the session is alive: `readStart()` on a
 * handle already reading does nothing. Where the handle does not look as expected (Node internals
 * changed), `nudgeable` says so and the caller falls back to the wrapper.
 */
import type * as http2 from 'http2';
import type { Socket } from 'net';
import { OUTPUT_LIMIT_BYTES } from './readWhileWritingSocket';

/**
 * While output waits, how often the session is nudged again when nothing else asks: a write that went
 * async after the previous one completed stops reading anew. Short enough that a stall between two Node
 * peers costs a few milliseconds; a session with nothing waiting has no timer at all.
 */
export const RECHECK_MS = 5;
/**
 * How often every session is checked whatever its activity: the bound on a stall no stream activity
 * announced. Slow, because it touches every session (thousands of agents) and is almost never needed.
 */
export const SWEEP_MS = 1_000;

/** The parts of a libuv stream handle (TCPWrap, PipeWrap) or a TLSWrap over one that a nudge uses. */
interface NativeHandle {
  readStart(): number;
  writeQueueSize?: unknown;
  /** TLSWrap: the transport handle it writes to. */
  _parent?: NativeHandle;
}

function handleOf(socket: Socket): NativeHandle | undefined {
  const h = (socket as unknown as { _handle?: NativeHandle | null })._handle;
  return h ?? undefined;
}

/** The handle whose libuv write queue holds the session's unwritten output (the TCP handle under TLS). */
function writerOf(handle: NativeHandle): NativeHandle {
  const parent = handle._parent;
  return parent && typeof parent.writeQueueSize === 'number' ? parent : handle;
}

/** True when `socket` has the native handle a nudge needs (else: wrap it, readWhileWritingSocket.ts). */
export function nudgeable(socket: Socket): boolean {
  const h = handleOf(socket);
  return !!h && typeof h.readStart === 'function' && typeof writerOf(h).writeQueueSize === 'number';
}

const bySession = new WeakMap<http2.Http2Session, ReadNudge>();
const live = new Set<ReadNudge>();
let sweep: NodeJS.Timeout | undefined;
let nudgesGiven = 0;

/** Sessions being watched and nudges given in this process (tests, diagnostics). */
export function readNudgeStats(): { live: number; nudges: number } {
  return { live: live.size, nudges: nudgesGiven };
}

function sweepAll(): void {
  for (const n of live) n.check();
}

/** The nudge of the session under a stream, if its server set one up. */
export function nudgeOf(session: http2.Http2Session | undefined): ReadNudge | undefined {
  return session ? bySession.get(session) : undefined;
}

export class ReadNudge {
  private checkQueued = false;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly session: http2.Http2Session,
    private readonly socket: Socket,
    private readonly limit: number,
  ) {}

  /** Starts nudging `session`, which runs on `socket` (checked with `nudgeable` first). */
  static attach(session: http2.Http2Session, socket: Socket, limit: number = OUTPUT_LIMIT_BYTES): ReadNudge {
    const nudge = new ReadNudge(session, socket, limit);
    bySession.set(session, nudge);
    live.add(nudge);
    sweep ??= setInterval(sweepAll, SWEEP_MS).unref();
    session.once('close', () => nudge.stop());
    return nudge;
  }

  /** The session's streams sent or received: check once this turn, after the session's own write. */
  poke(): void {
    if (this.checkQueued) return;
    this.checkQueued = true;
    setImmediate(this.checkNow);
  }

  private readonly checkNow = (): void => {
    this.checkQueued = false;
    this.check();
  };

  /** Nudges the session if output waits within the limit; keeps checking while any waits. */
  check(): void {
    const handle = handleOf(this.socket);
    if (!handle || this.session.destroyed || this.socket.destroyed) {
      this.stop();
      return;
    }
    const waiting = writerOf(handle).writeQueueSize as number;
    if (waiting === 0) return;
    if (waiting <= this.limit) {
      nudgesGiven++;
      handle.readStart();
    }
    this.timer ??= setTimeout(this.recheck, RECHECK_MS);
  }

  private readonly recheck = (): void => {
    this.timer = undefined;
    this.check();
  };

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    live.delete(this);
    if (live.size === 0 && sweep) {
      clearInterval(sweep);
      sweep = undefined;
    }
  }
}
