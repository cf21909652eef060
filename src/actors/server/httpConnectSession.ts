/**
 * One HTTP CONNECT tunnel from a frontend (kube-apiserver in http-connect mode): the request line names
 * the destination, the 200 reply starts the raw byte stream, and EOF on either side is a full close.
 */
import { randomBytes } from 'crypto';
import type { Duplex } from 'stream';
import type { ActorLogger } from '../instruments';
import type { DialFailureKind, Frontend, FrontendDial } from './frontend';
import {
  bodyForDialFailure,
  CONNECT_ESTABLISHED,
  errorResponse,
  headersForDialFailure,
  statusForDialFailure,
} from './httpStatus';
import type { ProxyServer } from './proxyServer';

/**
 * Random bytes for dial ids are drawn this many at a time: `randomBytes(8)` per dial was a call into
 * OpenSSL each (17 us of a dial's CPU under the profiler). 1,024 dials per draw.
 */
const RANDOM_POOL_BYTES = 8192;
let randomPool = Buffer.alloc(0);
let randomPoolOffset = 0;

/** A uniform random int64 in [1, 2^63), like the reference's rand.Int63(). */
export function randomInt64(): bigint {
  if (randomPoolOffset + 8 > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomPoolOffset = 0;
  }
  const v = randomPool.readBigUInt64BE(randomPoolOffset) & 0x7fffffffffffffffn;
  randomPoolOffset += 8;
  return v === 0n ? 1n : v;
}

/** The 200 as bytes, encoded once: written on every dial. */
const ESTABLISHED_BYTES = Buffer.from(CONNECT_ESTABLISHED, 'latin1');

/**
 * The session a tunnel's socket serves, so that its listeners are four functions shared by every socket
 * rather than four closures per idle tunnel (as Node's own modules keep their state on a socket).
 */
const SESSION = Symbol('konnectivity.connectSession');
type SessionSocket = Duplex & { [SESSION]: HttpConnectSession };

function onSocketData(this: SessionSocket, chunk: Buffer): void {
  this[SESSION].fromClient(chunk);
}
function onSocketError(this: SessionSocket, err: Error): void {
  this[SESSION].gone(`frontend socket error: ${err.message}`);
}
function onSocketEnd(this: SessionSocket): void {
  this[SESSION].gone('frontend EOF');
}
function onSocketClose(this: SessionSocket): void {
  this[SESSION].socketClosed();
}

export class HttpConnectSession implements Frontend {
  readonly mode = 'http-connect' as const;
  private conn: FrontendDial | null = null;
  private established = false;
  /** The 200 has been written. */
  private replied = false;
  private finished = false;
  /** Bytes the client sent before its tunnel was established: they go to the agent after the 200. */
  private early: Buffer[] | undefined;
  private earlyBytes = 0;

  constructor(
    private readonly socket: Duplex,
    readonly peer: string,
    private readonly address: string,
    head: Buffer,
    private readonly server: ProxyServer,
    private readonly log: ActorLogger,
  ) {
    // Nothing reaches the agent until the dial succeeds; bytes pipelined after the head wait here. The
    // socket keeps reading meanwhile (up to what a paused socket would buffer anyway), so that a client
    // that goes away while its dial waits for admission is noticed at once: a paused socket would not
    // report its EOF behind unread bytes.
    if (head.length > 0) this.hold(head);
    (socket as SessionSocket)[SESSION] = this;
    socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    this.conn = server.dial(randomInt64(), address, this);
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Bytes from the client (the socket's listener). */
  fromClient(chunk: Buffer): void {
    if (this.established) this.conn?.sendData(chunk);
    else this.hold(chunk);
  }

  /** The socket has closed: the tunnel is over, and so is the frontend's connection. */
  socketClosed(): void {
    this.gone('frontend socket closed');
    this.server.frontendSocketClosed();
  }

  /** The client went away or its socket failed (the socket's listeners). */
  gone(reason: string): void {
    if (this.finished) return;
    this.conn?.frontendGone(reason);
    if (this.conn?.phase !== 'open') this.finish();
  }

  private hold(chunk: Buffer): void {
    (this.early ??= []).push(chunk);
    this.earlyBytes += chunk.length;
    if (this.earlyBytes >= this.socket.readableHighWaterMark) this.socket.pause();
  }

  dialAccepted(): void {
    if (this.finished || this.replied) return;
    this.replied = true;
    this.socket.write(ESTABLISHED_BYTES);
  }

  dialSucceeded(): void {
    if (this.finished) return;
    this.dialAccepted();
    this.established = true;
    // Resumed first: its next bytes come on a later tick, after the early ones, and a pause that the
    // early ones cause (a full agent stream) holds.
    this.socket.resume();
    const early = this.early;
    this.early = undefined;
    this.earlyBytes = 0;
    if (early) for (const chunk of early) this.conn?.sendData(chunk);
  }

  dialFailed(kind: DialFailureKind, error: string): void {
    const status = statusForDialFailure(kind, error);
    this.log.info('CONNECT dial failed', { peer: this.peer, address: this.address, status, error });
    if (this.finished) return;
    this.socket.end(errorResponse(status, bodyForDialFailure(kind, error), headersForDialFailure(kind)));
    this.finished = true;
    this.server.frontendFinished(this);
  }

  deliver(data: Buffer, taken: () => void): void {
    if (this.finished || this.socket.destroyed) {
      taken();
      return;
    }
    this.socket.write(data, taken);
  }

  closed(): void {
    if (!this.finished) this.socket.end();
    this.finish();
  }

  abort(reason: string): void {
    this.log.info('CONNECT tunnel aborted', { peer: this.peer, address: this.address, reason });
    this.socket.destroy();
    this.finish();
  }

  pause(): void {
    if (this.established) this.socket.pause();
  }

  resume(): void {
    if (this.established && !this.finished) this.socket.resume();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.server.frontendFinished(this);
    if (!this.socket.destroyed) this.socket.end();
  }
}
