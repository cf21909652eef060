/**
 * The server's supervisor: it owns one tunnel per agent stream (each owning its dials and connections),
 * chooses tunnels for frontends' dials, and answers readiness. Transports hand it streams; it never
 * touches sockets itself.
 */
import { ActorHost, type ActorCounter } from '../actorHost';
import { eventFactory, type ServerEventFactory } from '../../events';
import { discarding } from '../recorder';
import type { ActorLogger, ServerInstruments } from '../instruments';
import { AgentTunnel, type AgentTunnelDeps } from './agentTunnel';
import { NO_IDENTIFIERS, parseAgentIdentifiers } from '../../protocol/agentIdentifiers';
import { BackendRegistry } from './backendRegistry';
import type { Frontend, FrontendDial } from './frontend';
import {
  DEFAULT_ADMISSION_LIMITS,
  DialAdmission,
  type AdmissionClock,
  type AdmissionLimits,
} from './dialAdmission';
import { DialDispatcher, NO_AGENT_AVAILABLE } from './dialDispatcher';
import { GrpcFrontendSession } from './grpcFrontendSession';
import { HttpConnectSession } from './httpConnectSession';
import type { ProxyStrategy } from '../../protocol/proxyStrategies';
import type { Duplex } from 'stream';
import type { PacketStream } from '../../transport/packetStream';
import type { PeerLiveness } from '../../transport/liveness';

export { NO_AGENT_AVAILABLE } from './dialDispatcher';

export interface ProxyServerConfig {
  serverId: string;
  serverCount: number;
  strategies: readonly ProxyStrategy[];
  /** 0 = no server-side dial timeout (the agent's own 5 s timeout still applies). */
  backendDialTimeoutMs: number;
  /** Dials pending at agents at once, and dials waiting for that (--max-dials-in-flight, --max-dials-waiting). */
  admission?: AdmissionLimits;
}

export interface ProxyServerDeps {
  log: ActorLogger;
  /** The frontend sessions' logger (by default `log`). */
  frontendLog?: ActorLogger;
  metrics: ServerInstruments;
  now?: () => number;
  random?: () => number;
  /** Records lifecycle events (a recording factory); by default they are made and dropped. */
  events?: ServerEventFactory;
  actorCounter?: ActorCounter;
  /** Told when an agent stream has ended and everything it carried is released. */
  onTunnelClosed?: (tunnel: AgentTunnel) => void;
  /** Told whenever the set of agents changes (metrics of ready backends). */
  onAgentsChanged?: (server: ProxyServer) => void;
  /** The admission queue's clock (tests move it by hand). */
  admissionClock?: AdmissionClock;
  /**
   * Told when a frontend's connection is over (the open-connections gauges): a gRPC session when it
   * finishes, a CONNECT tunnel when its socket has closed.
   */
  onFrontendClosed?: (mode: Frontend['mode']) => void;
}

/** A CONNECT request whose head has been read: the destination, and the socket that carries the tunnel. */
export interface ConnectRequestHead {
  readonly socket: Duplex;
  readonly peer: string;
  /** The request-line authority (`host:port`). */
  readonly authority: string;
  /** Bytes that arrived after the head: they belong to the tunnel. */
  readonly head: Buffer;
}

export { admitAgent, type AgentAdmission } from './agentAdmission';

export class ProxyServer {
  readonly actors: ActorHost;
  readonly backends: BackendRegistry;
  private readonly now: () => number;
  readonly events: ServerEventFactory;
  /** Bounds the dials pending at agents, server-wide; the rest wait or are refused (dialAdmission.ts). */
  readonly admission: DialAdmission;
  private readonly dispatcher: DialDispatcher;
  private stopped = false;
  /**
   * Frontend sessions not finished yet. The server owns them, as it owns agent tunnels: shutdown ends the
   * ones no tunnel reaches (a stream that has not dialed, a dial that failed but is still being answered).
   */
  private readonly frontends = new Set<Frontend>();

  constructor(
    readonly config: ProxyServerConfig,
    private readonly deps: ProxyServerDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.events = deps.events ?? discarding(eventFactory({ serverId: config.serverId }));
    this.actors = new ActorHost(deps.actorCounter);
    this.backends = new BackendRegistry(config.strategies, deps.random);
    this.admission = new DialAdmission(config.admission ?? DEFAULT_ADMISSION_LIMITS, deps.admissionClock);
    this.dispatcher = new DialDispatcher({
      backends: this.backends,
      admission: this.admission,
      events: this.events,
      log: deps.log,
      metrics: deps.metrics,
      now: this.now,
      dialTimeoutMs: config.backendDialTimeoutMs,
      stopped: () => this.stopped,
    });
    this.tunnelDeps = {
      host: this.actors,
      log: deps.log,
      metrics: deps.metrics,
      now: this.now,
      dialTimeoutMs: config.backendDialTimeoutMs,
      events: this.events,
      onClosed: (t, reason) => {
        this.backends.remove(t);
        this.events.agentDisconnected({ agentId: t.agentId, streamId: t.streamId, reason });
        // At the default verbosity, unlike "agent connected": why an agent went away is what an operator
        // looks for (a keepalive timeout, a malformed packet), and it is off the path of admitting agents.
        deps.log.info('agent disconnected', { agentID: t.agentId, stream: t.streamId, reason });
        deps.onTunnelClosed?.(t);
        deps.onAgentsChanged?.(this);
      },
      onDraining: (t) => {
        this.events.agentDraining({ agentId: t.agentId, streamId: t.streamId });
        deps.log.info('agent is draining', { agentID: t.agentId, stream: t.streamId });
        deps.onAgentsChanged?.(this);
      },
    };
  }

