/**
 * The agents connected to this server and the choice of one for a dial (the reference's `--proxy-strategies` semantics). An agent
 * id may hold several streams (a reconnect racing its old stream, or a second agent with the same id);
 * the oldest open stream represents the agent.
 */
import type { AgentTunnel } from './agentTunnel';
import type { ProxyStrategy } from '../../protocol/proxyStrategies';
import { pickByStrategies, usableFor } from './strategies';

export class BackendRegistry {
  private readonly byAgent = new Map<string, AgentTunnel[]>();

  constructor(
    private readonly strategies: readonly ProxyStrategy[],
    private readonly random: () => number = Math.random,
  ) {}

  add(tunnel: AgentTunnel): void {
    const list = this.byAgent.get(tunnel.agentId);
    if (list) list.push(tunnel);
    else this.byAgent.set(tunnel.agentId, [tunnel]);
  }

  remove(tunnel: AgentTunnel): void {
    const list = this.byAgent.get(tunnel.agentId);
    if (!list) return;
    const i = list.indexOf(tunnel);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byAgent.delete(tunnel.agentId);
  }

  /**
   * One tunnel per agent id: its oldest that is not silent (an agent that reconnected over a new path is
   * served by its new stream while the old one waits for its keepalive timeout), else its oldest.
   */
  representatives(): AgentTunnel[] {
    const out: AgentTunnel[] = [];
    for (const list of this.byAgent.values()) {
      const chosen = list.find((t) => !t.silent) ?? list[0];
      if (chosen) out.push(chosen);
    }
    return out;
  }

  all(): AgentTunnel[] {
    return [...this.byAgent.values()].flat();
  }

  get agentCount(): number {
    return this.byAgent.size;
  }

  /** Whether the first strategy has a usable agent (what readiness reports, as in the reference). */
  readyForFirstStrategy(): boolean {
    const first = this.strategies[0];
    if (!first) return false;
    return this.representatives().some((t) => !t.silent && usableFor(first, t));
  }

  pick(address: string): AgentTunnel | undefined {
    return pickByStrategies(this.strategies, address, this.representatives(), this.random);
  }
}
