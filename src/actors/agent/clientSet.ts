/**
 * The agent's supervisor: the set of server links it keeps (one per server it holds), readiness, drain
 * and stop. Each link reconnects on its own; the set makes sure no two links serve the same server id.
 */
import type { OpenedLink } from '../../transport/agentClient';
import { ActorHost, type ActorCounter } from '../actorHost';
import type { AgentEventFactory } from '../../events';
import type { ActorLogger, AgentInstruments } from '../ports';
import { ServerLink } from './serverLink';

export interface ClientSetConfig {
  /** Server addresses to dial (`host:port`); the first is the reference's --proxy-server-host/port. */
  addresses: readonly string[];
  syncIntervalMs: number;
  syncIntervalCapMs: number;
}

export interface ClientSetDeps {
  log: ActorLogger;
  metrics: AgentInstruments;
  open(address: string): Promise<OpenedLink>;
  now?: () => number;
  random?: () => number;
  endpointDialTimeoutMs?: number;
  actorCounter?: ActorCounter;
  events: AgentEventFactory;
}

export class ClientSet {
  readonly actors: ActorHost;
  private readonly links: ServerLink[] = [];
  /** serverId -> the link that serves it. */
  private readonly held = new Map<string, ServerLink>();
  private serverCount = 0;
  private draining = false;
  private stopped = false;

  constructor(
    private readonly config: ClientSetConfig,
    private readonly deps: ClientSetDeps,
  ) {
    this.actors = new ActorHost(deps.actorCounter);
  }

  start(): void {
    for (const address of this.config.addresses) this.addLink(address);
  }

  private addLink(address: string): ServerLink {
    const link = new ServerLink(
      address,
      {
        address,
        syncIntervalMs: this.config.syncIntervalMs,
        syncIntervalCapMs: this.config.syncIntervalCapMs,
        draining: this.draining,
      },
      {
        host: this.actors,
        log: this.deps.log,
        metrics: this.deps.metrics,
        now: this.deps.now ?? Date.now,
        open: (address) => this.deps.open(address),
        claim: (l, serverId, count) => this.claim(l, serverId, count),
        events: this.deps.events,
        release: (l, serverId) => {
          if (this.held.get(serverId) === l) this.held.delete(serverId);
        },
        ...(this.deps.random ? { random: this.deps.random } : {}),
        ...(this.deps.endpointDialTimeoutMs !== undefined
          ? { endpointDialTimeoutMs: this.deps.endpointDialTimeoutMs }
          : {}),
      },
    );
    this.links.push(link);
    return link;
  }

  private claim(link: ServerLink, serverId: string, serverCount: number): boolean {
    const holder = this.held.get(serverId);
    if (holder && holder !== link) return false;
    this.held.set(serverId, link);
    if (serverCount !== this.serverCount) {
      this.serverCount = serverCount;
      this.deps.metrics.knownServerCount(serverCount);
    }
    return true;
  }

  /** Ready when at least one server is connected (the reference agent's /readyz). */
  isReady(): boolean {
    return this.held.size > 0;
  }

  get connectedServers(): string[] {
    return [...this.held.keys()];
  }

  get openEndpointConnections(): number {
    return this.links.reduce((n, l) => n + l.endpointCount, 0);
  }

  bufferedBytes(): number {
    return this.links.reduce((n, l) => n + l.bufferedBytes(), 0);
  }

  /** First SIGTERM: tell every server to prefer other agents; keep serving. */
  drain(): void {
    this.draining = true;
    for (const link of this.links) link.drain();
  }

  /** Stops every link (ending their endpoint connections). Safe to call more than once. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const link of this.links) link.stop();
    this.actors.stopAll();
  }
}
