/**
 * gRPC status codes and the text encodings of the status trailers: `grpc-message` is percent-encoded
 * UTF-8 (every byte outside printable ASCII, and `%` itself), `grpc-timeout` is up to 8 digits and a unit.
 */
import * as http2 from 'http2';

export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

const CODES: ReadonlySet<number> = new Set(Object.values(GrpcStatus));

/** A status value from the wire; anything not a known code is UNKNOWN, as every gRPC library does. */
export function parseStatusCode(value: string | undefined): GrpcStatusCode | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isInteger(n) && CODES.has(n) ? (n as GrpcStatusCode) : GrpcStatus.UNKNOWN;
}

const PERCENT = 0x25;

export function encodeGrpcMessage(message: string): string {
  const bytes = Buffer.from(message, 'utf8');
  let plain = true;
  for (const b of bytes) if (b < 0x20 || b > 0x7e || b === PERCENT) plain = false;
  if (plain) return message;
  let out = '';
  for (const b of bytes) {
    out +=
      b < 0x20 || b > 0x7e || b === PERCENT
        ? `%${b.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(b);
  }
  return out;
}

/** Lenient, as the spec asks: a `%` not followed by two hex digits stays as it is. */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const hex = value.slice(i + 1, i + 3);
    if (c === PERCENT && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(value[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** `grpc-timeout` in milliseconds; undefined when the value is not of the form the spec defines. */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * TIMEOUT_UNIT_MS[match[2]!]!;
}

/** The status a client reports for an HTTP response that carried none (the gRPC HTTP mapping). */
export function statusFromHttp(httpStatus: number): GrpcStatusCode {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

const C = http2.constants;

/**
 * Event-loop turns a client's END_STREAM waits before it counts as an EOF rather than the first half of a
 * cancel. node:http2 clients (grpc-js, ours) cancel with END_STREAM then RST_STREAM CANCEL, written together
 * but possibly read apart (a socket read or a TLS record boundary between them): the reset is then already
 * in the socket and is read in the next poll phase. Turns, not milliseconds: a client that half-closes to
 * finish (and waits for our status) must not pay a timer per call. grpc-go clients cancel with the reset
 * alone.
 */
export const PEER_RESET_SETTLE_TURNS = 2;

/** The status a call gets when its stream is reset with `rstCode` (as grpc-js and grpc-go map it). */
export function statusFromRstCode(rstCode: number): GrpcStatusCode {
  switch (rstCode) {
    case C.NGHTTP2_REFUSED_STREAM:
      return GrpcStatus.UNAVAILABLE;
    case C.NGHTTP2_CANCEL:
      return GrpcStatus.CANCELLED;
    case C.NGHTTP2_ENHANCE_YOUR_CALM:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case C.NGHTTP2_INADEQUATE_SECURITY:
      return GrpcStatus.PERMISSION_DENIED;
    default:
      return GrpcStatus.INTERNAL;
  }
}
