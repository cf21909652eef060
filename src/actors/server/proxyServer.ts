/**
 * The server's supervisor: it owns one tunnel per agent stream (each owning its dials and connections),
 * chooses tunnels for frontends' dials, and answers readiness. Transports hand it streams; it never
 * touches sockets itself.
 */
import { ActorHost, type ActorCounter } from '../actorHost';
import { eventFactory, type ServerEventFactory } from '../../events';
import { discarding } from '../recorder';
import type { ActorLogger, ServerInstruments } from '../instruments';
import { AgentTunnel } from './agentTunnel';
import { NO_IDENTIFIERS, parseAgentIdentifiers } from '../../protocol/agentIdentifiers';
import { BackendRegistry } from './backendRegistry';
import type { Frontend, FrontendDial } from './frontend';
import {
  DEFAULT_ADMISSION_LIMITS,
  DialAdmission,
  type AdmissionClock,
  type AdmissionLimits,
} from './dialAdmission';
import { QueuedDial } from './queuedDial';
import { GrpcFrontendSession } from './grpcFrontendSession';
import { HttpConnectSession } from './httpConnectSession';
import type { DialTicket } from './proxiedConnection';
import type { ProxyStrategy } from '../../protocol/proxyStrategies';
import type { Duplex } from 'stream';
import type { PacketStream } from '../../transport/packetStream';
import type { PeerLiveness } from '../../transport/liveness';
import { dialAddressLengthError } from '../../protocol/dialAddress';

