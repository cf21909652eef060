/**
 * The agent's supervisor: the links it keeps to servers, readiness, drain and stop. The server address the
 * reference knows (--proxy-server-host/port, often a load balancer) is served by the sync loop, which dials
 * it again and again, one-shot link by link, until the agent holds as many distinct server ids as the
 * servers advertise, and again whenever one is lost. Addresses listed with --proxy-server-addresses name one
 * server each and get a link of their own that reconnects with backoff. No two links serve one server id.
 */
import type { Actor } from 'xstate';
import type { AgentEventFactory } from '../../events';
import { syncLoopMachine } from '../../machines/syncLoop.machine';
import type { OpenedLink } from '../../transport/agentClient';
import { ActorHost, type ActorCounter } from '../actorHost';
import * as machines from '../machines';
import type { SyncLoopPort } from '../machines';
import type { ActorLogger, AgentInstruments } from '../instruments';
import { ServerLink } from './serverLink';
import type { DestinationPolicy } from './destinationPolicy';

export interface ClientSetConfig {
  /** The reference's server address (--proxy-server-host:--proxy-server-port), kept in sync by the loop. */
  primary: string;
  /** Servers named one by one (--proxy-server-addresses), beyond the reference (its issue #394). */
  extra: readonly string[];
  syncIntervalMs: number;
  syncIntervalCapMs: number;
  /** Keep probing the primary address even when every advertised server is held (new servers appear). */
  syncForever: boolean;
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
  policy?: DestinationPolicy;
}

export class ClientSet {
  readonly actors: ActorHost;
  private readonly links = new Set<ServerLink>();
  /** serverId -> the link that serves it. */
  private readonly held = new Map<string, ServerLink>();
  private serverCount = 0;
  private draining = false;
  private stopped = false;
  private syncLoop: Actor<typeof syncLoopMachine> | null = null;

  constructor(
    private readonly config: ClientSetConfig,
    private readonly deps: ClientSetDeps,
  ) {
    this.actors = new ActorHost(deps.actorCounter);
  }

  start(): void {
    const random = this.deps.random ?? Math.random;
    const port: SyncLoopPort = {
      probe: () => {
        const link = this.addLink(this.config.primary, true);
        link.onProbe((outcome) => this.syncLoop?.send({ type: 'PROBE_DONE', outcome, jitter: random() }));
      },
    };
    this.syncLoop = this.actors.start('syncLoop', machines.syncLoop.machine, {
      bind: (actor) => machines.syncLoop.bind(actor, port),
      input: {
        syncIntervalMs: this.config.syncIntervalMs,
        syncIntervalCapMs: this.config.syncIntervalCapMs,
        syncForever: this.config.syncForever,
      },
    });
    for (const address of this.config.extra) this.addLink(address, false);
  }

  private addLink(address: string, oneShot: boolean): ServerLink {
    const link = new ServerLink(
      address,
      {
        address,
        syncIntervalMs: this.config.syncIntervalMs,
        syncIntervalCapMs: this.config.syncIntervalCapMs,
        draining: this.draining,
        oneShot,
      },
      {
        host: this.actors,
        log: this.deps.log,
        metrics: this.deps.metrics,
        now: this.deps.now ?? Date.now,
        open: (a) => this.deps.open(a),
        claim: (l, serverId, count) => this.claim(l, serverId, count),
        events: this.deps.events,
        ...(this.deps.policy ? { policy: this.deps.policy } : {}),
        release: (l, serverId) => {
          if (this.held.get(serverId) === l) {
            this.held.delete(serverId);
            this.heldChanged();
          }
        },
        ...(this.deps.random ? { random: this.deps.random } : {}),
        ...(this.deps.endpointDialTimeoutMs !== undefined
          ? { endpointDialTimeoutMs: this.deps.endpointDialTimeoutMs }
          : {}),
      },
    );
    this.links.add(link);
    link.onEnded(() => this.links.delete(link));
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
    this.heldChanged();
    return true;
  }

  private heldChanged(): void {
    this.syncLoop?.send({ type: 'HELD_CHANGED', held: this.held.size, serverCount: this.serverCount });
  }

  /** Ready when at least one server is connected (the reference agent's /readyz). */
  isReady(): boolean {
    return this.held.size > 0;
  }

  get openEndpointConnections(): number {
    let n = 0;
    for (const link of this.links) n += link.endpointCount;
    return n;
  }

  bufferedBytes(): number {
    let n = 0;
    for (const link of this.links) n += link.bufferedBytes();
    return n;
  }

  /** First SIGTERM: tell every server to prefer other agents; keep serving. */
  drain(): void {
    this.draining = true;
    for (const link of this.links) link.drain();
  }

  /** Stops the sync loop and every link (ending their endpoint connections). Safe to call more than once. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.syncLoop?.send({ type: 'STOP' });
    for (const link of [...this.links]) link.stop();
    this.actors.stopAll();
  }
}
