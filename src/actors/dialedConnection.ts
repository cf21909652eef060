/**
 * One dial and the connection it becomes, as both sides carry it over a packet stream: first a `dial`
 * actor, then, once the dial is established, a `connection` actor with its back-pressure (ConnectionFlow)
 * between a local byte source/sink and the stream. The server's ProxiedConnection (frontend <-> agent
 * stream) and the agent's EndpointConnection (server stream <-> endpoint socket) differ only in the
 * effects they give the machines and in where their bytes come from and go; that is all they define.
 */
import * as machines from './machines';
import type { ConnectionArgs, DialArgs } from './machines';
import type { Actor, AnyActorLogic } from 'xstate';
import type { ConnectionContext } from '../machines/connection.machine';
import type { connectionMachine } from '../machines/connection.machine';
import type { dialMachine } from '../machines/dial.machine';
import { packets } from '../protocol/packet';
import type { ActorDescriber, ActorFacts, ActorHost, ActorKind, ActorOwner } from './actorHost';
import { ConnectionFlow, type FlowPort } from './flow/connectionFlow';
import type { CarriedConnection, Carrier } from './connectionTable';
import type { DialFailure } from './dialOutcomes';

export interface DialedConnectionDeps {
  host: ActorHost;
  now: () => number;
}

/**
 * The instance is its own port for both machines and for its flow: the effects are methods, so an open
 * connection holds no closure per effect (fifteen of them, with their contexts, were about 1 KiB of each
 * connection's heap). Each side implements what differs; holding the stream and the flow's signals to the
 * connection machine are the same on both sides and live here.
 */
export abstract class DialedConnection implements CarriedConnection, FlowPort, ActorOwner, ActorDescriber {
  /** Payload bytes sent on the stream, and received from it, for this connection. */
  protected bytesSent = 0;
  protected bytesReceived = 0;
  /** Back-pressure of the established connection. */
  flow: ConnectionFlow | null = null;
  protected dial: Actor<typeof dialMachine> | null = null;
  protected conn: Actor<typeof connectionMachine> | null = null;
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

  // The dial machine's effects (see dial.machine.ts), each side's own.
  abstract startDial(args: DialArgs): void;
  abstract reportEstablished(args: DialArgs): void;
  reportRefused({ context }: DialArgs): void {
    this.dialFailed('refused', context.error);
  }
  reportTimedOut({ context }: DialArgs): void {
    this.dialFailed('timedOut', context.error);
  }
  reportPeerLost({ context }: DialArgs): void {
    this.dialFailed('peerLost', context.error);
  }
  /** The three ways a dial fails end alike on each side: counted, recorded, the requester told. */
  protected abstract dialFailed(outcome: DialFailure, recorded: string | null): void;
  abstract reportCancelled(args: DialArgs): void;
  abstract abandonDial(args: DialArgs): void;

  // The connection machine's effects (see connection.machine.ts) that differ per side.
  abstract requestFarClose(args: ConnectionArgs): void;
  abstract notifyNearClosed(args: ConnectionArgs): void;
  abstract abortBoth(args: ConnectionArgs): void;
  abstract evict(args: ConnectionArgs): void;

  /** The local end of the connection's bytes, which feeds the stream: paused under back-pressure. */
  abstract pauseSource(): void;
  abstract resumeSource(): void;

  /** The dial has an outcome, whichever (the server counts its pending dials down here). */
  protected dialEnded(): void {}

  /** The connection actor has started: record the fact. */
  protected abstract connectionOpened(): void;

  /** The connection has ended: record how, before it leaves the table. */
  protected abstract connectionClosed(context: ConnectionContext): void;

  /** What an inspector shows for this connection's dial and connection actors. */
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

  /**
   * Starts the dial actor. When it ends with any outcome but `established`, this connection is over;
   * `dialEnded` runs first.
   */
  protected runDial(kind: ActorKind, timeoutMs: number): void {
    this.dial = this.base.host.start(kind, machines.dial.machine, {
      bind: (actor) => machines.dial.bind(actor, this),
      input: { random: this.random.toString(), address: this.address, timeoutMs },
      describer: this,
      owner: this,
    });
  }

  /**
   * Starts the connection actor for the established dial and its back-pressure, after `connectionOpened`
   * has recorded the fact.
   */
  protected openConnection(kind: ActorKind): void {
    this.conn = this.base.host.start(kind, machines.connection.machine, {
      bind: (actor) => machines.connection.bind(actor, this),
      input: { connectID: this.connectID!.toString() },
      describer: this,
      owner: this,
    });
    this.openedAt = this.base.now();
    this.connectionOpened();
    this.carrier.table.established(this);
    this.flow = new ConnectionFlow(this.carrier.credits, this);
  }

  /** The dial or the connection actor has reached its final state. */
  actorDone(actor: Actor<AnyActorLogic>): void {
    const dial = this.dial;
    if (dial && actor === dial) {
      this.dialEnded();
      this.dial = null;
      if (dial.getSnapshot().context.outcome !== 'established') this.finish();
    } else if (actor === this.conn) {
      this.connectionClosed(this.conn.getSnapshot().context);
      this.finish();
    }
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
    this.conn?.send({ type: 'OVERFLOWED' });
  }

  drained(): void {
    this.conn?.send({ type: 'DRAINED' });
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
    flow.received(n);
    write(data, () => flow.taken(n));
  }

  /** The requester gave up on the dial (DIAL_CLS). */
  cancelDial(): void {
    this.dial?.send({ type: 'CANCEL' });
  }

  streamLost(reason: string): void {
    this.dial?.send({ type: 'PEER_LOST', reason });
    this.conn?.send({ type: 'TUNNEL_LOST', reason });
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.carrier.table.forget(this);
  }
}
