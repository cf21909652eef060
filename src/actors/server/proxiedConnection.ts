/**
 * One frontend's connection through one agent tunnel, on the server: one `connection` actor, first
 * dialing (DIAL_REQ sent, waiting for DIAL_RSP), then open (DATA both ways until closed). It owns the glue
 * between the frontend and the tunnel; the machine decides what happens, this class only performs the
 * effects (what both sides share is DialedConnection).
 */
import type { ConnectionArgs } from '../machines';
import type { ConnectionContext } from '../../machines/connection.machine';
import { packets } from '../../protocol/packet';
import type { ActorFacts, ActorHost } from '../actorHost';
import type { ServerEventFactory } from '../../events';
import type { ActorLogger, ServerInstruments } from '../instruments';
import type { Carrier } from '../connectionTable';
import { DialedConnection } from '../dialedConnection';
import type { Frontend, FrontendDial } from './frontend';
import type { DialSlot } from './dialAdmission';
import { SERVER_DIAL_FAILURES, serverDialErrorText, type DialFailure } from '../dialOutcomes';
import { boundPeerText } from '../../protocol/peerText';

/** What a proxied connection needs from its tunnel. */
export interface TunnelLink extends Carrier<DialedConnection> {
  readonly agentId: string;
}

export interface ProxiedConnectionDeps {
  host: ActorHost;
  log: ActorLogger;
  metrics: ServerInstruments;
  now: () => number;
  dialTimeoutMs: number;
  events: ServerEventFactory;
}

/** How a dial came through admission (dialAdmission.ts): its slot and what is left of its timeout. */
export interface DialTicket {
  /** Given back once the dial has an outcome, whichever. */
  readonly slot: DialSlot;
  /** What is left of the dial timeout after waiting for the slot (0: none). */
  readonly timeoutMs: number;
  /** Whether it waited in the queue: its dial.requested was recorded when it started waiting. */
  readonly queued: boolean;
  /** Milliseconds it waited for its slot; they count in its latency. */
  readonly waitedMs: number;
}

export class ProxiedConnection extends DialedConnection implements FrontendDial {
  connectID: bigint | null = null;
  /** Why the frontend side ended the dial or connection, for the event. */
  private cancelReason = 'dial-cls';

  constructor(
    random: bigint,
    address: string,
    readonly frontend: Frontend,
    private readonly tunnel: TunnelLink,
    private readonly deps: ProxiedConnectionDeps,
    /** As the frontend sent it; forwarded unchanged, as the reference does. */
    readonly protocol = 'tcp',
    /** Dropped once the dial has an outcome: an open connection has no use for its slot. */
    private ticket: DialTicket | null = null,
  ) {
    super(random, address, tunnel, deps, 'stream');
    this.waitedMs = ticket?.waitedMs ?? 0;
  }

  /** Milliseconds the dial waited for its admission slot. */
  private readonly waitedMs: number;

  /** Milliseconds since the frontend asked, its wait for admission included. */
  private latency(): number {
    return this.sinceStart() + this.waitedMs;
  }

  protected whose(): ActorFacts {
    return { agent: this.tunnel.agentId };
  }

  get phase(): 'dialing' | 'open' | 'done' {
    if (this.done) return 'done';
    return this.flow ? 'open' : 'dialing';
  }

  /** Sends DIAL_REQ to the agent and waits, as the connection machine says. */
  start(): void {
    const { deps, frontend } = this;
    deps.metrics.pendingDials(1);
    if (!this.ticket?.queued) {
      deps.events.dialRequested({
        random: this.random,
        destination: this.address,
        mode: frontend.mode,
        protocol: this.protocol,
        frontend: frontend.peer,
      });
    }
    this.run('connection', this.ticket ? this.ticket.timeoutMs : deps.dialTimeoutMs);
  }

  // ------------------------------------------------------------------- the machine's dial effects
  startDial(): void {
    this.tunnel.send(packets.dialRequest(this.address, this.random, this.protocol));
  }

  reportEstablished({ context }: ConnectionArgs): void {
    const { deps, tunnel } = this;
    const connectID = BigInt(context.connectID ?? '0');
    this.connectID = connectID;
    deps.metrics.dialSucceeded(this.latency() / 1000);
    deps.events.dialEstablished({
      random: this.random,
      destination: this.address,
      agentId: tunnel.agentId,
      connectID,
      latencyMs: this.latency(),
    });
    // Nothing can arrive from the client before this call returns (its bytes come on a later turn), so
    // its reply may go ahead of the connection's set-up.
    this.frontend.dialAccepted?.();
    this.openConnection();
    this.frontend.dialSucceeded(connectID);
  }

