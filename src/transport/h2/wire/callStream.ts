/**
 * One gRPC call on our own HTTP/2 server connection, seen by its owner as a PacketStream: the stream's
 * flow-control windows both ways, the messages in (reassembled, queued while paused or not yet attached),
 * the packets out (queued until the peer's windows let them leave), the response headers and the status.
 * One object per call, with no Node stream under it: that is what makes a call cheaper than node:http2's.
 */
import { MalformedPacketError } from '../../../protocol/errors';
import type { Packet } from '../../../protocol/packet';
import type { PacketStream, PacketStreamHandlers, StreamEnd } from '../../packetStream';
import { GrpcCallError, type GrpcFrameError } from '../errors';
import { decodeMessage, framePacket, MessageDecoder } from '../grpcFraming';
import { GrpcStatus, PEER_RESET_SETTLE_TURNS, type GrpcStatusCode } from '../grpcStatus';
import { SEND_HIGH_WATER_BYTES, STREAM_WINDOW_BYTES } from '../settings';
import { H2Code } from './frames';
import type { WireConnection } from './connection';
import { okTrailersBlock, plainResponseBlock, statusBlock, trailersOnlyBlock } from './responseHeaders';

/**
 * The array a DATA frame's messages are split into before they are delivered, shared by every stream: a
 * stream of its own would be 32 bytes per idle tunnel. A delivery can reach another stream's `data` only
 * through the connection's frame loop, never inside this one, but a second array is made if it ever does.
 */
let spareScratch: Buffer[] | undefined = [];

function takeScratch(): Buffer[] {
  const scratch = spareScratch ?? [];
  spareScratch = undefined;
  return scratch;
}

function releaseScratch(scratch: Buffer[]): void {
  scratch.length = 0;
  spareScratch = scratch;
}

/**
 * Received bytes a stream lets build up before it grants the peer more window: a quarter of the window,
 * as grpc-go does, so that a busy stream sends one WINDOW_UPDATE per MiB rather than one per frame.
 */
const CREDIT_THRESHOLD = STREAM_WINDOW_BYTES / 4;

export class WireStream implements PacketStream {
  /** What the peer lets us send on this stream (its SETTINGS_INITIAL_WINDOW_SIZE plus its updates). */
  sendWindow: number;
  /** What we still let the peer send before it needs more credit. */
  private recvWindow = STREAM_WINDOW_BYTES;
  /** Bytes consumed and not yet granted back to the peer. */
  private pendingCredit = 0;
  /** Bytes received while paused (or before attach): granted back once their messages are delivered. */
  private heldCredit = 0;

  /**
   * Outgoing bytes waiting for window: whole buffers, the first one partly sent from `outOffset`. Replaced
   * by a fresh array whenever it empties: a drained array keeps the backing store it grew (about 150
   * bytes), and an idle tunnel would hold it for as long as it lives.
   */
  out: Buffer[] = [];
  outOffset = 0;
  outBytes = 0;
  /** Callbacks of `send`, with the total of queued bytes at which each packet ends. */
  private written: Array<[number, () => void]> | undefined;
  private queuedTotal = 0;
  private sentTotal = 0;
  /** Whether the connection holds this stream in its list of streams waiting for window. */
  blocked = false;

  headersSent = false;
  /** Our END_STREAM went out (the status), or is queued behind data. */
  private statusSent = false;
  private trailersBlock: Buffer | undefined;
  private resetAfterStatus = false;
  /** The peer's END_STREAM arrived. */
  remoteEnded = false;
  /** A RST_STREAM was sent or received, or the connection is gone: the stream is dead. */
  closedByReset = false;
  private peerResetCode: number | undefined;
  private settling = false;

  private handlers: PacketStreamHandlers | undefined;
  private decoder: MessageDecoder | undefined;
  /** Messages waiting while paused or not yet attached; made when the first has to wait. */
  private queue: Buffer[] | undefined;
  private paused = false;
  private finished = false;
  private ended = false;
  private needDrain = false;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private cancelled: AbortController | undefined;
  private givenUp = false;
  /** Response headers to send, when metadata was added to the plain ones. */
  responseBlock: Buffer | undefined;

  constructor(
    readonly id: number,
    readonly conn: WireConnection,
    readonly peer: string,
    sendWindow: number,
    private readonly maxReceiveMessageBytes: number,
  ) {
    this.sendWindow = sendWindow;
  }

  get closed(): boolean {
    return this.finished;
  }

  /** Whether the call got its status from us (the client did not give up on it). */
  get sentStatus(): boolean {
    return this.statusSent;
  }

  /** Aborted when the client goes away before the call got its status. Made only when asked. */
  get signal(): AbortSignal {
    if (!this.cancelled) {
      this.cancelled = new AbortController();
      if (this.givenUp) this.cancelled.abort();
    }
    return this.cancelled.signal;
  }

  setDeadline(deadline: number): void {
    this.deadlineTimer = setTimeout(expireDeadline, Math.max(0, deadline - Date.now()), this);
    this.deadlineTimer.unref();
  }

