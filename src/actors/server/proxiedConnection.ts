/**
 * One frontend's connection through one agent tunnel, on the server: first a dial actor (DIAL_REQ sent,
 * waiting for DIAL_RSP), then a connection actor (DATA both ways until closed). It owns the glue between
 * the frontend and the tunnel; the machines decide what happens, this class only performs the effects
 * (the dial-then-connection hand-off both sides share is DialedConnection).
 */
import type { DialPort } from '../machines';
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
    private readonly ticket: DialTicket | null = null,
  ) {
    super(random, address, tunnel, deps, 'stream');
  }

  /** Milliseconds since the frontend asked, its wait for admission included. */
  private latency(): number {
    return this.sinceStart() + (this.ticket?.waitedMs ?? 0);
  }

  protected whose(): ActorFacts {
    return { agent: this.tunnel.agentId };
  }

  get phase(): 'dialing' | 'open' | 'done' {
    if (this.done) return 'done';
    return this.conn ? 'open' : 'dialing';
  }

  /** Sends DIAL_REQ to the agent and waits, as the dial machine says. */
  start(): void {
    const { deps, tunnel, frontend } = this;
    deps.metrics.pendingDials(1);
    const key = { random: this.random, destination: this.address };
    if (!this.ticket?.queued) {
      deps.events.dialRequested({
        ...key,
        mode: frontend.mode,
        protocol: this.protocol,
        frontend: frontend.peer,
      });
    }
    const fail = (outcome: DialFailure, recorded: string | null): void => {
      const facts = SERVER_DIAL_FAILURES[outcome];
      const error = serverDialErrorText(outcome, recorded);
      deps.metrics.dialFailed(facts.metric);
      if (facts.event.type === 'dial.timed-out')
        deps.events.dialTimedOut({ ...key, agentId: tunnel.agentId, timeoutMs: deps.dialTimeoutMs });
      else
        deps.events.dialFailed({
          ...key,
          agentId: tunnel.agentId,
          reason: facts.event.reason,
          error,
          latencyMs: this.latency(),
        });
      frontend.dialFailed(facts.frontend, error);
    };
    const port: DialPort = {
      startDial: () => {
        tunnel.send(packets.dialRequest(this.address, this.random, this.protocol));
      },
      reportEstablished: ({ context }) => {
        this.connectID = BigInt(context.connectID ?? '0');
        deps.metrics.dialSucceeded(this.latency() / 1000);
        deps.events.dialEstablished({
          ...key,
          agentId: tunnel.agentId,
          connectID: this.connectID,
          latencyMs: this.latency(),
        });
        this.open();
        frontend.dialSucceeded(this.connectID);
      },
      reportRefused: ({ context }) => fail('refused', context.error),
      reportTimedOut: ({ context }) => fail('timedOut', context.error),
      reportPeerLost: ({ context }) => fail('peerLost', context.error),
      reportCancelled: () => {
        deps.events.dialCancelled({
          ...key,
          agentId: tunnel.agentId,
          reason: this.cancelReason,
          latencyMs: this.latency(),
        });
      },
      // Better than the reference: the agent learns the dial is no longer wanted.
      abandonDial: () => {
        tunnel.send(packets.closeDial(this.random));
      },
    };
    const timeoutMs = this.ticket ? this.ticket.timeoutMs : deps.dialTimeoutMs;
    this.startDial('dial', timeoutMs, port, () => {
      deps.metrics.pendingDials(-1);
      this.ticket?.slot.release();
    });
  }

  private open(): void {
    const { deps, tunnel, frontend } = this;
    const connectID = this.connectID!;
    const key = { random: this.random, destination: this.address, agentId: tunnel.agentId, connectID };
    this.openConnection(
      'connection',
      {
        requestFarClose: () => {
          tunnel.send(packets.closeRequest(connectID));
        },
        notifyNearClosed: () => frontend.closed(),
        abortBoth: ({ context }) => frontend.abort(context.reason ?? 'tunnel lost'),
        evict: () => {
          deps.log.warn('closing a connection whose frontend stopped reading: its buffer overflowed', {
            agentID: tunnel.agentId,
            connectionID: connectID,
            destination: this.address,
            bufferedBytes: this.flow?.bufferedBytes,
          });
          tunnel.send(packets.closeRequest(connectID));
          frontend.abort('buffer overflow: the frontend stopped reading');
        },
      },
      frontend,
      () => {
        deps.metrics.establishedConnections(1);
        deps.events.connOpened({ ...key, mode: frontend.mode });
      },
      ({ closedBy, reason }) => {
        deps.metrics.establishedConnections(-1);
        deps.metrics.connectionClosed(
          closedBy === 'near' ? 'frontend_close' : closedBy === 'far' ? 'backend_close' : 'stream_shutdown',
          this.openFor() / 1000,
        );
        deps.events.connClosed({
          ...key,
          bytesToAgent: this.bytesSent,
          bytesFromAgent: this.bytesReceived,
          durationMs: this.openFor(),
          closedBy: closedBy === 'near' ? 'frontend' : closedBy === 'far' ? 'agent' : 'server',
          reason: reason ?? 'unknown',
        });
      },
    );
  }

  // ------------------------------------------------------------------- from the agent
  onDialResponse(error: string, connectID: bigint): void {
    // The agent's text goes on to the frontend and into events: a bounded prefix of it.
    if (error) this.dial?.send({ type: 'DIAL_FAILED', error: boundPeerText(error) });
    else this.dial?.send({ type: 'DIAL_SUCCEEDED', connectID: connectID.toString() });
  }

  onAgentData(data: Buffer): void {
    this.receiveFromStream(data, (bytes, taken) => this.frontend.deliver(bytes, taken));
  }

  onCloseResponse(error: string): void {
    this.conn?.send({ type: 'FAR_END_CLOSED', reason: error ? boundPeerText(error) : 'agent closed' });
  }

  // ------------------------------------------------------------------- from the frontend
  /** DATA from the frontend; a full agent stream pauses the frontend until it drains. */
  sendData(data: Buffer): void {
    this.sendOnStream(data);
  }

  /** CLOSE_REQ from the frontend. */
  requestClose(reason: string): void {
    this.conn?.send({ type: 'CLOSE_REQUESTED', reason });
  }

  /** The frontend stream ended (EOF, cancel, error): cancel the dial or close the connection. */
  frontendGone(reason: string): void {
    this.cancelReason = 'frontend-closed';
    if (this.conn) {
      this.conn.send({ type: 'CLOSE_REQUESTED', reason });
    } else if (this.dial) {
      this.deps.metrics.dialFailed('frontend_close');
      this.dial.send({ type: 'CANCEL' });
    }
  }
}
