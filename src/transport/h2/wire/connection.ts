/**
 * The server's side of one HTTP/2 connection, written on the socket directly (RFC 9113): the client
 * preface and SETTINGS, HPACK-decoded requests, flow control both ways (the connection window is granted
 * back as bytes arrive, as grpc-go does; a stream's only as its owner consumes them), PING, RST_STREAM,
 * GOAWAY and keepalive. Requests are handed to the server as WireStreams; DATA of many streams shares the
 * socket frame by frame, round robin, when windows or the socket make them wait.
 *
 * The socket is read while our output waits (up to OUTPUT_LIMIT_BYTES of it), so two peers that both
 * have more to send than the kernel holds do not stop each other: the hang node:http2 has by design.
 */
import type { Socket } from 'net';
import { H2SessionError } from '../errors';
import { HpackDecoder, HpackError } from '../hpack/hpackDecoder';
import { PING_VIOLATION_CLOSE_MS, PingStrikes, type KeepaliveOptions } from '../keepalive';
import { MAX_FRAME_BYTES, SESSION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from '../settings';
import { WireStream } from './callStream';
import { FrameReader, type FrameSink } from './frameReader';
import { StreamTable } from './streamTable';
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_WINDOW_BYTES,
  Flags,
  FrameType,
  frameHeader,
  goawayFrame,
  H2Code,
  headerFrames,
  MAX_ALLOWED_FRAME_BYTES,
  MAX_WINDOW_BYTES,
  pingFrame,
  rstStreamFrame,
  SETTINGS_ACK,
  settingsFrame,
  Setting,
  windowUpdateFrame,
} from './frames';

/** Decoded header list size we accept on a request (names, values and 32 bytes each, RFC 9113 6.5.2). */
export const MAX_HEADER_LIST_BYTES = 64 * 1024;
/** A header block larger than this on the wire ends the connection: it cannot be skipped undecoded. */
const MAX_HEADER_BLOCK_BYTES = 256 * 1024;
/** Our output in the socket's buffer past which DATA waits (control frames still go). */
const SOCKET_HIGH_WATER_BYTES = 512 * 1024;
/** Our output in the socket's buffer past which we stop reading: a peer that sends but never reads. */
const OUTPUT_LIMIT_BYTES = 16 * 1024 * 1024;
/** Streams a client may reset at once, and how many more per second (nghttp2's defaults). */
const RESET_BURST = 1_000;
const RESET_RATE_PER_S = 33;
/** How long a connection ended for a protocol error waits for the peer to close before it is destroyed. */
const CLOSE_GRACE_MS = 1_000;

const OUR_SETTINGS = settingsFrame([
  [Setting.ENABLE_PUSH, 0],
  [Setting.INITIAL_WINDOW_SIZE, STREAM_WINDOW_BYTES],
  [Setting.MAX_FRAME_SIZE, MAX_FRAME_BYTES],
  [Setting.MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST_BYTES],
]);
const OUR_WINDOW_UPDATE = windowUpdateFrame(0, SESSION_WINDOW_BYTES - DEFAULT_WINDOW_BYTES);
/** Connection credit is granted back in steps of this size. */
const CONNECTION_CREDIT_STEP = SESSION_WINDOW_BYTES / 4;

/** What every connection of one server shares. */
export interface ConnectionContext {
  /** A request's headers arrived (flat [name, value, ...]); the stream is registered and waits. */
  request(stream: WireStream, headers: string[]): void;
  readonly maxReceiveMessageBytes: number;
  readonly keepalive: KeepaliveOptions | undefined;
  /** A connection failed: a protocol error of the peer's, a keepalive timeout, a socket error. */
  sessionError(peer: string, error: Error): void;
  /**
   * Pings sooner than this after the previous one are strikes, as grpc-go's enforcement policy counts
   * them; too many end the connection with GOAWAY ENHANCE_YOUR_CALM "too_many_pings". Undefined: no policy.
   */
  readonly pingPolicy: { minIntervalMs?: number; now?: () => number } | undefined;
  /** A client pinged too often and its connection is being closed. */
  pingViolation(peer: string): void;
  /** The connection is gone. */
  gone(conn: WireConnection): void;
}