  onDeadline(): void {
    this.failLocally(
      new GrpcCallError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded', 'deadline-exceeded'),
    );
    this.sendStatus(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded', true);
  }

  // ---- PacketStream ----

  attach(handlers: PacketStreamHandlers): void {
    this.handlers = handlers;
    if (!this.paused) this.flushQueue();
    if (this.closedByReset || this.remoteEnded) this.endIfDrained();
  }

  send(packet: Packet, onWritten?: () => void): boolean {
    if (this.finished || this.statusSent || this.closedByReset) {
      onWritten?.();
      return true;
    }
    if (!this.headersSent) this.sendHeaders();
    const parts = framePacket(packet);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      this.out.push(part);
      this.outBytes += part.length;
      this.queuedTotal += part.length;
    }
    if (onWritten) (this.written ??= []).push([this.queuedTotal, onWritten]);
    this.conn.flushStream(this);
    if (this.outBytes < SEND_HIGH_WATER_BYTES) return true;
    this.needDrain = true;
    return false;
  }

  pauseReceiving(): void {
    this.paused = true;
  }

  resumeReceiving(): void {
    if (!this.paused) return;
    this.paused = false;
    this.flushQueue();
    if (!this.paused && (this.remoteEnded || this.closedByReset)) this.endIfDrained();
  }

  close(): void {
    if (this.finished) return;
    this.finished = true;
    this.sendStatus(GrpcStatus.OK, '');
  }

  abort(reason: string): void {
    this.finished = true;
    this.queue = undefined;
    this.endOnce({ kind: 'local', reason });
    if (this.closedByReset) return;
    if (!this.statusSent) this.sendStatus(GrpcStatus.ABORTED, reason, true);
    else this.conn.resetStream(this, H2Code.CANCEL);
  }

  /** Ends the call from our side because of `error` (bad frame, deadline) and reports it once. */
  failLocally(error: GrpcCallError): void {
    this.finished = true;
    this.endOnce({ kind: 'error', error });
  }

  // ---- response ----

  sendHeaders(): void {
    if (this.headersSent || this.closedByReset) return;
    this.headersSent = true;
    this.conn.writeHeaders(this, this.responseBlock ?? plainResponseBlock, false);
  }

  /**
   * Ends the call with a status: trailers after the queued data, or a trailers-only response when no
   * header went out. With `thenReset`, or when the client has not finished sending, a RST_STREAM
   * NO_ERROR follows, as grpc-go does: nobody will read what the client still sends.
   */
  sendStatus(code: GrpcStatusCode, message: string, thenReset = false): void {
    if (this.statusSent || this.closedByReset) return;
    if (!this.headersSent) {
      this.respondWithStatus(trailersOnlyBlock(this.responseBlock, code, message), thenReset);
      return;
    }
    this.statusSent = true;
    this.resetAfterStatus = thenReset;
    this.trailersBlock =
      code === GrpcStatus.OK && message === '' ? okTrailersBlock : statusBlock(code, message);
    if (this.outBytes === 0) this.writeTrailers();
  }

  /**
   * Ends the call with one HEADERS frame that carries the whole response and its status (trailers-only, or
   * a refusal of a request that is not gRPC); what the client still sends is not read.
   */
  respondWithStatus(block: Buffer, thenReset = false): void {
    if (this.statusSent || this.closedByReset) return;
    this.statusSent = true;
    this.headersSent = true;
    this.resetAfterStatus = thenReset;
    this.out = [];
    this.outBytes = 0;
    this.conn.writeHeaders(this, block, true);
    this.afterStatus();
  }

  /** Called by the connection when the queue is empty: the status can follow the data. */
  private writeTrailers(): void {
    const block = this.trailersBlock;
    if (!block) return;
    this.trailersBlock = undefined;
    this.conn.writeHeaders(this, block, true);
    this.afterStatus();
  }

  private afterStatus(): void {
    if (this.resetAfterStatus || !this.remoteEnded) this.conn.resetStream(this, H2Code.NO_ERROR);
    else this.conn.streamDone(this);
    this.clearDeadline();
  }

  // ---- what the connection tells the stream ----

  /** The connection took `bytes` off the front of the queue into frames. */
  tookOut(bytes: number): void {
    this.sentTotal += bytes;
    const written = this.written;
    if (written !== undefined) {
      while (written.length > 0 && written[0]![0] <= this.sentTotal) written.shift()![1]();
      if (written.length === 0 && this.written === written) this.written = undefined;
    }
    if (this.outBytes === 0 && this.out.length === 0) this.out = [];
    if (this.outBytes === 0 && this.trailersBlock) this.writeTrailers();
    if (this.needDrain && this.outBytes < SEND_HIGH_WATER_BYTES) {
      this.needDrain = false;
      this.handlers?.drain();
    }
  }