export const NO_AGENT_AVAILABLE = 'No agent available';

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
  /** Refusing since the last dial that was admitted or queued: one info line per spell, not per dial. */
  private refusing = false;
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
  }

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
    const tunnel = new AgentTunnel(
      agentId,
      identifiers,
      credits,
      stream,
      {
        host: this.actors,
        log: this.deps.log,
        metrics: this.deps.metrics,
        now: this.now,
        dialTimeoutMs: this.config.backendDialTimeoutMs,
        events: this.events,
        onClosed: (t, reason) => {
          this.backends.remove(t);
          this.events.agentDisconnected({ agentId: t.agentId, streamId: t.streamId, reason });
          this.deps.log.info('agent disconnected', { agentID: t.agentId, stream: t.streamId, reason });
          this.deps.onTunnelClosed?.(t);
          this.deps.onAgentsChanged?.(this);
        },
        onDraining: (t) => {
          this.events.agentDraining({ agentId: t.agentId, streamId: t.streamId });
          this.deps.log.info('agent is draining', { agentID: t.agentId, stream: t.streamId });
          this.deps.onAgentsChanged?.(this);
        },
      },
      liveness,
    );
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
    this.deps.log.info('agent connected', { agentID: agentId, stream: tunnel.streamId, peer: stream.peer });
    this.deps.onAgentsChanged?.(this);
    return tunnel;
  }

  /**
   * Starts a dial for a frontend. Returns what the frontend holds for it, or null after telling the
   * frontend why not. A dial goes to an agent when admission gives it a slot, at once or after waiting in
   * the queue; with the queue full it is refused at once (dialAdmission.ts).
   * `protocol` goes to the agent as the frontend sent it, as the reference server forwards the DIAL_REQ
   * unchanged: the agent decides what it can dial (ours refuses anything but tcp in Go's wording).
   */
  dial(random: bigint, address: string, frontend: Frontend, protocol = 'tcp'): FrontendDial | null {
    const key = { random, destination: address }; // the factory keeps a bounded prefix
    const requested = { ...key, mode: frontend.mode, protocol, frontend: frontend.peer };
    const tooLong = dialAddressLengthError(address);
    if (tooLong) {
      this.events.dialRequested(requested);
      this.events.dialFailed({ ...key, reason: 'bad-address', error: tooLong, latencyMs: 0 });
      this.deps.log.info('dial refused: address too long', { address, random, mode: frontend.mode });
      frontend.dialFailed('bad-address', tooLong);
      return null;
    }
    const tunnel = this.stopped ? undefined : this.backends.pick(address);
    if (!tunnel) {
      this.events.dialRequested(requested);
      this.noAgent(random, address, frontend);
      return null;
    }
    const queued = new QueuedDial(random, address, frontend, {
      log: this.deps.log,
      metrics: this.deps.metrics,
      events: this.events,
      now: this.now,
      dialTimeoutMs: this.config.backendDialTimeoutMs,
      send: (ticket) => this.sendDial(random, address, frontend, protocol, ticket),
    });
    const admission = this.admission.request(queued, this.config.backendDialTimeoutMs);
    if (admission.kind !== 'refused') this.refusing = false;
    switch (admission.kind) {
      case 'admitted':
        return this.sendDial(
          random,
          address,
          frontend,
          protocol,
          { slot: admission.slot, timeoutMs: this.config.backendDialTimeoutMs, queued: false, waitedMs: 0 },
          tunnel,
        );
      case 'waiting':
        this.events.dialRequested(requested);
        queued.waitAt(admission.place);
        this.deps.log.debug(2, 'dial waits for admission', {
          address,
          random,
          waiting: this.admission.waitingCount,
        });
        return queued;
      case 'refused': {
        const error = admission.error.message;
        this.deps.metrics.dialFailed('too_many_dials');
        this.events.dialRequested(requested);
        this.events.dialFailed({ ...key, reason: 'too-many-dials', error, latencyMs: 0 });
        const fields = { address, random, mode: frontend.mode, ...this.admission.limits };
        if (this.refusing) this.deps.log.debug(2, 'dial refused: admission queue full', fields);
        else this.deps.log.warn('admission queue full: refusing dials until it has room', fields);
        this.refusing = true;
        frontend.dialFailed('too-many-dials', error);
        return null;
      }
      default: {
        const _exhaustive: never = admission;
        return _exhaustive;
      }
    }
  }

  /** Dials that wait for admission (the konnectivity_ts_waiting_dials gauge). */
  waitingDials(): number {
    return this.admission.waitingCount;
  }

  /**
   * Sends an admitted dial to `chosen`, or to an agent chosen now when it waited (the agents may have
   * changed meanwhile); the ticket's slot is given back however the dial ends.
   */
  private sendDial(
    random: bigint,
    address: string,
    frontend: Frontend,
    protocol: string,
    ticket: DialTicket,
    chosen?: AgentTunnel,
  ): FrontendDial | null {
    const tunnel = chosen ?? (this.stopped ? undefined : this.backends.pick(address));
    if (!tunnel) {
      ticket.slot.release();
      // Its agents went away while it waited: dial.requested is recorded already.
      this.noAgent(random, address, frontend);
      return null;
    }
    const started = tunnel.dial(random, address, frontend, protocol, ticket);
    if ('duplicate' in started) {
      ticket.slot.release();
      frontend.dialFailed('agent-error', `a dial with random ${random} is already pending`);
      return null;
    }
    this.deps.log.debug(2, 'dial forwarded to agent', { address, random, agentID: tunnel.agentId });
    return started;
  }

  private noAgent(random: bigint, address: string, frontend: Frontend): void {
    this.deps.metrics.dialFailed('no_agent');
    this.events.dialFailed({
      random,
      destination: address,
      reason: 'no-agent',
      error: NO_AGENT_AVAILABLE,
      latencyMs: 0,
    });
    this.deps.log.info('no agent available for dial', { address, random, mode: frontend.mode });
    frontend.dialFailed('no-agent', NO_AGENT_AVAILABLE);
  }

  /** Adopts a frontend's gRPC `Proxy` stream; `onFinished` runs once when the session is over. */
  openGrpcFrontend(stream: PacketStream, onFinished?: () => void): GrpcFrontendSession {
    return this.adopt(
      (done) =>
        new GrpcFrontendSession(stream, this, this.frontendLog, this.deps.metrics, () => {
          done();
          onFinished?.();
        }),
    );
  }

  /** Adopts an HTTP CONNECT tunnel whose request head has been read. */
  openHttpConnect(req: ConnectRequestHead): HttpConnectSession {
    return this.adopt(
      (done) =>
        new HttpConnectSession(req.socket, req.peer, req.authority, req.head, this, this.frontendLog, done),
    );
  }

  /** Frontend sessions not finished yet. */
  frontendSessions(): number {
    return this.frontends.size;
  }

  private get frontendLog(): ActorLogger {
    return this.deps.frontendLog ?? this.deps.log;
  }

  /** Keeps a session until it finishes, even when it finishes inside its own constructor. */
  private adopt<T extends Frontend>(create: (done: () => void) => T): T {
    let finished = false;
    let session: T | null = null;
    session = create(() => {
      finished = true;
      if (session) this.frontends.delete(session);
    });
    if (this.stopped && !finished) session.abort('server is shutting down');
    else if (!finished) this.frontends.add(session);
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
