/**
 * Endpoint dial errors written the way Go's net package writes them, because frontends and tests match
 * substrings of them (`connect: connection refused`, `no such host`, `i/o timeout`).
 */
import { readFileSync } from 'fs';

const SYSCALL_MESSAGES: Record<string, string> = {
  ECONNREFUSED: 'connect: connection refused',
  ECONNRESET: 'connect: connection reset by peer',
  EHOSTUNREACH: 'connect: no route to host',
  ENETUNREACH: 'connect: network is unreachable',
  EADDRNOTAVAIL: 'connect: cannot assign requested address',
  EACCES: 'connect: permission denied',
  EPERM: 'connect: operation not permitted',
  ETIMEDOUT: 'i/o timeout',
  EMFILE: 'socket: too many open files',
  ENFILE: 'socket: too many open files in system',
};

let resolverCache: string | null | undefined;

/** The first nameserver of /etc/resolv.conf, as Go names it in lookup errors (`on 10.0.0.10:53`). */
export function systemResolver(): string | null {
  if (resolverCache !== undefined) return resolverCache;
  try {
    const line = readFileSync('/etc/resolv.conf', 'utf8')
      .split('\n')
      .find((l) => /^\s*nameserver\s+\S+/.test(l));
    const ip = line?.trim().split(/\s+/)[1];
    resolverCache = ip ? (ip.includes(':') ? `[${ip}]:53` : `${ip}:53`) : null;
  } catch {
    resolverCache = null;
  }
  return resolverCache;
}

/** `host:port` with IPv6 hosts bracketed, as Go prints addresses. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export interface NodeNetError extends Error {
  code?: string;
  address?: string;
  port?: number;
  hostname?: string;
}

/** Formats a failed `net.connect` to `address` like Go's `net.Dial("tcp", address)` error. */
export function goDialError(address: string, err: NodeNetError): string {
  const code = err.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_NONAME' || code === 'EAI_NODATA') {
    const host = err.hostname ?? address;
    const server = systemResolver();
    return server
      ? `dial tcp: lookup ${host} on ${server}: no such host`
      : `dial tcp: lookup ${host}: no such host`;
  }
  if (code === 'EAI_AGAIN') {
    const host = err.hostname ?? address;
    const server = systemResolver();
    return `dial tcp: lookup ${host}${server ? ` on ${server}` : ''}: server misbehaving`;
  }
  const target =
    err.address !== undefined && err.port !== undefined ? joinHostPort(err.address, err.port) : address;
  const message = SYSCALL_MESSAGES[code];
  return message ? `dial tcp ${target}: ${message}` : `dial tcp ${target}: ${err.message}`;
}

/**
 * An address whose host is empty (`:80`, `[]:80`). Go's own text for a missing address, in the shape of
 * its OpError (`dial tcp <addr>: <reason>`), so `dial tcp` substring matching keeps working.
 */
export function missingHostError(address: string): string {
  return `dial tcp ${address}: missing address`;
}

/** Anything Node threw where Go would have returned an error: still one Go-shaped line. */
export function unexpectedDialError(address: string, err: unknown): string {
  return `dial tcp ${address}: ${err instanceof Error ? err.message : String(err)}`;
}

export function goTimeoutError(address: string): string {
  return `dial tcp ${address}: i/o timeout`;
}

/** Go's SplitHostPort checks, so a bad address fails like Go's dialer does. */
export function splitHostPort(address: string): { host: string; port: number } | { error: string } {
  let host: string;
  let portText: string;
  if (address === '') return { error: 'dial tcp: missing address' };
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    if (end < 0) return { error: `dial tcp: address ${address}: missing ']' in address` };
    host = address.slice(1, end);
    if (address[end + 1] !== ':') return { error: `dial tcp: address ${address}: missing port in address` };
    portText = address.slice(end + 2);
  } else {
    const colon = address.lastIndexOf(':');
    if (colon < 0) return { error: `dial tcp: address ${address}: missing port in address` };
    if (address.indexOf(':') !== colon)
      return { error: `dial tcp: address ${address}: too many colons in address` };
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    return { error: `dial tcp: lookup tcp/${portText}: unknown port` };
  return { host, port };
}
