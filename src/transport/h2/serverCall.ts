/**
 * The server's side of one gRPC call on node:http2: response headers (sent explicitly, or with the first
 * message as grpc-js does), the status as trailers (or a trailers-only response when nothing was sent),
 * and how the client's end is read (END_STREAM is EOF, a reset is a cancel).
 */
import * as http2 from 'http2';
import type { PacketStream } from '../packetStream';
import type { StreamEnd } from '../packetStream';
import { GrpcCallError } from './errors';
import type { GrpcFrameError } from './errors';
import { GRPC_CONTENT_TYPE } from './grpcFraming';
import { encodeGrpcMessage, GrpcStatus, PEER_RESET_SETTLE_TURNS, type GrpcStatusCode } from './grpcStatus';
import { H2PacketStream, type CallSide } from './h2PacketStream';
import { metadataHeaders, type IncomingMetadata, type OutgoingMetadata } from './metadata';

const C = http2.constants;
/**
 * How long a call this side gave up on stays open after its status before it is reset: ample for the
 * status frame to leave on a loaded loopback or LAN, short enough that a client that ignores the status
 * cannot hold the stream.
 */
export const RESET_AFTER_STATUS_MS = 1_000;

/** What a call tells when its headers or data go out (the session's ping policy, keepalive.ts). */
export interface SendWatcher {
  sent(): void;
}

/** For calls on a session without a ping policy. */
const UNWATCHED: SendWatcher = { sent: () => {} };

/**
 * Response headers (`:status`, content-type and the metadata) for metadata objects a caller passes again
 * and again: the agent endpoint answers every agent with the same serverid/servercount, so the headers
 * are encoded once per server instead of once per agent stream. node:http2 copies what `respond` is given.
 */
const responseHeadersOf = new WeakMap<OutgoingMetadata, http2.OutgoingHttpHeaders>();

function responseHeaders(metadata: OutgoingMetadata): http2.OutgoingHttpHeaders {
  let headers = responseHeadersOf.get(metadata);
  if (!headers) {
    headers = {
      [C.HTTP2_HEADER_STATUS]: 200,
      [C.HTTP2_HEADER_CONTENT_TYPE]: GRPC_CONTENT_TYPE,
      ...metadataHeaders(metadata),
    };
    responseHeadersOf.set(metadata, headers);
  }
  return headers;
}

const PLAIN_RESPONSE_HEADERS: http2.OutgoingHttpHeaders = {
  [C.HTTP2_HEADER_STATUS]: 200,
  [C.HTTP2_HEADER_CONTENT_TYPE]: GRPC_CONTENT_TYPE,
};

/** The status of every call that ends well (each frontend tunnel's): node:http2 only reads what it is given. */
const OK_STATUS: Readonly<http2.OutgoingHttpHeaders> = Object.freeze({
  'grpc-status': String(GrpcStatus.OK),
});

export class ServerCallSide implements CallSide {
  private headersSent = false;
  private statusSent = false;
  private trailers: http2.OutgoingHttpHeaders | undefined;
  /** The response headers once metadata was added (shared between calls that add the same object). */
  private responseHeaders = PLAIN_RESPONSE_HEADERS;
  private resetAfterStatus = false;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    /** Told when headers or data go out; an object the session already has, not a closure per call. */
    private readonly sends: SendWatcher = UNWATCHED,
  ) {}

  get sentStatus(): boolean {
    return this.statusSent;
  }

  /** Headers to send with the response headers, whenever those go out. */
  addHeaders(metadata: OutgoingMetadata): void {
    this.responseHeaders =
      this.responseHeaders === PLAIN_RESPONSE_HEADERS
        ? responseHeaders(metadata)
        : { ...this.responseHeaders, ...metadataHeaders(metadata) };
  }

  sendHeaders(): void {
    if (this.headersSent || this.stream.destroyed || this.stream.headersSent) return;
    this.headersSent = true;
    this.sends.sent();
    // Listened for only by calls that send their headers first: a trailers-only call never waits for it.
    this.stream.once('wantTrailers', this.onWantTrailers);
    this.stream.respond(this.responseHeaders, { waitForTrailers: true });
  }

  private readonly onWantTrailers = (): void => {
    this.stream.sendTrailers(this.trailers ?? {});
    if (this.resetAfterStatus) this.resetQuietly();
  };

  /**
   * Ends the call with a status. With `thenReset`, the client is also told to stop sending
   * (RST_STREAM NO_ERROR after the status, as HTTP/2 allows once a response is complete): for calls
   * this side gave up on (deadline, bad frame, abort), whose remaining input nobody will read.
   */
  sendStatus(code: GrpcStatusCode, message: string, thenReset = false): void {
    if (this.statusSent || this.stream.destroyed || this.stream.closed) return;
    this.statusSent = true;
    this.resetAfterStatus = thenReset;
    const status: http2.OutgoingHttpHeaders =
      code === GrpcStatus.OK && message === ''
        ? OK_STATUS
        : {
            'grpc-status': String(code),
            ...(message !== '' ? { 'grpc-message': encodeGrpcMessage(message) } : {}),
          };
    if (!this.headersSent) {
      // Trailers-only: the status rides on the only HEADERS frame.
      this.headersSent = true;
      this.sends.sent();
      this.stream.respond({ ...this.responseHeaders, ...status }, { endStream: true });
      if (thenReset) this.resetQuietly();
      return;
    }
    this.trailers = status;
    this.stream.end();
  }

  /**
   * Resets the stream a little after the status: node:http2 drops a status still queued when the stream
   * is reset at once. A grpc client ends the call on the status by itself; the reset is for one that
   * keeps sending to a call nobody reads any more.
   */
  private resetQuietly(): void {
    const stream = this.stream;
    const timer = setTimeout(() => {
      if (!stream.closed && !stream.destroyed) stream.close(C.NGHTTP2_NO_ERROR);
    }, RESET_AFTER_STATUS_MS);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
  }

  beforeFirstWrite(): void {
    this.sendHeaders();
  }

  wrote(): void {
    this.sends.sent();
  }

  finish(): void {
    this.sendStatus(GrpcStatus.OK, '');
  }

  abort(reason: string): void {
    if (!this.statusSent) this.sendStatus(GrpcStatus.ABORTED, reason, true);
    else if (!this.stream.closed) this.stream.close(C.NGHTTP2_CANCEL);
  }

  rejectFrame(error: GrpcFrameError): void {
    this.sendStatus(
      error.reason === 'too-large' ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INTERNAL,
      error.message,
      true,
    );
  }

  settleEnd(decide: () => void): void {
    // Each setImmediate runs after the poll phase of its turn has read what the socket holds.
    let turns = PEER_RESET_SETTLE_TURNS;
    const next = (): void => {
      if (--turns <= 0 || this.stream.closed || this.stream.destroyed) decide();
      else setImmediate(next);
    };
    setImmediate(next);
  }

  peerEnd(): StreamEnd {
    // The client's END_STREAM ends the readable side; anything else that closes it is a reset or the
    // session going away, which grpc servers report as a cancelled call.
    const rst = this.stream.rstCode;
    if (rst !== undefined && rst !== C.NGHTTP2_NO_ERROR) return { kind: 'cancelled' };
    return this.stream.readableEnded ? { kind: 'eof' } : { kind: 'cancelled' };
  }
}

