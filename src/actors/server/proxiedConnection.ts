/**
 * One frontend's connection through one agent tunnel, on the server: first a dial actor (DIAL_REQ sent,
 * waiting for DIAL_RSP), then a connection actor (DATA both ways until closed). It owns the glue between
 * the frontend and the tunnel; the machines decide what happens, this class only performs the effects.
 */
import * as machines from '../machines';
import type { DialPort, ConnectionPort } from '../machines';
import type { Actor } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine';
import { dialMachine } from '../../machines/dial.machine';
import { packets, type Packet } from '../../protocol/packet';
import type { ActorFacts, ActorHost } from '../actorHost';
import type { ServerEventFactory } from '../../events';
import type { ActorLogger, ServerInstruments } from '../instruments';
import { ConnectionFlow } from '../flow/connectionFlow';
import type { Frontend } from './frontend';
import { SERVER_DIAL_FAILURES, serverDialErrorText, type DialFailure } from '../dialOutcomes';
import { boundPeerText } from '../../protocol/peerText';

/** What a proxied connection needs from its tunnel. */
export interface TunnelLink {
  readonly agentId: string;
  /** The tunnel actor's id (the owner an inspector shows). */
  readonly actorId: string;
  /** Whether the agent agreed on the credit extension. */
  readonly credits: boolean;
  sendToAgent(packet: Packet): boolean;
  /** Release this connection's 'tunnel' hold when the agent stream drains. */
  waitForAgentDrain(conn: ProxiedConnection): void;
  /** Stop / restart reading the agent stream on this connection's behalf (overflow without credits). */
  holdStream(conn: ProxiedConnection): void;
  releaseStream(conn: ProxiedConnection): void;
  connectionEstablished(conn: ProxiedConnection): void;
  forget(conn: ProxiedConnection): void;
}

export interface ProxiedConnectionDeps {
  host: ActorHost;
  log: ActorLogger;
  metrics: ServerInstruments;
  now: () => number;
  dialTimeoutMs: number;
  events: ServerEventFactory;
}

export class ProxiedConnection {
  connectID: bigint | null = null;
  bytesToAgent = 0;
  bytesFromAgent = 0;
  private dial: Actor<typeof dialMachine> | null = null;
  private conn: Actor<typeof connectionMachine> | null = null;
  /** Back-pressure of the established connection. */
  flow: ConnectionFlow | null = null;
  private readonly startedAt: number;
  private done = false;
  private openedAt = 0;
  /** Why the frontend side ended the dial or connection, for the event. */
  private cancelReason = 'dial-cls';

  constructor(
    readonly random: bigint,
    readonly address: string,
    readonly frontend: Frontend,
    private readonly tunnel: TunnelLink,
    private readonly deps: ProxiedConnectionDeps,
    /** As the frontend sent it; forwarded unchanged, as the reference does. */
    readonly protocol = 'tcp',
  ) {
    this.startedAt = deps.now();
  }

  /** What an inspector shows for this connection's dial and connection actors. */
  private readonly describe = (): ActorFacts => ({
    agent: this.tunnel.agentId,
    destination: this.address,
    owner: this.tunnel.actorId,
    bytesOut: this.bytesToAgent,
    bytesIn: this.bytesFromAgent,
  });

  get phase(): 'dialing' | 'open' | 'done' {
    if (this.done) return 'done';
    return this.conn ? 'open' : 'dialing';
  }

