/** Typed errors of the node:http2 gRPC transport; `reason` labels logs and metrics. */
import type { GrpcStatusCode } from './grpcStatus';

/** A call ended with a gRPC status other than OK (sent by the peer, or decided here). */
export class GrpcCallError extends Error {
  override readonly name = 'GrpcCallError';
  constructor(
    readonly code: GrpcStatusCode,
    readonly details: string,
    readonly reason:
      | 'status'
      | 'stream-reset'
      | 'session-closed'
      | 'goaway'
      | 'keepalive-timeout'
      | 'message-too-large'
      | 'bad-frame'
      | 'deadline-exceeded'
      | 'no-status',
    options?: { cause?: unknown },
  ) {
    super(details, options);
  }
}

/** The HTTP/2 session as a whole could not be used (connect failed, went away, peer frozen). */
export class H2SessionError extends Error {
  override readonly name = 'H2SessionError';
  constructor(
    readonly reason:
      'connect-failed' | 'connect-timeout' | 'goaway' | 'keepalive-timeout' | 'closed' | 'session-error',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A gRPC frame that cannot be read: the stream carrying it is ended with `status`. */
export class GrpcFrameError extends Error {
  override readonly name = 'GrpcFrameError';
  constructor(
    readonly reason: 'too-large' | 'compressed' | 'truncated',
    message: string,
  ) {
    super(message);
  }
}
