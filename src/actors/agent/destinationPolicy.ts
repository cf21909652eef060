/**
 * `--allowed-destinations`: the destinations this agent will dial, as CIDRs with optional port ranges. A
 * compromised control plane could otherwise use every agent to reach anything the node can reach. The
 * check runs on the resolved IP, and the agent then connects to that same IP, so a DNS answer that changes
 * between the check and the connect cannot slip past it.
 */
import { isIP } from 'net';
import type { AllowedDestination } from '../../config/addresses';

interface Rule {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly mask: bigint;
  readonly ports?: { readonly from: number; readonly to: number };
}

function ipv4ToBigInt(ip: string): bigint {
  return ip.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
}

function ipv6ToBigInt(ip: string): bigint {
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToBigInt(v4[1]!);
    text = `${text.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

/** An IP as (family, number); IPv4-mapped IPv6 (`::ffff:10.0.0.1`) counts as IPv4. */
function parseIp(ip: string): { family: 4 | 6; value: bigint } | null {
  const family = isIP(ip);
  if (family === 4) return { family: 4, value: ipv4ToBigInt(ip) };
  if (family !== 6) return null;
  const value = ipv6ToBigInt(ip);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

export class DestinationPolicy {
  private readonly rules: Rule[];

  constructor(allowed: readonly AllowedDestination[]) {
    this.rules = allowed.map((a) => {
      const bits = a.family === 4 ? 32 : 128;
      const mask =
        a.prefixLength === 0 ? 0n : ((1n << BigInt(a.prefixLength)) - 1n) << BigInt(bits - a.prefixLength);
      const ip = parseIp(a.address);
      if (!ip) throw new Error(`invalid address in allowed destination ${a.address}`);
      return { family: a.family, network: ip.value & mask, mask, ...(a.ports ? { ports: a.ports } : {}) };
    });
  }

  /** Whether the agent may dial `ip:port`. */
  allows(ip: string, port: number): boolean {
    const parsed = parseIp(ip);
    if (!parsed) return false;
    return this.rules.some(
      (r) =>
        r.family === parsed.family &&
        (parsed.value & r.mask) === r.network &&
        (r.ports === undefined || (port >= r.ports.from && port <= r.ports.to)),
    );
  }
}

/** The DIAL_RSP error for a refused destination; Go-shaped so substring matching on `dial tcp` still works. */
export function notAllowedError(ip: string, port: number): string {
  const target = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
  return `dial tcp ${target}: destination not allowed by this agent's --allowed-destinations`;
}
