/**
 * Errors of the frontend client. Every failure to open a tunnel is a DialError whose `reason` tells the
 * caller whether the far side answered (and what), or the tunnel itself never worked.
 */
import { ReasonedError } from '../errors';

export type DialFailureReason =
  /** The proxy answered the dial with an error (DIAL_RSP error text, or a non-200 CONNECT reply). */
  | 'error-response'
  /** The proxy cancelled the pending dial (DIAL_CLS), e.g. because its agent went away. */
  | 'dial-closed'
  /** No answer within the caller's timeout. */
  | 'timeout'
  /** The connection to the proxy failed or ended before it answered. */
  | 'transport'
  /** The proxy sent something that is not the protocol (malformed packet, unparsable HTTP head). */
  | 'protocol';

export class DialError extends ReasonedError<DialFailureReason> {
  override readonly name: string = 'DialError';
  constructor(
    reason: DialFailureReason,
    /** The `host:port` the tunnel was asked to reach. */
    readonly address: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(reason, message, options);
  }
}

/** The proxy's DIAL_RSP carried an error; `serverError` is its text verbatim (peers match substrings). */
export class GrpcDialError extends DialError {
  override readonly name: string = 'GrpcDialError';
  constructor(
    address: string,
    readonly serverError: string,
  ) {
    super('error-response', address, `dial ${address} failed: ${serverError}`);
  }
}

/** The HTTP-CONNECT proxy replied with something other than `200 Connection Established`. */
export class HttpConnectError extends DialError {
  override readonly name: string = 'HttpConnectError';
  constructor(
    address: string,
    readonly status: number,
    readonly statusText: string,
    readonly headers: Readonly<Record<string, string>>,
    readonly body: string,
  ) {
    super(
      'error-response',
      address,
      `CONNECT ${address} failed: ${status} ${statusText}${body ? `: ${body.trimEnd()}` : ''}`,
    );
  }
}

export type TunnelFailureReason =
  /** The gRPC stream failed after the tunnel was established (server gone, reset, cancelled by it). */
  | 'stream-error'
  /** The server sent bytes that are not a Packet. */
  | 'protocol';

/** An established tunnel broke; emitted as the TunnelConnection's 'error'. */
export class TunnelError extends ReasonedError<TunnelFailureReason> {
  override readonly name: string = 'TunnelError';
  constructor(
    reason: TunnelFailureReason,
    readonly connectID: bigint,
    message: string,
    options?: ErrorOptions,
  ) {
    super(reason, message, options);
  }
}