/** The error a connection ended with when the peer broke the protocol. */
export class H2ProtocolError extends Error {
  override readonly name = 'H2ProtocolError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const CONN = Symbol('wireConnection');
type OwnedSocket = Socket & { [CONN]?: WireConnection };

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[CONN]?.onChunk(chunk);
}
function onSocketDrain(this: OwnedSocket): void {
  this[CONN]?.onDrain();
}
function onSocketError(this: OwnedSocket, err: Error): void {
  this[CONN]?.onSocketError(err);
}
/** The peer finished sending: Node ends our side too, so nothing more may be written. */
function onSocketEnd(this: OwnedSocket): void {
  this[CONN]?.onPeerEnd();
}
function onSocketClose(this: OwnedSocket): void {
  this[CONN]?.onClose();
}
function uncork(conn: WireConnection): void {
  conn.uncork();
}
function keepaliveTick(conn: WireConnection): void {
  conn.keepaliveTick();
}
function onKeepaliveAnswer(this: WireConnection, err: Error | null): void {
  if (!err) this.keepaliveAnswered();
}

const TOO_MANY_PINGS = 'too_many_pings';

type WatchEvent = 'ping' | 'close';

/**
 * One HTTP/2 connection. The liveness watch (liveness.ts) listens on it for 'ping' (the peer pinged us)
 * and 'close', as it does on node:http2 sessions; those two are all it emits, so it is not an
 * EventEmitter (whose listener table is about 180 bytes per idle tunnel).
 */
export class WireConnection implements FrameSink {
  readonly streams = new StreamTable<WireStream>();
  private readonly reader = new FrameReader(MAX_FRAME_BYTES);
  private readonly hpack = new HpackDecoder(4096, MAX_HEADER_LIST_BYTES);
  private prefaceLeft = CLIENT_PREFACE.length;
  /** Our SETTINGS (the first frame we send, RFC 9113 3.4) and the connection window's raise are out. */
  private settingsSent = false;
  private settingsSeen = false;
  private lastStreamId = 0;
  /** Set once we sent GOAWAY: streams above it are refused. */
  private goawayLastId: number | undefined;
  private peerGoaway = false;
  private peerInitialWindow = DEFAULT_WINDOW_BYTES;
  private peerMaxFrame = DEFAULT_MAX_FRAME_BYTES;
  private sendWindow = DEFAULT_WINDOW_BYTES;
  private recvWindow = SESSION_WINDOW_BYTES;
  private pendingCredit = 0;
  /** Streams with data waiting for the connection window or the socket, served round robin. */
  private blocked: WireStream[] = [];
  private corked = false;
  private readingPaused = false;
  /** A header block being continued: its stream, END_STREAM flag and pieces. */
  private continuing: { id: number; endStream: boolean; parts: Buffer[]; bytes: number } | undefined;
  private dead = false;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private pingOutstanding = false;
  private pingSeq = 0;
  /** Our pings waiting for their ACK, by the sequence number in their payload. */
  private pings: Map<number, (err: Error | null) => void> | undefined;
  private readonly strikes: PingStrikes | undefined;
  private resetTokens = RESET_BURST;
  private resetRefilledAt = 0;
  /** The 'ping' and 'close' listeners, made when the first is added. */
  private watchers: Record<WatchEvent, Array<() => void>> | undefined;
  /** Pings the client acknowledged (keepalive). */
  keepaliveAcks = 0;
  /** Pings the client sent us. */
  pingsReceived = 0;

  constructor(
    readonly socket: Socket,
    readonly peer: string,
    private readonly context: ConnectionContext,
  ) {
    const policy = context.pingPolicy;
    if (policy) this.strikes = new PingStrikes(policy.minIntervalMs, policy.now);
    const owned = socket as OwnedSocket;
    owned[CONN] = this;
    socket.on('data', onSocketData);
    socket.on('drain', onSocketDrain);
    socket.on('error', onSocketError);
    socket.once('close', onSocketClose);
    socket.once('end', onSocketEnd);
    if (context.keepalive) {
      this.keepaliveTimer = setTimeout(keepaliveTick, context.keepalive.intervalMs, this);
      this.keepaliveTimer.unref();
    }
  }

