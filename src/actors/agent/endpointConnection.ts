/**
 * One DIAL_REQ on the agent: a dial actor (TCP connect with the reference's 5 s timeout), then a
 * connection actor carrying bytes between the endpoint socket and the server until either side closes.
 */
import * as machines from '../machines';
import type { DialPort, ConnectionPort } from '../machines';
import * as net from 'net';
import type { Actor } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine';
import { dialMachine } from '../../machines/dial.machine';
import { packets, type Packet } from '../../protocol/packet';
import type { ActorFacts, ActorHost } from '../actorHost';
import type { AgentEventFactory } from '../../events';
import type { ActorLogger, AgentInstruments } from '../instruments';
import { ConnectionFlow } from '../flow/connectionFlow';
import type { DestinationPolicy } from './destinationPolicy';
import { resolveDestination } from './resolveDestination';
import { dialTarget } from './dialTarget';
import { goDialError, unexpectedDialError, type NodeNetError } from './goDialErrors';
import { agentDialErrorText, agentDialFailure, type DialFailure } from '../dialOutcomes';

/** The reference agent's endpoint dial timeout (net.DialTimeout(..., 5*time.Second)). */
export const ENDPOINT_DIAL_TIMEOUT_MS = 5_000;

export interface EndpointLink {
  /** The server link actor's id (the owner an inspector shows). */
  readonly actorId: string;
  /** Whether the server agreed on the credit extension on the current stream. */
  readonly credits: boolean;
  sendToServer(packet: Packet): boolean;
  /** The server stream is full: release this endpoint's 'tunnel' hold when it drains. */
  waitForServerDrain(endpoint: EndpointConnection): void;
  /** Stop / restart reading the server stream on this endpoint's behalf (overflow without credits). */
  holdStream(endpoint: EndpointConnection): void;
  releaseStream(endpoint: EndpointConnection): void;
  established(endpoint: EndpointConnection): void;
  forget(endpoint: EndpointConnection): void;
}

export interface EndpointDeps {
  host: ActorHost;
  log: ActorLogger;
  metrics: AgentInstruments;
  now: () => number;
  dialTimeoutMs?: number;
  events: AgentEventFactory;
  /** The server this endpoint's stream belongs to (for events). */
  serverId: string;
  /** --allowed-destinations; absent means every destination may be dialed, as in the reference. */
  policy?: DestinationPolicy;
}

export class EndpointConnection {
  bytesToEndpoint = 0;
  bytesFromEndpoint = 0;
  private socket: net.Socket | null = null;
  private dial: Actor<typeof dialMachine> | null = null;
  private conn: Actor<typeof connectionMachine> | null = null;
  /** Back-pressure of the established connection. */
  flow: ConnectionFlow | null = null;
  private done = false;
  private readonly startedAt: number;
  private openedAt = 0;
  /** The destination policy refused this dial. */
  private denied = false;

  constructor(
    readonly connectID: bigint,
    readonly random: bigint,
    readonly address: string,
    private readonly protocol: string,
    private readonly link: EndpointLink,
    private readonly deps: EndpointDeps,
  ) {
    this.startedAt = deps.now();
  }

  /** What an inspector shows for this endpoint's dial and connection actors. */
  private readonly describe = (): ActorFacts => ({
    server: this.deps.serverId,
    destination: this.address,
    owner: this.link.actorId,
    bytesOut: this.bytesToEndpoint,
    bytesIn: this.bytesFromEndpoint,
  });

  start(): void {
    const { deps, link } = this;
    const key = { random: this.random, destination: this.address, serverId: deps.serverId };
    const fail = (outcome: DialFailure, recorded: string | null): void => {
      const facts = agentDialFailure(outcome, this.denied);
      const error = agentDialErrorText(outcome, this.address, recorded);
      if (facts.metric) deps.metrics.dialFailed(facts.metric);
      deps.log.info('endpoint dial failed', { address: this.address, random: this.random, error });
      deps.events.endpointDialFailed({
        ...key,
        reason: facts.eventReason,
        error,
        latencyMs: deps.now() - this.startedAt,
      });
      // The reference sends a failed DIAL_RSP without a connectID.
      if (facts.answersServer) link.sendToServer(packets.dialResponse(this.random, 0n, error));
    };
    const port: DialPort = {
      startDial: () => this.connectSocket(),
      reportEstablished: () => {
        deps.metrics.dialSucceeded((deps.now() - this.startedAt) / 1000);
        deps.events.endpointDialConnected({
          ...key,
          connectID: this.connectID,
          latencyMs: deps.now() - this.startedAt,
        });
        this.openConnection();
        link.sendToServer(packets.dialResponse(this.random, this.connectID));
      },
      reportRefused: ({ context }) => fail('refused', context.error),
      reportTimedOut: ({ context }) => fail('timedOut', context.error),
      reportPeerLost: ({ context }) => fail('peerLost', context.error),
      reportCancelled: () => {},
      abandonDial: () => this.socket?.destroy(),
    };
    const dial = deps.host.start('endpointDial', machines.dial.machine, {
      bind: (actor) => machines.dial.bind(actor, port),
      input: {
        random: this.random.toString(),
        address: this.address,
        timeoutMs: deps.dialTimeoutMs ?? ENDPOINT_DIAL_TIMEOUT_MS,
      },
      describe: this.describe,
    });
    this.dial = dial;
    dial.subscribe({
      complete: () => {
        this.dial = null;
        if (dial.getSnapshot().context.outcome !== 'established') this.finish();
      },
    });
  }

