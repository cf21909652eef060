/**
 * One dial and the connection it becomes, as both sides carry it over a packet stream: one `connection`
 * actor from the dial's request to the connection's end, and, once the dial is established, its
 * back-pressure (ConnectionFlow) between a local byte source/sink and the stream. The server's
 * ProxiedConnection (frontend <-> agent stream) and the agent's EndpointConnection (server stream <->
 * endpoint socket) differ only in the effects they give the machine and in where their bytes come from and
 * go; that is all they define.
 */
import type { ConnectionArgs } from './machines';
import type { ConnectionContext, ConnectionEvent } from '../machines/connection.machine';
import { packets } from '../protocol/packet';
import type {
  ActorDescriber,
  ActorFacts,
  ActorHost,
  ActorOwner,
  ConnectionActor,
  HostedActor,
} from './actorHost';
import { ConnectionFlow, type FlowPort } from './flow/connectionFlow';
import type { CarriedConnection, Carrier } from './connectionTable';
import type { DialFailure } from './dialOutcomes';
import { dataMoved, transferEnded } from '../transferTrim';

export interface DialedConnectionDeps {
  host: ActorHost;
  now: () => number;
}

/**
 * The instance is its own port for its machine and for its flow: the effects are methods, so an open
 * connection holds no closure per effect (fifteen of them, with their contexts, were about 1 KiB of each
 * connection's heap). Each side implements what differs; holding the stream and the flow's signals to the
 * connection machine are the same on both sides and live here.
 */
export abstract class DialedConnection implements CarriedConnection, FlowPort, ActorOwner, ActorDescriber {
  /** Payload bytes sent on the stream, and received from it, for this connection. */
  protected bytesSent = 0;
  protected bytesReceived = 0;
  /** Back-pressure of the established connection: set once the dial is established. */
  flow: ConnectionFlow | null = null;
  protected actor: ConnectionActor | null = null;
  /** The actor has reached its final state (or never started): nothing more is sent to it. */
  protected done = false;
  protected readonly startedAt: number;
  protected openedAt = 0;

  abstract readonly connectID: bigint | null;

  protected constructor(
    readonly random: bigint,
    readonly address: string,
    protected readonly carrier: Carrier<DialedConnection>,
    private readonly base: DialedConnectionDeps,
    /**
     * Where the connection machine's "far" side is: the stream (server: the agent carries out the
     * connection) or the local end (agent: the endpoint socket). Bytes out are bytes toward it.
     */
    private readonly farEnd: 'stream' | 'local',
  ) {
    this.startedAt = base.now();
  }

  /** Who this connection belongs to, for an inspector: `{ agent }` on the server, `{ server }` on the agent. */
  protected abstract whose(): ActorFacts;

  // The machine's dial effects (see connection.machine.ts), each side's own.
  abstract startDial(args: ConnectionArgs): void;
  /** The dial has an outcome, whichever (the server counts its pending dials down here). */
  dialSettled(): void {}
  abstract reportEstablished(args: ConnectionArgs): void;
  reportRefused({ context }: ConnectionArgs): void {
    this.dialFailed('refused', context.error);
  }
  reportTimedOut({ context }: ConnectionArgs): void {
    this.dialFailed('timedOut', context.error);
  }
  reportPeerLost({ context }: ConnectionArgs): void {
    this.dialFailed('peerLost', context.error);
  }
  /** The three ways a dial fails end alike on each side: counted, recorded, the requester told. */
  protected abstract dialFailed(outcome: DialFailure, recorded: string | null): void;
  abstract reportCancelled(args: ConnectionArgs): void;
  abstract abandonDial(args: ConnectionArgs): void;

  // The machine's effects on an established connection that differ per side.
  abstract requestFarClose(args: ConnectionArgs): void;
  abstract notifyNearClosed(args: ConnectionArgs): void;
  abstract abortBoth(args: ConnectionArgs): void;
  abstract evict(args: ConnectionArgs): void;