  /** Sends DIAL_REQ to the agent and waits, as the dial machine says. */
  start(): void {
    const { deps, tunnel, frontend } = this;
    deps.metrics.pendingDials(1);
    const key = { random: this.random, destination: this.address };
    const latencyMs = (): number => deps.now() - this.startedAt;
    deps.events.dialRequested({
      ...key,
      mode: frontend.mode,
      protocol: this.protocol,
      frontend: frontend.peer,
    });
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
          latencyMs: latencyMs(),
        });
      frontend.dialFailed(facts.frontend, error);
    };
    const port: DialPort = {
      startDial: () => {
        tunnel.sendToAgent(packets.dialRequest(this.address, this.random, this.protocol));
      },
      reportEstablished: ({ context }) => {
        this.connectID = BigInt(context.connectID ?? '0');
        deps.metrics.dialSucceeded((deps.now() - this.startedAt) / 1000);
        deps.events.dialEstablished({
          ...key,
          agentId: tunnel.agentId,
          connectID: this.connectID,
          latencyMs: latencyMs(),
        });
        this.openConnection();
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
          latencyMs: latencyMs(),
        });
      },
      // Better than the reference: the agent learns the dial is no longer wanted.
      abandonDial: () => {
        tunnel.sendToAgent(packets.closeDial(this.random));
      },
    };
    const dial = deps.host.start('dial', machines.dial.machine, {
      bind: (actor) => machines.dial.bind(actor, port),
      input: { random: this.random.toString(), address: this.address, timeoutMs: deps.dialTimeoutMs },
      describe: this.describe,
    });
    this.dial = dial;
    dial.subscribe({
      complete: () => {
        deps.metrics.pendingDials(-1);
        this.dial = null;
        const outcome = dial.getSnapshot().context.outcome;
        if (outcome !== 'established') this.finish();
      },
    });
  }

  private openConnection(): void {
    const { deps, tunnel, frontend } = this;
    const connectID = this.connectID!;
    const port: ConnectionPort = {
      requestFarClose: () => {
        tunnel.sendToAgent(packets.closeRequest(connectID));
      },
      notifyNearClosed: () => frontend.closed(),
      abortBoth: ({ context }) => frontend.abort(context.reason ?? 'tunnel lost'),
      holdTunnel: () => tunnel.holdStream(this),
      releaseTunnel: () => tunnel.releaseStream(this),
      evict: () => {
        deps.log.warn('closing a connection whose frontend stopped reading: its buffer overflowed', {
          agentID: tunnel.agentId,
          connectionID: connectID,
          destination: this.address,
          bufferedBytes: this.flow?.bufferedBytes,
        });
        tunnel.sendToAgent(packets.closeRequest(connectID));
        frontend.abort('buffer overflow: the frontend stopped reading');
      },
    };
    const conn = deps.host.start('connection', machines.connection.machine, {
      bind: (actor) => machines.connection.bind(actor, port),
      input: { connectID: connectID.toString() },
      describe: this.describe,
    });
    this.conn = conn;
    this.openedAt = deps.now();
    deps.metrics.establishedConnections(1);
    const key = { random: this.random, destination: this.address, agentId: tunnel.agentId, connectID };
    deps.events.connOpened({ ...key, mode: frontend.mode });
    tunnel.connectionEstablished(this);
    const flow = new ConnectionFlow(tunnel.credits, {
      grantCredit: (n) => tunnel.sendToAgent(packets.credit(connectID, n)),
      pauseSource: () => frontend.pause(),
      resumeSource: () => frontend.resume(),
      overflowed: () => conn.send({ type: 'OVERFLOWED' }),
      drained: () => conn.send({ type: 'DRAINED' }),
    });
    this.flow = flow;
    conn.subscribe({
      complete: () => {
        deps.metrics.establishedConnections(-1);
        const { closedBy, reason } = conn.getSnapshot().context;
        deps.metrics.connectionClosed(
          closedBy === 'near' ? 'frontend_close' : closedBy === 'far' ? 'backend_close' : 'stream_shutdown',
          (deps.now() - this.openedAt) / 1000,
        );
        deps.events.connClosed({
          ...key,
          bytesToAgent: this.bytesToAgent,
          bytesFromAgent: this.bytesFromAgent,
          durationMs: deps.now() - this.openedAt,
          closedBy: closedBy === 'near' ? 'frontend' : closedBy === 'far' ? 'agent' : 'server',
          reason: reason ?? 'unknown',
        });
        this.finish();
      },
    });
  }

  // ------------------------------------------------------------------- from the agent
  onDialResponse(error: string, connectID: bigint): void {
    // The agent's text goes on to the frontend and into events: a bounded prefix of it.
    if (error) this.dial?.send({ type: 'DIAL_FAILED', error: boundPeerText(error) });
    else this.dial?.send({ type: 'DIAL_SUCCEEDED', connectID: connectID.toString() });
  }

  onAgentData(data: Buffer): void {
    const flow = this.flow;
    if (!flow) return;
    const n = data.length;
    this.bytesFromAgent += n;
    flow.received(n);
    this.frontend.deliver(data, () => flow.taken(n));
  }

  /** CREDIT from the agent: it may take `bytes` more from this frontend. */
  onCredit(bytes: number): void {
    this.flow?.credited(bytes);
  }

  onCloseResponse(error: string): void {
    this.conn?.send({ type: 'FAR_END_CLOSED', reason: error ? boundPeerText(error) : 'agent closed' });
  }

  tunnelLost(reason: string): void {
    this.dial?.send({ type: 'PEER_LOST', reason });
    this.conn?.send({ type: 'TUNNEL_LOST', reason });
  }

  // ------------------------------------------------------------------- from the frontend
  /** DATA from the frontend; false means the agent stream is full and the frontend was paused. */
  sendData(data: Buffer): void {
    if (this.connectID === null || this.done || !this.flow) return;
    this.bytesToAgent += data.length;
    if (!this.tunnel.sendToAgent(packets.data(this.connectID, data))) {
      this.flow.hold('tunnel');
      this.tunnel.waitForAgentDrain(this);
    }
    this.flow.sent(data.length);
  }

  /** CLOSE_REQ from the frontend. */
  requestClose(reason: string): void {
    this.conn?.send({ type: 'CLOSE_REQUESTED', reason });
  }

  /** DIAL_CLS from the frontend. */
  cancelDial(): void {
    this.dial?.send({ type: 'CANCEL' });
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

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.tunnel.forget(this);
  }
}