  private connectSocket(): void {
    const target = dialTarget(this.protocol, this.address);
    if ('error' in target) {
      this.failSoon(target.error);
      return;
    }
    const policy = this.deps.policy;
    if (!policy) {
      this.openSocket(target.host, target.port);
      return;
    }
    resolveDestination(this.address, target, policy, (outcome) => {
      if (!this.dial) return; // cancelled or timed out meanwhile
      if (outcome.ok) {
        this.openSocket(outcome.ip, target.port);
      } else {
        this.denied = outcome.denied;
        this.dial.send({ type: 'DIAL_FAILED', error: outcome.error });
      }
    });
  }

  /** Fails the dial after the current call returns: the dial actor is still starting. */
  private failSoon(error: string): void {
    queueMicrotask(() => this.dial?.send({ type: 'DIAL_FAILED', error }));
  }

  private openSocket(host: string, port: number): void {
    let socket: net.Socket;
    try {
      socket = net.connect({ host, port, noDelay: true });
    } catch (err) {
      // net.connect throws synchronously for arguments it rejects (a bad port, a bad host type).
      this.failSoon(unexpectedDialError(this.address, err));
      return;
    }
    this.socket = socket;
    socket.pause();
    socket.once('connect', () =>
      this.dial?.send({ type: 'DIAL_SUCCEEDED', connectID: this.connectID.toString() }),
    );
    socket.on('error', (err: NodeNetError) => {
      if (this.dial) this.dial.send({ type: 'DIAL_FAILED', error: goDialError(this.address, err) });
      else this.conn?.send({ type: 'FAR_END_CLOSED', reason: `endpoint error: ${err.message}` });
    });
  }

  private openConnection(): void {
    const { deps, link } = this;
    const socket = this.socket!;
    const port: ConnectionPort = {
      // Let queued bytes reach the endpoint, then close: the frontend's last write must arrive.
      requestFarClose: () => {
        socket.end(() => socket.destroy());
      },
      notifyNearClosed: () => {
        link.sendToServer(packets.closeResponse(this.connectID));
      },
      abortBoth: () => socket.destroy(),
      holdTunnel: () => link.holdStream(this),
      releaseTunnel: () => link.releaseStream(this),
      evict: () => {
        deps.log.warn('closing an endpoint connection that stopped reading: its buffer overflowed', {
          connectionID: this.connectID,
          destination: this.address,
          bufferedBytes: socket.writableLength,
        });
        socket.destroy();
        link.sendToServer(
          packets.closeResponse(this.connectID, 'buffer overflow: the endpoint stopped reading'),
        );
      },
    };
    const conn = deps.host.start('endpointConnection', machines.connection.machine, {
      bind: (actor) => machines.connection.bind(actor, port),
      input: { connectID: this.connectID.toString() },
      describe: this.describe,
    });
    this.conn = conn;
    this.openedAt = deps.now();
    deps.metrics.endpointConnectionOpened();
    link.established(this);
    const flow = new ConnectionFlow(link.credits, {
      grantCredit: (n) => link.sendToServer(packets.credit(this.connectID, n)),
      pauseSource: () => socket.pause(),
      resumeSource: () => {
        if (!this.done) socket.resume();
      },
      overflowed: () => conn.send({ type: 'OVERFLOWED' }),
      drained: () => conn.send({ type: 'DRAINED' }),
    });
    this.flow = flow;
    conn.subscribe({
      complete: () => {
        const { closedBy, reason } = conn.getSnapshot().context;
        deps.metrics.endpointConnectionClosed(
          closedBy === 'near' ? 'server_close' : closedBy === 'lost' ? 'agent_shutdown' : 'endpoint_close',
        );
        deps.events.endpointConnClosed({
          random: this.random,
          destination: this.address,
          serverId: deps.serverId,
          connectID: this.connectID,
          bytesToEndpoint: this.bytesToEndpoint,
          bytesFromEndpoint: this.bytesFromEndpoint,
          durationMs: deps.now() - this.openedAt,
          closedBy: closedBy === 'far' || closedBy === 'evicted' ? 'endpoint' : 'server',
          reason: reason ?? 'unknown',
        });
        socket.destroy();
        this.finish();
      },
    });
    socket.on('data', (chunk: Buffer) => {
      this.bytesFromEndpoint += chunk.length;
      if (!link.sendToServer(packets.data(this.connectID, chunk))) {
        flow.hold('tunnel');
        link.waitForServerDrain(this);
      }
      flow.sent(chunk.length);
    });

    socket.on('close', () => this.conn?.send({ type: 'FAR_END_CLOSED', reason: 'endpoint closed' }));
    socket.resume();
  }

  // ------------------------------------------------------------------- from the server
  onServerData(data: Buffer): void {
    const flow = this.flow;
    if (!this.socket || this.done || !flow) return;
    const n = data.length;
    this.bytesToEndpoint += n;
    flow.received(n);
    this.socket.write(data, () => flow.taken(n));
  }

  sinkBufferedBytes(): number {
    return this.flow?.bufferedBytes ?? 0;
  }

  /** CREDIT from the server: it may take `bytes` more from this endpoint. */
  onCredit(bytes: number): void {
    this.flow?.credited(bytes);
  }

  onCloseRequest(): void {
    this.conn?.send({ type: 'CLOSE_REQUESTED', reason: 'server sent CLOSE_REQ' });
  }

  cancelDial(): void {
    this.dial?.send({ type: 'CANCEL' });
  }

  linkLost(reason: string): void {
    this.dial?.send({ type: 'PEER_LOST', reason });
    this.conn?.send({ type: 'TUNNEL_LOST', reason });
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.link.forget(this);
  }
}