  /** What every tunnel is given: one object (and one pair of callbacks) per server, not per agent stream. */
  private readonly tunnelDeps: AgentTunnelDeps;

  /** Adopts an agent stream whose metadata was admitted and whose headers were sent. */
  addAgent(
    stream: PacketStream,
    agentId: string,
    rawIdentifiers: string,
    credits = false,
    liveness: PeerLiveness | null = null,
  ): AgentTunnel {
    const identifiers = rawIdentifiers ? parseAgentIdentifiers(rawIdentifiers) : NO_IDENTIFIERS;
    if (identifiers.unknown.length > 0) {
      this.deps.log.warn('agent identifiers with unknown keys ignored', {
        agentID: agentId,
        keys: identifiers.unknown,
      });
    }
    const tunnel = new AgentTunnel(agentId, identifiers, credits, stream, this.tunnelDeps, liveness);
    if (this.stopped) {
      tunnel.terminate('server is shutting down');
      return tunnel;
    }
    this.backends.add(tunnel);
    this.events.agentConnected({
      agentId,
      streamId: tunnel.streamId,
      identifiers: rawIdentifiers,
      remoteAddress: stream.peer,
    });
    // Verbosity 2, as the reference's "Connect request from agent": a line per agent at the default
    // verbosity cost more CPU than the rest of accepting an agent stream on one connection (a blocking
    // write to stderr); the agent.connected event records the same facts.
    this.deps.log.debug(2, 'agent connected', {
      agentID: agentId,
      stream: tunnel.streamId,
      peer: stream.peer,
    });
    this.deps.onAgentsChanged?.(this);
    return tunnel;
  }

  /**
   * Starts a dial for a frontend (admission, then an agent: dialDispatcher.ts). Returns what the frontend
   * holds for it, or null after telling the frontend why not.
   */
  dial(random: bigint, address: string, frontend: Frontend, protocol = 'tcp'): FrontendDial | null {
    return this.dispatcher.dial(random, address, frontend, protocol);
  }

  /** Dials that wait for admission (the konnectivity_ts_waiting_dials gauge). */
  waitingDials(): number {
    return this.admission.waitingCount;
  }

  /** Adopts a frontend's gRPC `Proxy` stream. */
  openGrpcFrontend(stream: PacketStream): GrpcFrontendSession {
    return this.adopt(new GrpcFrontendSession(stream, this, this.frontendLog, this.deps.metrics));
  }

  /** Adopts an HTTP CONNECT tunnel whose request head has been read. */
  openHttpConnect(req: ConnectRequestHead): HttpConnectSession {
    return this.adopt(
      new HttpConnectSession(req.socket, req.peer, req.authority, req.head, this, this.frontendLog),
    );
  }

  /** A session is over: the server forgets it (called once per session, by the session). */
  frontendFinished(session: Frontend): void {
    this.frontends.delete(session);
    if (session.mode === 'grpc') this.deps.onFrontendClosed?.('grpc');
  }

  /** A CONNECT tunnel's socket has closed (after its session finished, or with it). */
  frontendSocketClosed(): void {
    this.deps.onFrontendClosed?.('http-connect');
  }

  /** Frontend sessions not finished yet. */
  frontendSessions(): number {
    return this.frontends.size;
  }

  private get frontendLog(): ActorLogger {
    return this.deps.frontendLog ?? this.deps.log;
  }

  /** Keeps a session until it finishes, unless it finished inside its own constructor. */
  private adopt<T extends Frontend>(session: T): T {
    if (session.isFinished) return session;
    if (this.stopped) session.abort('server is shutting down');
    else this.frontends.add(session);
    return session;
  }

  /** Dials waiting and pending, and connections open, over every tunnel (what a graceful shutdown waits for). */
  activeConnections(): number {
    const carried = this.backends.all().reduce((n, t) => n + t.pendingDialCount + t.connectionCount, 0);
    return carried + this.admission.waitingCount;
  }

  /** Bytes held for frontends across every connection (bounded per connection by flow control). */
  bufferedBytes(): number {
    return this.backends.all().reduce((n, t) => n + t.bufferedBytes(), 0);
  }

  isReady(): boolean {
    return this.backends.readyForFirstStrategy();
  }

  /** Ends every tunnel (and so every dial and connection). Safe to call more than once. */
  shutdown(reason = 'server shutting down'): void {
    this.stopped = true;
    this.admission.close(NO_AGENT_AVAILABLE);
    for (const tunnel of this.backends.all()) tunnel.terminate(reason);
    for (const frontend of [...this.frontends]) frontend.abort(reason);
    this.frontends.clear();
    this.actors.stopAll();
  }
}