  /**
   * A DATA frame's payload (padding removed); `frameBytes` is what it costs in window. Returns false when
   * the peer sent more than its window allowed (the caller resets the stream).
   */
  data(payload: Buffer, frameBytes: number, endStream: boolean): boolean {
    this.recvWindow -= frameBytes;
    if (this.recvWindow < 0) return false;
    if (this.remoteEnded || this.ended) {
      return true;
    }
    if (payload.length > 0) {
      const decoder = (this.decoder ??= new MessageDecoder(this.maxReceiveMessageBytes));
      const out = takeScratch();
      const error = decoder.push(payload, out);
      let i = 0;
      if (this.handlers !== undefined && !this.paused && this.queue === undefined) {
        for (; i < out.length && !this.paused && !this.ended; i++) this.deliver(out[i]!);
      }
      if (i < out.length) {
        const queue = (this.queue ??= []);
        for (; i < out.length; i++) queue.push(out[i]!);
      }
      releaseScratch(out);
      if (error) {
        this.queue = undefined;
        this.rejectFrame(error);
        return true;
      }
    }
    if (this.queue === undefined && this.handlers !== undefined) this.credit(frameBytes);
    else this.heldCredit += frameBytes;
    if (endStream) this.endStream();
    return true;
  }

  /** The peer's END_STREAM (on DATA or on trailers). */
  endStream(): void {
    if (this.remoteEnded) return;
    this.remoteEnded = true;
    if (this.statusSent && this.trailersBlock === undefined) this.conn.streamDone(this);
    if (this.handlers === undefined || this.settling) return;
    this.settling = true;
    let turns = PEER_RESET_SETTLE_TURNS;
    const next = (): void => {
      if (--turns <= 0 || this.closedByReset) this.endIfDrained();
      else setImmediate(next);
    };
    setImmediate(next);
  }

  /** The peer reset the stream. */
  peerReset(code: number): void {
    this.peerResetCode = code;
    this.lost();
  }

  /** The stream is dead: reset by either side, or its connection is gone. */
  lost(): void {
    if (this.closedByReset) return;
    this.closedByReset = true;
    this.out = [];
    this.outBytes = 0;
    this.trailersBlock = undefined;
    this.clearDeadline();
    if (!this.statusSent) {
      this.givenUp = true;
      this.cancelled?.abort();
    }
    const written = this.written;
    if (written !== undefined) {
      this.written = undefined;
      for (const [, cb] of written) cb();
    }
    if (this.handlers !== undefined) this.endIfDrained();
  }

  /** The peer's SETTINGS changed the initial window by `delta`. */
  adjustSendWindow(delta: number): void {
    this.sendWindow += delta;
  }

  // ---- receiving ----

  private rejectFrame(error: GrpcFrameError): void {
    const tooLarge = error.reason === 'too-large';
    this.failLocally(
      new GrpcCallError(tooLarge ? 8 : 13, error.message, tooLarge ? 'message-too-large' : 'bad-frame'),
    );
    this.sendStatus(tooLarge ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INTERNAL, error.message, true);
  }

  private deliver(message: Buffer): void {
    const decoded = decodeMessage(message);
    if (decoded instanceof MalformedPacketError) this.handlers?.malformed(decoded);
    else this.handlers?.packet(decoded);
  }

  private flushQueue(): void {
    if (this.handlers === undefined) return;
    const queue = this.queue;
    if (queue !== undefined) {
      while (queue.length > 0 && this.queue === queue && !this.paused && !this.ended)
        this.deliver(queue.shift()!);
      if (queue.length > 0) return;
      if (this.queue === queue) this.queue = undefined;
    }
    if (this.heldCredit > 0) {
      const held = this.heldCredit;
      this.heldCredit = 0;
      this.credit(held);
    }
  }

  private credit(bytes: number): void {
    if (this.remoteEnded || this.closedByReset) return;
    this.pendingCredit += bytes;
    if (this.pendingCredit < CREDIT_THRESHOLD) return;
    this.recvWindow += this.pendingCredit;
    this.conn.grantStream(this, this.pendingCredit);
    this.pendingCredit = 0;
  }

  private endIfDrained(): void {
    if (this.ended) return;
    const end = this.peerEnd();
    if (end.kind !== 'eof') {
      this.queue = undefined;
      this.finished = true;
      this.endOnce(end);
      return;
    }
    if (this.paused || this.queue !== undefined) return;
    if (this.decoder?.midMessage) {
      this.endOnce({
        kind: 'error',
        error: new GrpcCallError(13, 'stream ended in the middle of a message', 'bad-frame'),
      });
      return;
    }
    this.endOnce(end);
  }

  private peerEnd(): StreamEnd {
    const rst = this.peerResetCode;
    if (rst !== undefined && rst !== H2Code.NO_ERROR) return { kind: 'cancelled' };
    // A call its owner finished is complete whatever the peer still had to say.
    return this.remoteEnded || (this.finished && rst === undefined) ? { kind: 'eof' } : { kind: 'cancelled' };
  }

  private endOnce(end: StreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers?.end(end);
  }

  private clearDeadline(): void {
    if (this.deadlineTimer === undefined) return;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }
}

function expireDeadline(stream: WireStream): void {
  stream.onDeadline();
}
