/**
 * PacketStream over one HTTP/2 stream carrying a gRPC bidi call, for both sides. The side-specific part
 * (how our end is finished, how the peer's end is read) is a `CallSide`; everything about bytes is here:
 * framing without copying payloads, reassembly, pause/resume through HTTP/2 flow control, and one `end`.
 */
import type * as http2 from 'http2';
import { MalformedPacketError } from '../../protocol/errors';
import type { Packet } from '../../protocol/packet';
import type { PacketStream, PacketStreamHandlers, StreamEnd } from '../packetStream';
import { GrpcCallError, type GrpcFrameError } from './errors';
import { decodeMessage, framePacket, MessageDecoder } from './grpcFraming';
import { nudgeOf, type ReadNudge } from './readNudge';
import { SEND_HIGH_WATER_BYTES } from './settings';

/** What differs between the server's and the client's view of a call. */
export interface CallSide {
  /** Finishes our sending side after queued messages (client: END_STREAM; server: OK trailers). */
  finish(): void;
  /** Tears the call down now, telling the peer `reason` when the side can. */
  abort(reason: string): void;
  /** A frame could not be read: end the call with the right status, from our side. */
  rejectFrame(error: GrpcFrameError): void;
  /** Called once before the first message is written (the server sends its headers here). */
  beforeFirstWrite(): void;
  /** Called for every message written (the server's ping policy forgives a peer it sends data to). */
  wrote(): void;
  /** How the peer's side ended, once the readable side is done: an EOF, a status, a reset. */
  peerEnd(): StreamEnd;
  /**
   * The peer's END_STREAM was read: calls `decide` once whatever may follow it closely (a reset) has had
   * the time to be read, so that `peerEnd` tells a cancel from an EOF.
   */
  settleEnd(decide: () => void): void;
}

export class H2PacketStream implements PacketStream {
  private handlers: PacketStreamHandlers | undefined;
  private readonly decoder: MessageDecoder;
  /** Messages received while paused, delivered on resume in order. */
  private readonly queue: Buffer[] = [];
  private readonly scratch: Buffer[] = [];
  private paused = false;
  private peerDone = false;
  private ended = false;
  private finished = false;
  private wroteAny = false;
  private needDrain = false;
  /** The server's nudge of the session under this call (readNudge.ts); none on a client. */
  private readonly nudge: ReadNudge | undefined;

  constructor(
    private readonly stream: http2.Http2Stream,
    readonly peer: string,
    private readonly side: CallSide,
    maxReceiveMessageBytes?: number,
  ) {
    this.decoder = new MessageDecoder(maxReceiveMessageBytes);
    this.nudge = nudgeOf(stream.session);
    // Errors arrive again as 'close' with a reset code or a session error; the side reads them there.
    stream.on('error', () => {});
  }

  get closed(): boolean {
    return this.finished;
  }

  attach(handlers: PacketStreamHandlers): void {
    this.handlers = handlers;
    const stream = this.stream;
    stream.on('data', (chunk: Buffer) => this.onChunk(chunk));
    // node:http2 cancels a call by ending the writable side and then resetting (END_STREAM, RST_STREAM
    // CANCEL): the side decides when the reset would have been read, and the end is then a cancel.
    stream.on('end', () => this.side.settleEnd(() => this.onPeerDone()));
    stream.on('close', () => this.onPeerDone());
    stream.on('drain', () => {
      if (!this.needDrain) return;
      this.needDrain = false;
      handlers.drain();
    });
    if (stream.destroyed) this.onPeerDone();
  }

  send(packet: Packet, onWritten?: () => void): boolean {
    const stream = this.stream;
    if (this.finished || stream.destroyed || stream.writableEnded) {
      onWritten?.();
      return true;
    }
    if (!this.wroteAny) {
      this.wroteAny = true;
      this.side.beforeFirstWrite();
    }
    this.side.wrote();
    this.nudge?.poke();
    const parts = framePacket(packet);
    if (parts.length === 1) {
      // Every packet but DATA with a payload is one buffer: a plain write, no cork and writev.
      if (onWritten) stream.write(parts[0], () => onWritten());
      else stream.write(parts[0]);
    } else {
      stream.cork();
      const last = parts.length - 1;
      for (let i = 0; i < last; i++) stream.write(parts[i]);
      if (onWritten) stream.write(parts[last], () => onWritten());
      else stream.write(parts[last]);
      stream.uncork();
    }
    if (stream.writableLength < SEND_HIGH_WATER_BYTES) return true;
    this.needDrain = true;
    return false;
  }

  pauseReceiving(): void {
    this.paused = true;
    this.stream.pause();
  }

  resumeReceiving(): void {
    if (!this.paused) return;
    this.paused = false;
    this.flushQueue();
    if (this.paused) return;
    if (this.peerDone) this.endIfDrained();
    else this.stream.resume();
  }

  close(): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.wroteAny) {
      this.wroteAny = true;
      this.side.beforeFirstWrite();
    }
    this.side.finish();
  }

  abort(reason: string): void {
    this.finished = true;
    this.queue.length = 0;
    this.endOnce({ kind: 'local', reason });
    if (!this.stream.destroyed) this.side.abort(reason);
  }

  /** Ends the call from our side because of `error` (bad frame, deadline) and reports it once. */
  failLocally(error: GrpcCallError): void {
    this.finished = true;
    this.endOnce({ kind: 'error', error });
  }

  private onChunk(chunk: Buffer): void {
    if (this.ended) return;
    this.nudge?.poke();
    const out = this.scratch;
    const error = this.decoder.push(chunk, out);
    if (!this.paused && this.queue.length === 0) {
      let i = 0;
      for (; i < out.length && !this.paused && !this.ended; i++) this.deliver(out[i]!);
      for (; i < out.length; i++) this.queue.push(out[i]!);
    } else {
      for (const m of out) this.queue.push(m);
    }
    out.length = 0;
    if (error) {
      this.queue.length = 0;
      this.failLocally(new GrpcCallError(statusOfFrameError(error), error.message, frameReason(error)));
      this.side.rejectFrame(error);
    }
  }

  private deliver(message: Buffer): void {
    const decoded = decodeMessage(message);
    if (decoded instanceof MalformedPacketError) this.handlers?.malformed(decoded);
    else this.handlers?.packet(decoded);
  }

  private flushQueue(): void {
    while (this.queue.length > 0 && !this.paused && !this.ended) this.deliver(this.queue.shift()!);
  }

  private onPeerDone(): void {
    if (this.peerDone) return;
    this.peerDone = true;
    this.endIfDrained();
  }

  private endIfDrained(): void {
    const end = this.side.peerEnd();
    if (end.kind !== 'eof') {
      // A reset, a cancel or an error status ends the call now, even with packets still queued: the
      // owner must learn at once that nothing more will come, and what is queued belongs to a dead call.
      this.queue.length = 0;
      this.finished = true;
      this.endOnce(end);
      return;
    }
    if (this.paused || this.queue.length > 0) return;
    if (this.decoder.midMessage) {
      this.endOnce({
        kind: 'error',
        error: new GrpcCallError(13, 'stream ended in the middle of a message', 'bad-frame'),
      });
      return;
    }
    this.endOnce(end);
  }

  private endOnce(end: StreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers?.end(end);
  }
}

function statusOfFrameError(error: GrpcFrameError): 8 | 13 {
  return error.reason === 'too-large' ? 8 : 13;
}

function frameReason(error: GrpcFrameError): 'message-too-large' | 'bad-frame' {
  return error.reason === 'too-large' ? 'message-too-large' : 'bad-frame';
}