  reportCancelled(): void {
    this.deps.events.dialCancelled({
      random: this.random,
      destination: this.address,
      agentId: this.tunnel.agentId,
      reason: this.cancelReason,
      latencyMs: this.latency(),
    });
  }

  // Better than the reference: the agent learns the dial is no longer wanted.
  abandonDial(): void {
    this.tunnel.send(packets.closeDial(this.random));
  }

  override dialSettled(): void {
    this.deps.metrics.pendingDials(-1);
    this.ticket?.slot.release();
    this.ticket = null;
  }

  protected dialFailed(outcome: DialFailure, recorded: string | null): void {
    const { deps, tunnel } = this;
    const facts = SERVER_DIAL_FAILURES[outcome];
    const error = serverDialErrorText(outcome, recorded);
    deps.metrics.dialFailed(facts.metric);
    const key = { random: this.random, destination: this.address, agentId: tunnel.agentId };
    if (facts.event.type === 'dial.timed-out')
      deps.events.dialTimedOut({ ...key, timeoutMs: deps.dialTimeoutMs });
    else deps.events.dialFailed({ ...key, reason: facts.event.reason, error, latencyMs: this.latency() });
    this.frontend.dialFailed(facts.frontend, error);
  }

  // ------------------------------------------------------------------- the machine's connection effects
  requestFarClose(): void {
    this.tunnel.send(packets.closeRequest(this.connectID!));
  }

  notifyNearClosed(): void {
    this.frontend.closed();
  }

  abortBoth({ context }: ConnectionArgs): void {
    this.frontend.abort(context.reason ?? 'tunnel lost');
  }

  evict(): void {
    const connectID = this.connectID!;
    this.deps.log.warn('closing a connection whose frontend stopped reading: its buffer overflowed', {
      agentID: this.tunnel.agentId,
      connectionID: connectID,
      destination: this.address,
      bufferedBytes: this.flow?.bufferedBytes,
    });
    this.tunnel.send(packets.closeRequest(connectID));
    this.frontend.abort('buffer overflow: the frontend stopped reading');
  }

  pauseSource(): void {
    this.frontend.pause();
  }

  resumeSource(): void {
    this.frontend.resume();
  }

  protected connectionOpened(): void {
    this.deps.metrics.establishedConnections(1);
    this.deps.events.connOpened({ ...this.connKey(), mode: this.frontend.mode });
  }

  protected connectionClosed({ closedBy, reason }: ConnectionContext): void {
    const { deps } = this;
    deps.metrics.establishedConnections(-1);
    deps.metrics.connectionClosed(
      closedBy === 'near' ? 'frontend_close' : closedBy === 'far' ? 'backend_close' : 'stream_shutdown',
      this.openFor() / 1000,
    );
    deps.events.connClosed({
      ...this.connKey(),
      bytesToAgent: this.bytesSent,
      bytesFromAgent: this.bytesReceived,
      durationMs: this.openFor(),
      closedBy: closedBy === 'near' ? 'frontend' : closedBy === 'far' ? 'agent' : 'server',
      reason: reason ?? 'unknown',
    });
  }

  private connKey(): { random: bigint; destination: string; agentId: string; connectID: bigint } {
    return {
      random: this.random,
      destination: this.address,
      agentId: this.tunnel.agentId,
      connectID: this.connectID!,
    };
  }

  // ------------------------------------------------------------------- from the agent
  onDialResponse(error: string, connectID: bigint): void {
    // The agent's text goes on to the frontend and into events: a bounded prefix of it.
    if (error) this.tell({ type: 'DIAL_FAILED', error: boundPeerText(error) });
    else this.tell({ type: 'DIAL_SUCCEEDED', connectID: connectID.toString() });
  }

  onAgentData(data: Buffer): void {
    this.receiveFromStream(data, (bytes, taken) => this.frontend.deliver(bytes, taken));
  }

  onCloseResponse(error: string): void {
    this.tell({ type: 'FAR_END_CLOSED', reason: error ? boundPeerText(error) : 'agent closed' });
  }

  // ------------------------------------------------------------------- from the frontend
  /** DATA from the frontend; a full agent stream pauses the frontend until it drains. */
  sendData(data: Buffer): void {
    this.sendOnStream(data);
  }

  /** CLOSE_REQ from the frontend. */
  requestClose(reason: string): void {
    this.tell({ type: 'CLOSE_REQUESTED', reason });
  }

  /** The frontend stream ended (EOF, cancel, error): cancel the dial or close the connection. */
  frontendGone(reason: string): void {
    this.cancelReason = 'frontend-closed';
    if (this.done) return;
    if (this.flow) {
      this.tell({ type: 'CLOSE_REQUESTED', reason });
    } else {
      this.deps.metrics.dialFailed('frontend_close');
      this.tell({ type: 'CANCEL' });
    }
  }
}