  /** Adds a listener for 'ping' (the peer pinged us) or 'close'; it is called with the connection as `this`. */
  on(event: WatchEvent, listener: () => void): this {
    (this.watchers ??= { ping: [], close: [] })[event].push(listener);
    return this;
  }

  off(event: WatchEvent, listener: () => void): this {
    const listeners = this.watchers?.[event];
    const at = listeners?.indexOf(listener) ?? -1;
    if (at >= 0) listeners!.splice(at, 1);
    return this;
  }

  private notify(event: WatchEvent): void {
    const listeners = this.watchers?.[event];
    if (listeners === undefined || listeners.length === 0) return;
    for (const listener of [...listeners]) listener.call(this);
  }

  /** Closing or closed: no new streams (as node:http2's `closed`). */
  get closed(): boolean {
    return this.dead || this.goawayLastId !== undefined;
  }

  get destroyed(): boolean {
    return this.dead;
  }

  /** Pings the peer; `callback` gets null on its ACK, or an error when the connection ends first. */
  ping(callback: (err: Error | null) => void): boolean {
    if (this.dead) return false;
    const seq = (this.pingSeq = (this.pingSeq + 1) >>> 0);
    (this.pings ??= new Map()).set(seq, callback);
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(seq, 4);
    this.out(pingFrame(payload, 0, false));
    return true;
  }

  // ------------------------------------------------------------------ reading

  onChunk(chunk: Buffer): void {
    if (this.dead) return;
    if (this.prefaceLeft > 0) {
      const at = CLIENT_PREFACE.length - this.prefaceLeft;
      const take = Math.min(this.prefaceLeft, chunk.length);
      if (chunk.compare(CLIENT_PREFACE, at, at + take, 0, take) !== 0) {
        this.fail(H2Code.PROTOCOL_ERROR, 'the connection did not start with the HTTP/2 client preface');
        return;
      }
      this.prefaceLeft -= take;
      // Our SETTINGS go once the client's preface is in, not at accept: its SETTINGS, which the preface
      // brings, are then acknowledged in the same write (one wake-up of the client less per connection,
      // and kube-apiserver opens a connection per tunnel in gRPC mode).
      if (this.prefaceLeft === 0) this.sendSettings();
      if (take === chunk.length) return;
      chunk = chunk.subarray(take);
    }
    const error = this.reader.push(chunk, this);
    if (error) this.fail(H2Code.FRAME_SIZE_ERROR, error.message);
  }

