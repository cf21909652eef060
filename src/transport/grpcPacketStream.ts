/**
 * PacketStream over a grpc-js bidi call, for both sides: the server's view of an agent or frontend
 * stream, and the agent's (or a test client's) view of its call to a server.
 */
import * as grpc from '@grpc/grpc-js';
import { MalformedPacketError } from '../protocol/errors';
import type { Packet } from '../protocol/packet';
import type { Incoming } from './grpcServices';
import type { PacketStream, PacketStreamHandlers, StreamEnd } from './packetStream';

type AnyDuplex = grpc.ServerDuplexStream<Packet, Packet> | grpc.ClientDuplexStream<Packet, Packet>;

export class GrpcPacketStream implements PacketStream {
  private handlers: PacketStreamHandlers | undefined;
  private ended = false;
  private finished = false;

  constructor(
    private readonly call: AnyDuplex,
    readonly peer: string,
    private readonly side: 'server' | 'client',
  ) {}

  get closed(): boolean {
    return this.finished;
  }

  attach(handlers: PacketStreamHandlers): void {
    this.handlers = handlers;
    const call = this.call;
    call.on('data', (msg: Incoming) => {
      if (msg instanceof MalformedPacketError) handlers.malformed(msg);
      else handlers.packet(msg);
    });
    call.on('drain', () => handlers.drain());
    call.on('end', () => this.endOnce({ kind: 'eof' }));
    call.on('error', (err: Error & { code?: number }) => {
      this.finished = true;
      this.endOnce(
        err.code === grpc.status.CANCELLED ? { kind: 'cancelled' } : { kind: 'error', error: err },
      );
    });
    if (this.side === 'server') {
      call.on('cancelled', () => {
        this.finished = true;
        this.endOnce({ kind: 'cancelled' });
      });
    } else {
      // grpc-js may report the status while messages are still buffered in a paused call; an OK status
      // therefore waits for 'end', so the last packets are delivered before the stream counts as ended.
      (call as grpc.ClientDuplexStream<Packet, Packet>).on('status', (s: grpc.StatusObject) => {
        if (s.code === grpc.status.OK) return;
        this.finished = true;
        this.endOnce({ kind: 'error', error: Object.assign(new Error(s.details), { code: s.code }) });
      });
    }
  }

  send(packet: Packet, onWritten?: () => void): boolean {
    if (this.finished || this.call.writableEnded || this.call.destroyed) {
      onWritten?.();
      return true;
    }
    return onWritten ? this.call.write(packet, onWritten) : this.call.write(packet);
  }

  pauseReceiving(): void {
    this.call.pause();
  }

  resumeReceiving(): void {
    this.call.resume();
  }

  close(): void {
    if (this.finished) return;
    this.finished = true;
    if (!this.call.writableEnded) this.call.end();
  }

  abort(reason: string): void {
    const wasFinished = this.finished;
    this.finished = true;
    this.endOnce({ kind: 'local', reason });
    if (this.side === 'server') {
      if (!wasFinished && !this.call.writableEnded) {
        // grpc-js turns an 'error' on a server call into the status sent to the client.
        this.call.emit('error', { code: grpc.status.ABORTED, details: reason });
      }
    } else {
      (this.call as grpc.ClientDuplexStream<Packet, Packet>).cancel();
    }
  }

  private endOnce(end: StreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers?.end(end);
  }
}
