/**
 * Agent selection strategies of `--proxy-strategies`, tried in order (the reference's semantics: `default`, `destHost`, `defaultRoute`).
 */
import type { ProxyStrategy } from '../../protocol/proxyStrategies';
import type { AgentTunnel } from './agentTunnel';

type Candidate = Pick<AgentTunnel, 'draining' | 'identifiers'> & {
  /** Not heard from for the ping timeout (AgentTunnel.silent); absent = heard from. */
  readonly silent?: boolean;
};

/** `h:p` -> `h`, `[::1]:80` -> `::1`, a bare host stays as it is. */
export function hostOfAddress(address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    return end > 0 ? address.slice(1, end) : address;
  }
  const colon = address.lastIndexOf(':');
  if (colon < 0 || address.indexOf(':') !== colon) return address;
  return address.slice(0, colon);
}

/** Whether an agent could ever be chosen by a strategy (readiness follows the first strategy). */
export function usableFor(strategy: ProxyStrategy, t: Candidate): boolean {
  switch (strategy) {
    case 'default':
      return true;
    case 'destHost':
      return t.identifiers.host.length + t.identifiers.ipv4.length + t.identifiers.ipv6.length > 0;
    case 'defaultRoute':
      return t.identifiers.defaultRoute;
    default: {
      const _exhaustive: never = strategy;
      return _exhaustive;
    }
  }
}

function randomOf<T>(list: readonly T[], random: () => number): T | undefined {
  if (list.length === 0) return undefined;
  return list[Math.floor(random() * list.length)];
}

/** Prefer agents that are not draining; use draining ones only when nothing else is left. */
function preferNotDraining<T extends Candidate>(list: readonly T[], random: () => number): T | undefined {
  const ready = list.filter((t) => !t.draining);
  return randomOf(ready.length > 0 ? ready : list, random);
}

export function pickWith<T extends Candidate>(
  strategy: ProxyStrategy,
  address: string,
  candidates: readonly T[],
  random: () => number,
): T | undefined {
  switch (strategy) {
    case 'default':
      return preferNotDraining(candidates, random);
    case 'destHost': {
      const host = hostOfAddress(address);
      const matching = candidates.filter(
        (t) =>
          t.identifiers.host.includes(host) ||
          t.identifiers.ipv4.includes(host) ||
          t.identifiers.ipv6.includes(host),
      );
      return matching.find((t) => !t.draining) ?? matching[0];
    }
    case 'defaultRoute':
      return preferNotDraining(
        candidates.filter((t) => t.identifiers.defaultRoute),
        random,
      );
    default: {
      const _exhaustive: never = strategy;
      return _exhaustive;
    }
  }
}

export function pickByStrategies<T extends Candidate>(
  strategies: readonly ProxyStrategy[],
  address: string,
  candidates: readonly T[],
  random: () => number,
): T | undefined {
  // A silent agent is skipped by every strategy, even when nothing else is left: a dial sent to it would
  // only wait for the keepalive timeout to fail it, while "No agent available" tells the frontend now.
  const heard = candidates.filter((t) => t.silent !== true);
  for (const strategy of strategies) {
    const found = pickWith(strategy, address, heard, random);
    if (found) return found;
  }
  return undefined;
}
