/**
 * The agents connected to this server and the choice of one for a dial (the reference's
 * `--proxy-strategies` semantics). An agent id may hold several streams (a reconnect racing its old
 * stream, or a second agent with the same id); the oldest open stream represents the agent.
 *
 * A server may hold ten thousand agents, so nothing on the dial path or on an agent's arrival walks them
 * all: agent ids sit in an array for a uniform random pick, `destHost` and `defaultRoute` look their
 * candidates up in indexes, and the per-strategy counts behind the gauges change by one agent at a time.
 */
import type { AgentTunnel } from './agentTunnel';
import { PROXY_STRATEGIES, type ProxyStrategy } from '../../protocol/proxyStrategies';
import { hostOfAddress, pickByStrategies, pickWith, usableFor } from './strategies';

/**
 * Random agents the `default` strategy tries before it walks them all. A try fails only on an agent that
 * is silent or draining, which few are at a time; the walk then decides exactly as before.
 */
const DEFAULT_PICK_TRIES = 8;

type Counts = Record<ProxyStrategy, number>;

const noCounts = (): Counts => ({ default: 0, destHost: 0, defaultRoute: 0 });

export class BackendRegistry {
  private readonly byAgent = new Map<string, AgentTunnel[]>();
  /** Agent ids, dense (removal swaps the last one in), for a random pick; and where each one sits. */
  private readonly ids: string[] = [];
  private readonly slotOf = new Map<string, number>();
  /** Each host name, IPv4 and IPv6 address an agent announced -> the agent ids that announced it. */
  private readonly byHost = new Map<string, Set<string>>();
  /** Agent ids that announced the default route. */
  private readonly defaultRoutes = new Set<string>();
  /** Agents each strategy could use, and what each agent id adds to those counts now. */
  private readonly usable: Counts = noCounts();
  private readonly countedFor = new Map<string, Counts>();

  constructor(
    private readonly strategies: readonly ProxyStrategy[],
    private readonly random: () => number = Math.random,
  ) {}

  add(tunnel: AgentTunnel): void {
    const id = tunnel.agentId;
    const list = this.byAgent.get(id);
    if (list) list.push(tunnel);
    else {
      this.byAgent.set(id, [tunnel]);
      this.slotOf.set(id, this.ids.length);
      this.ids.push(id);
    }
    for (const key of hostKeys(tunnel)) {
      const set = this.byHost.get(key);
      if (set) set.add(id);
      else this.byHost.set(key, new Set([id]));
    }
    if (tunnel.identifiers.defaultRoute) this.defaultRoutes.add(id);
    this.recount(id);
  }

  remove(tunnel: AgentTunnel): void {
    const id = tunnel.agentId;
    const list = this.byAgent.get(id);
    if (!list) return;
    const i = list.indexOf(tunnel);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) {
      this.byAgent.delete(id);
      const slot = this.slotOf.get(id)!;
      const last = this.ids.pop()!;
      if (last !== id) {
        this.ids[slot] = last;
        this.slotOf.set(last, slot);
      }
      this.slotOf.delete(id);
    }
    // An identifier stays indexed while another stream of the same agent id still announces it.
    for (const key of hostKeys(tunnel)) {
      if (list.some((t) => hostKeys(t).includes(key))) continue;
      const set = this.byHost.get(key);
      set?.delete(id);
      if (set?.size === 0) this.byHost.delete(key);
    }
    if (tunnel.identifiers.defaultRoute && !list.some((t) => t.identifiers.defaultRoute)) {
      this.defaultRoutes.delete(id);
    }
    this.recount(id);
  }

  /**
   * One tunnel per agent id: its oldest that is not silent (an agent that reconnected over a new path is
   * served by its new stream while the old one waits for its keepalive timeout), else its oldest.
   */
  representatives(): AgentTunnel[] {
    const out: AgentTunnel[] = [];
    for (const id of this.byAgent.keys()) out.push(this.representativeOf(id)!);
    return out;
  }

  all(): AgentTunnel[] {
    return [...this.byAgent.values()].flat();
  }

  get agentCount(): number {
    return this.byAgent.size;
  }

  /** Agents that `strategy` could ever choose (identifiers only: silence and draining come and go). */
  usableCount(strategy: ProxyStrategy): number {
    return this.usable[strategy];
  }

  /** Whether the first strategy has a usable agent (what readiness reports, as in the reference). */
  readyForFirstStrategy(): boolean {
    const first = this.strategies[0];
    if (!first) return false;
    for (const id of this.byAgent.keys()) {
      const t = this.representativeOf(id)!;
      if (!t.silent && usableFor(first, t)) return true;
    }
    return false;
  }

  pick(address: string): AgentTunnel | undefined {
    for (const strategy of this.strategies) {
      const found = this.pickWith(strategy, address);
      if (found) return found;
    }
    return undefined;
  }

  private pickWith(strategy: ProxyStrategy, address: string): AgentTunnel | undefined {
    switch (strategy) {
      case 'default':
        return this.pickDefault(address);
      case 'destHost':
        return this.pickAmong(strategy, address, this.byHost.get(hostOfAddress(address)));
      case 'defaultRoute':
        return this.pickAmong(strategy, address, this.defaultRoutes);
      default: {
        const _exhaustive: never = strategy;
        return _exhaustive;
      }
    }
  }

  /**
   * Uniform over the agents that are heard from and not draining: a random agent that is neither is
   * taken at once (rejection sampling keeps the choice uniform); after a few misses, the full walk.
   */
  private pickDefault(address: string): AgentTunnel | undefined {
    const n = this.ids.length;
    if (n === 0) return undefined;
    for (let i = 0; i < DEFAULT_PICK_TRIES; i++) {
      const t = this.representativeOf(this.ids[Math.floor(this.random() * n)]!)!;
      if (!t.silent && !t.draining) return t;
    }
    return pickByStrategies(['default'], address, this.representatives(), this.random);
  }

  private pickAmong(
    strategy: ProxyStrategy,
    address: string,
    ids: ReadonlySet<string> | undefined,
  ): AgentTunnel | undefined {
    if (!ids || ids.size === 0) return undefined;
    const heard: AgentTunnel[] = [];
    for (const id of ids) {
      const t = this.representativeOf(id);
      if (t && !t.silent) heard.push(t);
    }
    return pickWith(strategy, address, heard, this.random);
  }

  private representativeOf(id: string): AgentTunnel | undefined {
    const list = this.byAgent.get(id);
    if (!list) return undefined;
    return list.find((t) => !t.silent) ?? list[0];
  }

  /** Takes back what `id` added to the counts and adds what its representative adds now. */
  private recount(id: string): void {
    const before = this.countedFor.get(id);
    const rep = this.representativeOf(id);
    const now = rep ? noCounts() : undefined;
    for (const s of PROXY_STRATEGIES) {
      if (now && usableFor(s, rep!)) now[s] = 1;
      this.usable[s] += (now?.[s] ?? 0) - (before?.[s] ?? 0);
    }
    if (now) this.countedFor.set(id, now);
    else this.countedFor.delete(id);
  }
}

function hostKeys(t: AgentTunnel): string[] {
  const { host, ipv4, ipv6 } = t.identifiers;
  return [...host, ...ipv4, ...ipv6];
}
