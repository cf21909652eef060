/**
 * HTTP CONNECT replies, byte for byte as kube-apiserver and the reference server produce them.
 */
import type { DialFailureKind } from './frontend';

export const CONNECT_ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';

const REASON_PHRASES: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The status for a failed dial: the agent's error text decides, as in the reference. */
export function statusForDialFailure(kind: DialFailureKind, error: string): number {
  switch (kind) {
    case 'no-agent':
      return 500;
    case 'bad-address':
      return 400;
    case 'timeout':
      return 504;
    case 'agent-lost':
      return 502;
    case 'too-many-dials':
      return 503;
    case 'agent-error':
      if (/timeout|i\/o timeout|deadline exceeded/.test(error)) return 504;
      if (error.includes('too many open files')) return 503;
      return 502;
    default: {
      const _exhaustive: never = kind;
      return _exhaustive;
    }
  }
}

/** The body text for a failed dial; no agent gets the reference's exact wording. */
export function bodyForDialFailure(kind: DialFailureKind, error: string): string {
  return kind === 'no-agent' ? `currently no tunnels available: ${error}` : error;
}

/**
 * Headers beyond Go's http.Error ones: a dial refused by admission says when to try again (1 s: the
 * queue moves as fast as agents answer dials, and a client that retries sooner only adds to the burst).
 */
export function headersForDialFailure(kind: DialFailureKind): Readonly<Record<string, string>> {
  return kind === 'too-many-dials' ? { 'Retry-After': '1' } : {};
}

/** A complete error response in the shape of Go's http.Error (text/plain, nosniff, trailing newline). */
export function errorResponse(
  status: number,
  body: string,
  headers: Readonly<Record<string, string>> = {},
): string {
  const text = `${body}\n`;
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? 'Error'}\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    'X-Content-Type-Options: nosniff\r\n' +
    extra +
    `Content-Length: ${Buffer.byteLength(text)}\r\n` +
    'Connection: close\r\n\r\n' +
    text
  );
}