  /** The local end of the connection's bytes, which feeds the stream: paused under back-pressure. */
  abstract pauseSource(): void;
  abstract resumeSource(): void;

  /** The dial is established and the connection open: record the fact. */
  protected abstract connectionOpened(): void;

  /** The connection has ended: record how, before it leaves the table. */
  protected abstract connectionClosed(context: ConnectionContext): void;

  /** What an inspector shows for this connection's actor. */
  actorFacts(): ActorFacts {
    const toStream = this.farEnd === 'stream';
    return {
      ...this.whose(),
      destination: this.address,
      owner: this.carrier.actorId,
      bytesOut: toStream ? this.bytesSent : this.bytesReceived,
      bytesIn: toStream ? this.bytesReceived : this.bytesSent,
    };
  }

  /** Milliseconds since the dial was requested. */
  protected sinceStart(): number {
    return this.base.now() - this.startedAt;
  }

  /** Starts the connection's actor, whose first act is the dial (`startDial`). */
  protected run(kind: 'connection' | 'endpointConnection', timeoutMs: number): void {
    this.actor = this.base.host.startConnection(kind, this, timeoutMs);
  }

  /** Sends the machine an event, unless it has already ended. */
  protected tell(event: ConnectionEvent): void {
    if (!this.done) this.actor?.send(event);
  }

  /**
   * The dial is established (from each side's `reportEstablished`): records the fact, joins the carrier's
   * table of open connections and starts the back-pressure.
   */
  protected openConnection(): void {
    this.openedAt = this.base.now();
    this.connectionOpened();
    this.carrier.table.established(this);
    this.flow = new ConnectionFlow(this.carrier.credits, this);
  }

  /** The actor has reached its final state: a connection that was open records how it closed. */
  actorDone(actor: HostedActor): void {
    if (actor !== this.actor) return;
    const context = this.actor.getSnapshot().context;
    if (context.outcome === 'established') {
      this.connectionClosed(context);
      transferEnded(this.bytesSent + this.bytesReceived);
    }
    this.finish();
  }

  // Effects both sides share: the connection machine's hold on the stream, and the flow's signals.
  holdTunnel(): void {
    this.carrier.table.hold(this);
  }

  releaseTunnel(): void {
    this.carrier.table.release(this);
  }

  grantCredit(bytes: number): void {
    this.carrier.send(packets.credit(this.connectID!, bytes));
  }

  overflowed(): void {
    this.tell({ type: 'OVERFLOWED' });
  }

  drained(): void {
    this.tell({ type: 'DRAINED' });
  }

  /** Milliseconds the connection has been open. */
  protected openFor(): number {
    return this.base.now() - this.openedAt;
  }

  /** Bytes from the local source onto the stream; a full stream pauses the source until it drains. */
  protected sendOnStream(data: Buffer): void {
    const flow = this.flow;
    if (this.done || !flow) return;
    this.bytesSent += data.length;
    dataMoved(data.length);
    if (!this.carrier.send(packets.data(this.connectID!, data))) {
      flow.hold('tunnel');
      this.carrier.table.waitForDrain(this);
    }
    flow.sent(data.length);
  }

  /** Bytes from the stream to the local sink; `write` calls back once the sink has taken them. */
  protected receiveFromStream(data: Buffer, write: (data: Buffer, taken: () => void) => void): void {
    const flow = this.flow;
    if (this.done || !flow) return;
    const n = data.length;
    this.bytesReceived += n;
    dataMoved(n);
    flow.received(n);
    write(data, () => flow.taken(n));
  }

  /** The requester gave up on the dial (DIAL_CLS); an established connection ignores it. */
  cancelDial(): void {
    this.tell({ type: 'CANCEL' });
  }

  /**
   * The stream that carries it is gone: a pending dial has lost its peer, an open connection is torn
   * down.
   */
  streamLost(reason: string): void {
    this.tell({ type: 'TUNNEL_LOST', reason });
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.carrier.table.forget(this);
  }
}