/** One incoming call as the route handler sees it. */
export interface H2ServerCall {
  readonly path: string;
  readonly metadata: IncomingMetadata;
  readonly peer: string;
  /** The HTTP/2 session the call arrived on (shared with the client's other calls). */
  readonly session: http2.ServerHttp2Session;
  /** The client's deadline (grpc-timeout), as a Date.now() value, when it sent one. */
  readonly deadline: number | undefined;
  /** Aborted when the client goes away before the call got its status (reset, session lost). */
  readonly signal: AbortSignal;
  /**
   * Returns the call as a PacketStream. With `headers`, the response headers go out now (the agent
   * endpoint's serverid/servercount); without, they go with the first packet or the status.
   */
  accept(headers?: OutgoingMetadata): PacketStream;
  /** Ends the call before any packet with a status (trailers-only when no header was sent). */
  refuse(code: GrpcStatusCode, details: string): void;
}

export function makeServerCall(
  stream: http2.ServerHttp2Stream,
  init: {
    path: string;
    metadata: IncomingMetadata;
    peer: string;
    session: http2.ServerHttp2Session;
    deadline: number | undefined;
    maxReceiveMessageBytes: number;
    /** Told when headers or data go out on the call. */
    sends?: SendWatcher;
  },
): H2ServerCall {
  const side = new ServerCallSide(stream, init.sends);
  // The signal is made only when someone asks for it (token authentication): most agent streams are
  // never asked, and an AbortController with its signal is a few hundred bytes and microseconds each.
  let cancelled: AbortController | undefined;
  let givenUp = false;
  let packets: H2PacketStream | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  stream.once('close', () => {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    // Only a call that ends without a status was given up by the client (a reset, a lost session).
    if (side.sentStatus) return;
    givenUp = true;
    cancelled?.abort();
  });
  if (init.deadline !== undefined) {
    deadlineTimer = setTimeout(
      () => {
        side.sendStatus(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded', true);
        packets?.failLocally(
          new GrpcCallError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded', 'deadline-exceeded'),
        );
      },
      Math.max(0, init.deadline - Date.now()),
    );
    deadlineTimer.unref();
  }
  return {
    path: init.path,
    metadata: init.metadata,
    peer: init.peer,
    session: init.session,
    deadline: init.deadline,
    get signal(): AbortSignal {
      if (!cancelled) {
        cancelled = new AbortController();
        if (givenUp) cancelled.abort();
      }
      return cancelled.signal;
    },
    accept: (headers) => {
      if (headers) {
        side.addHeaders(headers);
        side.sendHeaders();
      }
      packets ??= new H2PacketStream(stream, init.peer, side, init.maxReceiveMessageBytes);
      return packets;
    },
    refuse: (code, details) => {
      side.sendStatus(code, details);
      stream.resume(); // nothing will read what the client still sends: let it flow away
    },
  };
}
