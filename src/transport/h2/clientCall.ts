/**
 * The client's side of one gRPC call on node:http2: the response headers, the status from the trailers
 * (or from a trailers-only response, or mapped from an HTTP status or a reset), and how our end is
 * finished (END_STREAM) or torn down (RST_STREAM CANCEL).
 */
import * as http2 from 'http2';
import type { Packet } from '../../protocol/packet';
import type { PacketStream, PacketStreamHandlers, StreamEnd } from '../packetStream';
import { GrpcCallError, type GrpcFrameError } from './errors';
import {
  decodeGrpcMessage,
  GrpcStatus,
  parseStatusCode,
  statusFromHttp,
  statusFromRstCode,
  type GrpcStatusCode,
} from './grpcStatus';
import { H2PacketStream, type CallSide } from './h2PacketStream';
import { readMetadata, type IncomingMetadata } from './metadata';

const C = http2.constants;

export interface CallStatus {
  readonly code: GrpcStatusCode;
  readonly details: string;
  readonly trailers: IncomingMetadata;
}

/** Why the session under a call is gone, when it is (goaway, keepalive timeout...). */
export type SessionFate = () => GrpcCallError | undefined;

export class ClientCallSide implements CallSide {
  status: CallStatus | undefined;
  headers: IncomingMetadata | undefined;
  private localError: GrpcCallError | undefined;
  private readonly headerWaiters: Array<(h: IncomingMetadata | undefined) => void> = [];

  constructor(
    private readonly stream: http2.ClientHttp2Stream,
    private readonly sessionFate: SessionFate,
  ) {
    stream.on(
      'response',
      (
        headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader,
        flags: number,
        rawHeaders: string[],
      ) => {
        this.headers = readMetadata(rawHeaders);
        const code = parseStatusCode(headers['grpc-status'] as string | undefined);
        if (code !== undefined) this.setStatus(code, headers['grpc-message'], this.headers);
        const http = Number(headers[C.HTTP2_HEADER_STATUS]);
        if (code === undefined && http !== 200) {
          this.setStatus(statusFromHttp(http), `Received HTTP status code ${http}`, this.headers);
        }
        void flags;
        this.resolveHeaders(this.headers);
      },
    );
    stream.on('trailers', (trailers, _flags, rawHeaders: string[]) => {
      const code = parseStatusCode(trailers['grpc-status'] as string | undefined);
      this.setStatus(
        code ?? GrpcStatus.UNKNOWN,
        code === undefined ? 'trailers without grpc-status' : trailers['grpc-message'],
        readMetadata(rawHeaders),
      );
    });
    stream.once('close', () => this.resolveHeaders(undefined));
  }

  /** Resolves with the response headers, or undefined if the call ended without any. */
  waitHeaders(): Promise<IncomingMetadata | undefined> {
    if (this.headers || this.stream.closed || this.stream.destroyed) return Promise.resolve(this.headers);
    return new Promise((resolve) => this.headerWaiters.push(resolve));
  }

  private resolveHeaders(h: IncomingMetadata | undefined): void {
    for (const w of this.headerWaiters.splice(0)) w(h);
  }

  private setStatus(code: GrpcStatusCode, message: unknown, trailers: IncomingMetadata): void {
    if (this.status) return;
    const details = typeof message === 'string' ? decodeGrpcMessage(message) : '';
    this.status = { code, details, trailers };
  }

  beforeFirstWrite(): void {}

  wrote(): void {}

  settleEnd(decide: () => void): void {
    // A server ends with its status in the same HEADERS frame as END_STREAM: nothing follows to wait for.
    setImmediate(decide);
  }

  finish(): void {
    if (!this.stream.writableEnded) this.stream.end();
  }

  abort(reason: string): void {
    void reason; // RST_STREAM carries no text: the server sees a cancelled call
    if (!this.stream.closed) this.stream.close(C.NGHTTP2_CANCEL);
  }

  rejectFrame(error: GrpcFrameError): void {
    this.localError = new GrpcCallError(
      error.reason === 'too-large' ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INTERNAL,
      error.message,
      error.reason === 'too-large' ? 'message-too-large' : 'bad-frame',
    );
    if (!this.stream.closed) this.stream.close(C.NGHTTP2_CANCEL);
  }

  peerEnd(): StreamEnd {
    if (this.localError) return { kind: 'error', error: this.localError };
    const status = this.status;
    if (status) {
      if (status.code === GrpcStatus.OK) {
        // The server finished the call; if we are still sending, nothing will read it any more.
        if (!this.stream.writableEnded && !this.stream.closed) this.stream.close(C.NGHTTP2_NO_ERROR);
        return { kind: 'eof' };
      }
      if (status.code === GrpcStatus.CANCELLED) return { kind: 'cancelled' };
      return { kind: 'error', error: new GrpcCallError(status.code, status.details, 'status') };
    }
    const fate = this.sessionFate();
    if (fate) return { kind: 'error', error: fate };
    const rst = this.stream.rstCode;
    if (rst === C.NGHTTP2_CANCEL) return { kind: 'cancelled' };
    if (rst !== undefined && rst !== C.NGHTTP2_NO_ERROR) {
      return {
        kind: 'error',
        error: new GrpcCallError(
          statusFromRstCode(rst),
          `stream reset by the server with code ${rst}`,
          'stream-reset',
        ),
      };
    }
    return {
      kind: 'error',
      error: new GrpcCallError(GrpcStatus.UNKNOWN, 'server ended the stream without a status', 'no-status'),
    };
  }
}

/** One call opened by an H2Client. */
export interface H2ClientCall {
  readonly stream: PacketStream;
  /** The response headers, or undefined when the call ended without any. Never rejects. */
  headers(): Promise<IncomingMetadata | undefined>;
  /** The status the server sent, once it has (undefined before, or when there was none). */
  status(): CallStatus | undefined;
}

/** A call that could not be opened (the session was gone): it ends with the session's reason. */
export function failedClientCall(peer: string, error: GrpcCallError): H2ClientCall {
  return {
    stream: new EndedPacketStream(peer, error),
    headers: () => Promise.resolve(undefined),
    status: () => undefined,
  };
}

class EndedPacketStream implements PacketStream {
  readonly closed = true;
  constructor(
    readonly peer: string,
    private readonly error: GrpcCallError,
  ) {}
  attach(handlers: PacketStreamHandlers): void {
    // Asynchronously, as a real stream would end: the owner finishes wiring up first.
    queueMicrotask(() => handlers.end({ kind: 'error', error: this.error }));
  }
  send(_packet: Packet, onWritten?: () => void): boolean {
    onWritten?.();
    return true;
  }
  pauseReceiving(): void {}
  resumeReceiving(): void {}
  close(): void {}
  abort(): void {}
}

export function makeClientCall(
  stream: http2.ClientHttp2Stream,
  peer: string,
  fate: SessionFate,
  maxReceiveMessageBytes: number,
): H2ClientCall {
  stream.on('error', () => {});
  const side = new ClientCallSide(stream, fate);
  const packets = new H2PacketStream(stream, peer, side, maxReceiveMessageBytes);
  return { stream: packets, headers: () => side.waitHeaders(), status: () => side.status };
}
