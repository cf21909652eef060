/**
 * One DIAL_REQ on the agent: one `endpointConnection` actor, first dialing (TCP connect with the
 * reference's 5 s timeout), then carrying bytes between the endpoint socket and the server until either
 * side closes (what both sides share is DialedConnection).
 */
import type { ConnectionContext } from '../../machines/connection.machine';
import * as net from 'net';
import { packets } from '../../protocol/packet';
import type { ActorFacts, ActorHost } from '../actorHost';
import type { AgentEventFactory } from '../../events';
import type { ActorLogger, AgentInstruments } from '../instruments';
import type { Carrier } from '../connectionTable';
import { DialedConnection } from '../dialedConnection';
import type { DestinationPolicy } from './destinationPolicy';
import { resolveDestination } from './resolveDestination';
import { dialTarget } from './dialTarget';
import { goDialError, unexpectedDialError, type NodeNetError } from './goDialErrors';
import { agentDialErrorText, agentDialFailure, type DialFailure } from '../dialOutcomes';

/** The reference agent's endpoint dial timeout (net.DialTimeout(..., 5*time.Second)). */
export const ENDPOINT_DIAL_TIMEOUT_MS = 5_000;

/** What an endpoint connection needs from its server link: the stream it is carried on. */
export type EndpointLink = Carrier<DialedConnection>;

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

export class EndpointConnection extends DialedConnection {
  private socket: net.Socket | null = null;
  /** The destination policy refused this dial. */
  private denied = false;

  constructor(
    readonly connectID: bigint,
    random: bigint,
    address: string,
    private readonly protocol: string,
    private readonly link: EndpointLink,
    private readonly deps: EndpointDeps,
  ) {
    super(random, address, link, deps, 'local');
  }

  protected whose(): ActorFacts {
    return { server: this.deps.serverId };
  }

  start(): void {
    this.run('endpointConnection', this.deps.dialTimeoutMs ?? ENDPOINT_DIAL_TIMEOUT_MS);
  }

  // ------------------------------------------------------------------- the machine's dial effects
  startDial(): void {
    this.connectSocket();
  }

  reportEstablished(): void {
    const { deps } = this;
    deps.metrics.dialSucceeded(this.sinceStart() / 1000);
    deps.events.endpointDialConnected({
      random: this.random,
      destination: this.address,
      serverId: deps.serverId,
      connectID: this.connectID,
      latencyMs: this.sinceStart(),
    });
    this.open();
    this.link.send(packets.dialResponse(this.random, this.connectID));
  }

  reportCancelled(): void {}

  abandonDial(): void {
    this.socket?.destroy();
  }

  protected dialFailed(outcome: DialFailure, recorded: string | null): void {
    const { deps } = this;
    const facts = agentDialFailure(outcome, this.denied);
    const error = agentDialErrorText(outcome, this.address, recorded);
    if (facts.metric) deps.metrics.dialFailed(facts.metric);
    deps.log.info('endpoint dial failed', { address: this.address, random: this.random, error });
    deps.events.endpointDialFailed({
      random: this.random,
      destination: this.address,
      serverId: deps.serverId,
      reason: facts.eventReason,
      error,
      latencyMs: this.sinceStart(),
    });
    // The reference sends a failed DIAL_RSP without a connectID.
    if (facts.answersServer) this.link.send(packets.dialResponse(this.random, 0n, error));
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
      if (this.done) return; // cancelled or timed out meanwhile
      if (outcome.ok) {
        this.openSocket(outcome.ip, target.port);
      } else {
        this.denied = outcome.denied;
        this.tell({ type: 'DIAL_FAILED', error: outcome.error });
      }
    });
  }

  /** Fails the dial after the current call returns: the actor is still starting. */
  private failSoon(error: string): void {
    queueMicrotask(() => this.tell({ type: 'DIAL_FAILED', error }));
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
    socket.once('connect', () => this.tell({ type: 'DIAL_SUCCEEDED', connectID: this.connectID.toString() }));
    socket.on('error', (err: NodeNetError) => {
      if (this.flow) this.tell({ type: 'FAR_END_CLOSED', reason: `endpoint error: ${err.message}` });
      else this.tell({ type: 'DIAL_FAILED', error: goDialError(this.address, err) });
    });
  }

  private open(): void {
    const socket = this.socket!;
    this.openConnection();
    socket.on('data', (chunk: Buffer) => this.sendOnStream(chunk));
    socket.on('close', () => this.tell({ type: 'FAR_END_CLOSED', reason: 'endpoint closed' }));
    socket.resume();
  }

  // ------------------------------------------------------------------- the machine's connection effects
  // Let queued bytes reach the endpoint, then close: the frontend's last write must arrive.
  requestFarClose(): void {
    const socket = this.socket!;
    socket.end(() => socket.destroy());
  }

  notifyNearClosed(): void {
    this.link.send(packets.closeResponse(this.connectID));
  }

  abortBoth(): void {
    this.socket!.destroy();
  }

  evict(): void {
    const socket = this.socket!;
    this.deps.log.warn('closing an endpoint connection that stopped reading: its buffer overflowed', {
      connectionID: this.connectID,
      destination: this.address,
      bufferedBytes: socket.writableLength,
    });
    socket.destroy();
    this.link.send(packets.closeResponse(this.connectID, 'buffer overflow: the endpoint stopped reading'));
  }

  pauseSource(): void {
    this.socket!.pause();
  }

  resumeSource(): void {
    if (!this.done) this.socket!.resume();
  }

  protected connectionOpened(): void {
    this.deps.metrics.endpointConnectionOpened();
  }

  protected connectionClosed({ closedBy, reason }: ConnectionContext): void {
    const { deps } = this;
    deps.metrics.endpointConnectionClosed(
      closedBy === 'near' ? 'server_close' : closedBy === 'lost' ? 'agent_shutdown' : 'endpoint_close',
    );
    deps.events.endpointConnClosed({
      random: this.random,
      destination: this.address,
      serverId: deps.serverId,
      connectID: this.connectID,
      bytesToEndpoint: this.bytesReceived,
      bytesFromEndpoint: this.bytesSent,
      durationMs: this.openFor(),
      closedBy: closedBy === 'far' || closedBy === 'evicted' ? 'endpoint' : 'server',
      reason: reason ?? 'unknown',
    });
    this.socket!.destroy();
  }

  // ------------------------------------------------------------------- from the server
  onServerData(data: Buffer): void {
    const socket = this.socket;
    if (!socket) return;
    this.receiveFromStream(data, (bytes, taken) => socket.write(bytes, taken));
  }

  onCloseRequest(): void {
    this.tell({ type: 'CLOSE_REQUESTED', reason: 'server sent CLOSE_REQ' });
  }
}
