// Syntax of the agent's address lists: --allowed-destinations (CIDR[:port-range]) and
// --proxy-server-addresses (host:port). Parsing here keeps the agent from starting with a policy
// it would misread later.

import { isIP } from 'node:net';

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export interface AllowedDestination {
  /** Network address as written (host bits are not cleared, as Go's net.ParseCIDR allows). */
  readonly address: string;
  readonly family: 4 | 6;
  readonly prefixLength: number;
  /** Undefined means any port. */
  readonly ports?: PortRange;
}

export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

function parsePortNumber(s: string): number | undefined {
  if (!/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : undefined;
}

function parsePortRange(s: string): PortRange | undefined {
  const [a = '', b, extra] = s.split('-');
  if (extra !== undefined) return undefined;
  const from = parsePortNumber(a);
  const to = b === undefined ? from : parsePortNumber(b);
  return from === undefined || to === undefined || from > to ? undefined : { from, to };
}

function parseCidr(s: string): Parsed<Omit<AllowedDestination, 'ports'>> {
  const [address = '', prefix, extra] = s.split('/');
  const family = isIP(address);
  if (extra !== undefined || (family !== 4 && family !== 6)) {
    return { ok: false, reason: `${JSON.stringify(s)} is not an IP address or CIDR` };
  }
  const max = family === 4 ? 32 : 128;
  const prefixLength = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  if (!(prefixLength >= 0 && prefixLength <= max)) {
    return { ok: false, reason: `invalid prefix length in ${JSON.stringify(s)}` };
  }
  return { ok: true, value: { address, family, prefixLength } };
}

/** One --allowed-destinations entry: `10.0.0.0/8`, `10.0.0.0/8:10250`, `[fd00::/8]:10250-10255`. */
export function parseAllowedDestination(entry: string): Parsed<AllowedDestination> {
  let network: string;
  let ports: string | undefined;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close === -1) return { ok: false, reason: `missing ']' in ${JSON.stringify(entry)}` };
    network = entry.slice(1, close);
    const rest = entry.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':'))
      return { ok: false, reason: `unexpected ${JSON.stringify(rest)}` };
    ports = rest === '' ? undefined : rest.slice(1);
  } else if ((entry.match(/:/g) ?? []).length === 1) {
    [network = '', ports] = entry.split(':');
  } else {
    network = entry; // no colon, or a bare IPv6 address/CIDR (which cannot carry a port unbracketed)
  }
  const cidr = parseCidr(network);
  if (!cidr.ok) return cidr;
  if (ports === undefined) return cidr;
  const range = parsePortRange(ports);
  if (range === undefined)
    return { ok: false, reason: `invalid port or port range ${JSON.stringify(ports)}` };
  return { ok: true, value: { ...cidr.value, ports: range } };
}

/** One --proxy-server-addresses entry: `host:port` or `[v6]:port`. */
export function parseServerAddress(entry: string): Parsed<ServerAddress> {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([^:]+)$/.exec(entry);
  const host = m?.[1] ?? m?.[2];
  const port = parsePortNumber(m?.[3] ?? '');
  if (host === undefined || port === undefined) {
    return { ok: false, reason: `${JSON.stringify(entry)} is not host:port (use [addr]:port for IPv6)` };
  }
  if (m?.[1] !== undefined && isIP(host) !== 6) {
    return { ok: false, reason: `${JSON.stringify(host)} in brackets is not an IPv6 address` };
  }
  return { ok: true, value: { host, port } };
}

/** Adapts a parser to a FlagSpec check. */
export const checkWith =
  <T>(parse: (s: string) => Parsed<T>) =>
  (s: string): string | undefined => {
    const r = parse(s);
    return r.ok ? undefined : r.reason;
  };

/** Unwraps entries that have already passed the check. */
export const parseAllWith = <T>(parse: (s: string) => Parsed<T>, entries: readonly string[]): T[] =>
  entries.map((e) => {
    const r = parse(e);
    if (!r.ok) throw new Error(`unvalidated entry ${JSON.stringify(e)}: ${r.reason}`);
    return r.value;
  });