  frame(type: number, flags: number, id: number, payload: Buffer): boolean {
    if (this.dead) return false;
    if (!this.settingsSeen) {
      if (type !== FrameType.SETTINGS || (flags & Flags.ACK) !== 0) {
        return this.fail(H2Code.PROTOCOL_ERROR, 'the client preface must be followed by SETTINGS');
      }
      this.settingsSeen = true;
    }
    if (this.continuing !== undefined && (type !== FrameType.CONTINUATION || id !== this.continuing.id)) {
      return this.fail(H2Code.PROTOCOL_ERROR, 'a header block was interrupted by another frame');
    }
    switch (type) {
      case FrameType.DATA:
        return this.onData(flags, id, payload);
      case FrameType.HEADERS:
        return this.onHeaders(flags, id, payload);
      case FrameType.CONTINUATION:
        return this.onContinuation(flags, id, payload);
      case FrameType.RST_STREAM:
        return this.onRstStream(id, payload);
      case FrameType.SETTINGS:
        return this.onSettings(flags, id, payload);
      case FrameType.PING:
        return this.onPing(flags, id, payload);
      case FrameType.GOAWAY:
        return this.onGoaway(id, payload);
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(id, payload);
      case FrameType.PRIORITY:
        if (id === 0) return this.fail(H2Code.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (payload.length !== 5) this.resetId(id, H2Code.FRAME_SIZE_ERROR);
        return !this.dead;
      case FrameType.PUSH_PROMISE:
        return this.fail(H2Code.PROTOCOL_ERROR, 'a client may not send PUSH_PROMISE');
      default:
        return true; // unknown frame types are ignored (RFC 9113 4.1)
    }
  }

  /**
   * A piece of an unpadded DATA frame that spans reads (frameReader.ts): checked and counted as a DATA frame
   * of its own size, its END_STREAM applied with the last piece. The pieces add up to the frame, so the
   * windows move as they would for the whole frame.
   */
  dataPiece(flags: number, id: number, piece: Buffer, last: boolean): boolean {
    return this.frame(FrameType.DATA, last ? flags : flags & ~Flags.END_STREAM, id, piece);
  }

  private onData(flags: number, id: number, payload: Buffer): boolean {
    if (id === 0) return this.fail(H2Code.PROTOCOL_ERROR, 'DATA on stream 0');
    const frameBytes = payload.length;
    this.recvWindow -= frameBytes;
    if (this.recvWindow < 0)
      return this.fail(H2Code.FLOW_CONTROL_ERROR, 'the client overran the connection window');
    this.pendingCredit += frameBytes;
    if (this.pendingCredit >= CONNECTION_CREDIT_STEP) {
      this.out(windowUpdateFrame(0, this.pendingCredit));
      this.recvWindow += this.pendingCredit;
      this.pendingCredit = 0;
    }
    let data = payload;
    if ((flags & Flags.PADDED) !== 0) {
      const pad = payload.length > 0 ? payload[0]! : 0;
      if (payload.length === 0 || pad >= payload.length) {
        return this.fail(H2Code.PROTOCOL_ERROR, 'DATA padding exceeds the frame');
      }
      data = payload.subarray(1, payload.length - pad);
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStreamId) return this.fail(H2Code.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      return true; // a stream reset a moment ago: what was in flight is dropped
    }
    if (stream.remoteEnded) {
      this.resetStream(stream, H2Code.STREAM_CLOSED);
      return true;
    }
    if (!stream.data(data, frameBytes, (flags & Flags.END_STREAM) !== 0)) {
      this.resetStream(stream, H2Code.FLOW_CONTROL_ERROR);
    }
    return !this.dead;
  }

  private onHeaders(flags: number, id: number, payload: Buffer): boolean {
    if (id === 0 || (id & 1) === 0) return this.fail(H2Code.PROTOCOL_ERROR, `HEADERS on stream ${id}`);
    let block = payload;
    if ((flags & Flags.PADDED) !== 0) {
      const pad = block.length > 0 ? block[0]! : 0;
      if (block.length === 0 || pad >= block.length) {
        return this.fail(H2Code.PROTOCOL_ERROR, 'HEADERS padding exceeds the frame');
      }
      block = block.subarray(1, block.length - pad);
    }
    if ((flags & Flags.PRIORITY) !== 0) {
      if (block.length < 5) return this.fail(H2Code.FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
      block = block.subarray(5);
    }
    const endStream = (flags & Flags.END_STREAM) !== 0;
    if ((flags & Flags.END_HEADERS) !== 0) return this.onHeaderBlock(id, block, endStream);
    this.continuing = { id, endStream, parts: [Buffer.from(block)], bytes: block.length };
    return true;
  }

  private onContinuation(flags: number, id: number, payload: Buffer): boolean {
    const continuing = this.continuing;
    if (continuing === undefined) return this.fail(H2Code.PROTOCOL_ERROR, 'CONTINUATION without HEADERS');
    continuing.bytes += payload.length;
    if (continuing.bytes > MAX_HEADER_BLOCK_BYTES) {
      return this.fail(H2Code.ENHANCE_YOUR_CALM, 'header block too large');
    }
    continuing.parts.push(Buffer.from(payload));
    if ((flags & Flags.END_HEADERS) === 0) return true;
    this.continuing = undefined;
    return this.onHeaderBlock(id, Buffer.concat(continuing.parts), continuing.endStream);
  }

  private onHeaderBlock(id: number, block: Buffer, endStream: boolean): boolean {
    let headers: string[] | undefined;
    try {
      headers = this.hpack.decode(block);
    } catch (err) {
      if (!(err instanceof HpackError) || err.reason !== 'header-list-too-large') {
        return this.fail(H2Code.COMPRESSION_ERROR, err instanceof Error ? err.message : String(err));
      }
    }
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // Trailers from the client: gRPC clients send none, but they would end its side.
      if (!endStream) this.resetStream(existing, H2Code.PROTOCOL_ERROR);
      else existing.endStream();
      return !this.dead;
    }
    // Stream ids only grow. As grpc-go's server does, HEADERS on an id at or below the last one that is
    // not open (never opened, or closed: gRPC clients send no trailers) ends the connection.
    if (id <= this.lastStreamId) {
      return this.fail(
        H2Code.PROTOCOL_ERROR,
        `HEADERS on stream ${id}, not above the last one (${this.lastStreamId})`,
      );
    }
    this.lastStreamId = id;
    if (this.goawayLastId !== undefined) {
      this.out(rstStreamFrame(id, H2Code.REFUSED_STREAM));
      return true;
    }
    const stream = new WireStream(
      id,
      this,
      this.peer,
      this.peerInitialWindow,
      this.context.maxReceiveMessageBytes,
    );
    this.streams.set(id, stream);
    if (endStream) stream.endStream();
    if (headers === undefined) {
      stream.sendStatus(8, `header list larger than ${MAX_HEADER_LIST_BYTES} bytes`, true);
      return !this.dead;
    }
    this.context.request(stream, headers);
    return !this.dead;
  }

  private onRstStream(id: number, payload: Buffer): boolean {
    if (payload.length !== 4) return this.fail(H2Code.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size');
    if (id === 0) return this.fail(H2Code.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStreamId) return this.fail(H2Code.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
      return true;
    }
    if (!this.takeResetToken()) {
      return this.fail(H2Code.ENHANCE_YOUR_CALM, 'too many streams reset by the client');
    }
    this.forget(stream);
    stream.peerReset(payload.readUInt32BE(0));
    return !this.dead;
  }

  /**
   * One reset of an open stream by the client, out of a bucket of RESET_BURST refilled at RESET_RATE_PER_S:
   * opening streams and resetting them at once costs the client nothing and the server a call each (the
   * "rapid reset" attack, CVE-2023-44487), so past the bucket the connection ends. nghttp2's bounds.
   */
  private takeResetToken(): boolean {
    const now = Date.now();
    this.resetTokens = Math.min(
      RESET_BURST,
      this.resetTokens + ((now - this.resetRefilledAt) * RESET_RATE_PER_S) / 1000,
    );
    this.resetRefilledAt = now;
    if (this.resetTokens < 1) return false;
    this.resetTokens -= 1;
    return true;
  }

  private onSettings(flags: number, id: number, payload: Buffer): boolean {
    if (id !== 0) return this.fail(H2Code.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & Flags.ACK) !== 0) {
      if (payload.length !== 0) return this.fail(H2Code.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return true;
    }
    if (payload.length % 6 !== 0) return this.fail(H2Code.FRAME_SIZE_ERROR, 'SETTINGS of the wrong size');
    let windowDelta = 0;
    for (let at = 0; at < payload.length; at += 6) {
      const key = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (key === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW_BYTES) return this.fail(H2Code.FLOW_CONTROL_ERROR, 'initial window too large');
        windowDelta += value - this.peerInitialWindow;
        this.peerInitialWindow = value;
      } else if (key === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_BYTES || value > MAX_ALLOWED_FRAME_BYTES) {
          return this.fail(H2Code.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value} out of range`);
        }
        this.peerMaxFrame = value;
      } else if (key === Setting.ENABLE_PUSH && value > 1) {
        return this.fail(H2Code.PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH must be 0 or 1');
      }
      // Header table size: our encoder never uses the peer's dynamic table. Stream limits: we open none.
    }
    this.out(SETTINGS_ACK);
    if (windowDelta !== 0) {
      for (const stream of this.streams.values()) {
        stream.adjustSendWindow(windowDelta);
        if (stream.sendWindow > MAX_WINDOW_BYTES) {
          return this.fail(H2Code.FLOW_CONTROL_ERROR, 'a stream window grew past 2^31-1');
        }
      }
      if (windowDelta > 0)
        for (const stream of this.streams.values()) if (stream.outBytes > 0) this.flushStream(stream);
    }
    return !this.dead;
  }

  private onPing(flags: number, id: number, payload: Buffer): boolean {
    if (id !== 0) return this.fail(H2Code.PROTOCOL_ERROR, 'PING on a stream');
    if (payload.length !== 8) return this.fail(H2Code.FRAME_SIZE_ERROR, 'PING of the wrong size');
    if ((flags & Flags.ACK) !== 0) {
      const seq = payload.readUInt32BE(4);
      const answered = this.pings?.get(seq);
      if (answered !== undefined && payload.readUInt32BE(0) === 0) {
        this.pings!.delete(seq);
        answered(null);
      }
      return true;
    }
    this.pingsReceived++;
    this.out(pingFrame(payload, 0, true));
    if (this.strikes?.ping()) return this.tooManyPings();
    this.notify('ping');
    return true;
  }

  private onGoaway(id: number, payload: Buffer): boolean {
    if (id !== 0) return this.fail(H2Code.PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (payload.length < 8) return this.fail(H2Code.FRAME_SIZE_ERROR, 'GOAWAY too short');
    this.peerGoaway = true;
    if (this.streams.size === 0) this.end();
    return true;
  }

  private onWindowUpdate(id: number, payload: Buffer): boolean {
    if (payload.length !== 4) return this.fail(H2Code.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong size');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) return this.fail(H2Code.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW_BYTES) {
        return this.fail(H2Code.FLOW_CONTROL_ERROR, 'the connection window grew past 2^31-1');
      }
      this.flushBlocked();
      return !this.dead;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStreamId)
        return this.fail(H2Code.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
      return true;
    }
    if (increment === 0) {
      this.resetStream(stream, H2Code.PROTOCOL_ERROR);
      return !this.dead;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW_BYTES) {
      this.resetStream(stream, H2Code.FLOW_CONTROL_ERROR);
      return !this.dead;
    }
    if (stream.outBytes > 0) this.flushStream(stream);
    return !this.dead;
  }

  // ------------------------------------------------------------------ writing

  private sendSettings(): void {
    this.settingsSent = true;
    this.out(OUR_SETTINGS);
    this.out(OUR_WINDOW_UPDATE);
  }

  private out(frame: Buffer): void {
    const socket = this.socket;
    // Ended by us or, half-closed, by Node when the peer ended: a write could only make an error.
    if (socket.writableEnded) return;
    // Whatever we send first (a GOAWAY for a bad preface, a ping), SETTINGS goes before it.
    if (!this.settingsSent) this.sendSettings();
    if (!this.corked) {
      // Frames gather until the loop has run the I/O callbacks it polled (as Node's own HTTP/2 schedules
      // its writes), not just until this tick ends: a download's frames from several reads of the agent's
      // stream leave in one writev. Measured against uncorking on nextTick (docs/benchmarks.md, "Writes
      // per loop turn"): less CPU per dial and per MiB on the server, the same or lower dial latency.
      this.corked = true;
      socket.cork();
      setImmediate(uncork, this);
    }
    socket.write(frame);
    if (!this.readingPaused && socket.writableLength > OUTPUT_LIMIT_BYTES) {
      // A peer that keeps sending (pings, requests) but never reads: stop reading until it does.
      this.readingPaused = true;
      socket.pause();
    }
  }

  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }

  writeHeaders(stream: WireStream, block: Buffer, endStream: boolean): void {
    if (this.dead) return;
    this.strikes?.sent();
    const frames = headerFrames(stream.id, block, endStream, this.peerMaxFrame);
    for (let i = 0; i < frames.length; i++) this.out(frames[i]!);
  }

  /** Grants the peer `bytes` more on the stream (its owner consumed them). */
  grantStream(stream: WireStream, bytes: number): void {
    if (!this.dead) this.out(windowUpdateFrame(stream.id, bytes));
  }

  /** Resets the stream with `code` and forgets it; the stream's owner learns it ended. */
  resetStream(stream: WireStream, code: number): void {
    if (stream.closedByReset) return;
    // A stream both sides have finished is closed: no frame may name it any more (RFC 9113 5.1).
    if (!this.dead && this.streams.get(stream.id) === stream) this.out(rstStreamFrame(stream.id, code));
    this.forget(stream);
    stream.lost();
  }

  /** A stream error on `id`, open or not (a PRIORITY frame may name any stream). */
  private resetId(id: number, code: number): void {
    const stream = this.streams.get(id);
    if (stream !== undefined) this.resetStream(stream, code);
    else if (!this.dead) this.out(rstStreamFrame(id, code));
  }

  /** Both sides of the stream are done: it needs no frame any more. */
  streamDone(stream: WireStream): void {
    this.forget(stream);
  }

  private forget(stream: WireStream): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    if ((this.goawayLastId !== undefined || this.peerGoaway) && this.streams.size === 0) this.end();
  }

  /** Sends as much of the stream's queue as the windows and the socket allow. */
  flushStream(stream: WireStream): void {
    if (this.dead) return;
    while (stream.outBytes > 0) {
      if (this.sendWindow <= 0 || this.socket.writableLength >= SOCKET_HIGH_WATER_BYTES) {
        if (!stream.blocked) {
          stream.blocked = true;
          this.blocked.push(stream);
        }
        return;
      }
      const size = Math.min(stream.outBytes, stream.sendWindow, this.sendWindow, this.peerMaxFrame);
      if (size <= 0) return; // the stream's own window: its WINDOW_UPDATE flushes it again
      this.writeData(stream, size);
    }
  }

  /** One DATA frame of `size` bytes off the front of the stream's queue, payload buffers not copied. */
  private writeData(stream: WireStream, size: number): void {
    this.strikes?.sent();
    this.out(frameHeader(size, FrameType.DATA, 0, stream.id));
    let left = size;
    const queue = stream.out;
    while (left > 0) {
      const buf = queue[0]!;
      const available = buf.length - stream.outOffset;
      if (available <= left) {
        this.out(stream.outOffset === 0 ? buf : buf.subarray(stream.outOffset));
        queue.shift();
        stream.outOffset = 0;
        left -= available;
      } else {
        this.out(buf.subarray(stream.outOffset, stream.outOffset + left));
        stream.outOffset += left;
        left = 0;
      }
    }
    stream.outBytes -= size;
    stream.sendWindow -= size;
    this.sendWindow -= size;
    stream.tookOut(size);
  }

  /** Serves the streams waiting for the connection window or the socket, a frame each in turn. */
  private flushBlocked(): void {
    let waiting = this.blocked;
    if (waiting.length === 0) return;
    this.blocked = [];
    for (const stream of waiting) stream.blocked = false;
    while (waiting.length > 0 && !this.dead) {
      if (this.sendWindow <= 0 || this.socket.writableLength >= SOCKET_HIGH_WATER_BYTES) break;
      const next: WireStream[] = [];
      for (const stream of waiting) {
        if (stream.outBytes === 0 || stream.closedByReset) continue;
        if (this.sendWindow <= 0 || this.socket.writableLength >= SOCKET_HIGH_WATER_BYTES) {
          next.push(stream);
          continue;
        }
        const size = Math.min(stream.outBytes, stream.sendWindow, this.sendWindow, this.peerMaxFrame);
        if (size <= 0) continue; // waits for its own window
        this.writeData(stream, size);
        if (stream.outBytes > 0) next.push(stream);
      }
      waiting = next;
    }
    for (const stream of waiting) {
      if (stream.outBytes > 0 && !stream.closedByReset && !stream.blocked) {
        stream.blocked = true;
        this.blocked.push(stream);
      }
    }
  }

  onDrain(): void {
    if (this.readingPaused && this.socket.writableLength <= OUTPUT_LIMIT_BYTES) {
      this.readingPaused = false;
      this.socket.resume();
    }
    this.flushBlocked();
  }

  // ------------------------------------------------------------------ keepalive

  keepaliveTick(): void {
    const keepalive = this.context.keepalive;
    if (this.dead || !keepalive) return;
    if (this.pingOutstanding) {
      const error = new H2SessionError(
        'keepalive-timeout',
        `no answer to a keepalive ping within ${keepalive.timeoutMs} ms`,
      );
      this.context.sessionError(this.peer, error);
      this.destroy();
      return;
    }
    this.pingOutstanding = true;
    this.ping(onKeepaliveAnswer.bind(this));
    this.keepaliveTimer = setTimeout(keepaliveTick, keepalive.timeoutMs, this);
    this.keepaliveTimer.unref();
  }

  keepaliveAnswered(): void {
    this.pingOutstanding = false;
    this.keepaliveAcks++;
    const keepalive = this.context.keepalive;
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    if (!keepalive || this.dead) return;
    this.keepaliveTimer = setTimeout(keepaliveTick, keepalive.intervalMs, this);
    this.keepaliveTimer.unref();
  }

  // ------------------------------------------------------------------ ending

  /** Refuses new streams (GOAWAY NO_ERROR); the connection ends when its streams have. */
  goaway(): void {
    if (this.dead || this.goawayLastId !== undefined) return;
    this.goawayLastId = this.lastStreamId;
    this.out(goawayFrame(this.lastStreamId, H2Code.NO_ERROR));
    if (this.streams.size === 0) this.end();
  }

  /** Ends every open call with UNAVAILABLE and the connection after them. */
  shutDown(message: string): void {
    this.goaway();
    for (const stream of this.streams.values()) stream.sendStatus(14, message, true);
    this.end();
  }

  /**
   * The peer pinged too often: GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and the connection closed, as
   * grpc-go's server does; a client that ignores the GOAWAY is cut off shortly after.
   */
  private tooManyPings(): false {
    this.context.pingViolation(this.peer);
    this.out(goawayFrame(this.lastStreamId, H2Code.ENHANCE_YOUR_CALM, TOO_MANY_PINGS));
    this.end(PING_VIOLATION_CLOSE_MS);
    return false;
  }

  /** A connection error: GOAWAY with `code`, then the end. Returns false (stop reading). */
  private fail(code: number, message: string): false {
    if (this.dead) return false;
    this.context.sessionError(this.peer, new H2ProtocolError(code, message));
    this.out(goawayFrame(this.lastStreamId, code, message));
    this.end();
    return false;
  }

  /** Writes what is queued, then closes the socket (destroyed if the peer does not close within a second). */
  private end(graceMs = CLOSE_GRACE_MS): void {
    if (this.dead) return;
    this.markDead();
    if (this.corked) this.uncork();
    if (!this.socket.writableEnded) this.socket.end();
    setTimeout(() => this.socket.destroy(), graceMs).unref();
  }

  destroy(): void {
    this.markDead();
    this.socket.destroy();
  }

  private markDead(): void {
    if (this.dead) return;
    this.dead = true;
    if (this.keepaliveTimer) clearTimeout(this.keepaliveTimer);
    const open = this.streams.values();
    this.streams.clear();
    this.blocked = [];
    for (const stream of open) stream.lost();
    const pings = this.pings;
    if (pings !== undefined && pings.size > 0) {
      this.pings = undefined;
      const gone = new H2SessionError('closed', 'the connection ended before the ping was answered');
      for (const answered of pings.values()) answered(gone);
    }
  }

  onPeerEnd(): void {
    this.markDead();
  }

  onSocketError(err: Error): void {
    // A peer that vanished mid-write is a normal end of a connection, not worth a report.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ECONNRESET' && code !== 'EPIPE') this.context.sessionError(this.peer, err);
  }

  onClose(): void {
    this.markDead();
    delete (this.socket as OwnedSocket)[CONN];
    this.context.gone(this);
    this.notify('close');
  }
}
