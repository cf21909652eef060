/**
 * One dial and the connection it becomes, as both sides carry it over a packet stream: first a `dial`
 * actor, then, once the dial is established, a `connection` actor with its back-pressure (ConnectionFlow)
 * between a local byte source/sink and the stream. The server's ProxiedConnection (frontend <-> agent
 * stream) and the agent's EndpointConnection (server stream <-> endpoint socket) differ only in the
 * effects they give the machines and in where their bytes come from and go; that is all they define.
 */
import * as machines from './machines';
import type { ConnectionPort, DialPort } from './machines';
import type { Actor } from 'xstate';
import type { ConnectionContext } from '../machines/connection.machine';
import { connectionMachine } from '../machines/connection.machine';
import { dialMachine } from '../machines/dial.machine';
import { packets } from '../protocol/packet';
import type { ActorFacts, ActorHost, ActorKind } from './actorHost';
import { ConnectionFlow } from './flow/connectionFlow';
import type { CarriedConnection, Carrier } from './connectionTable';

/** The connection machine's effects a side provides; holding the stream is the same on both sides. */
export type ConnectionEffects = Omit<ConnectionPort, 'holdTunnel' | 'releaseTunnel'>;

/** The local end of the connection's bytes: what feeds the stream (paused under back-pressure). */
export interface LocalSource {
  pause(): void;
  resume(): void;
}

export interface DialedConnectionDeps {
  host: ActorHost;
  now: () => number;
}

export abstract class DialedConnection implements CarriedConnection {
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

  /** What an inspector shows for this connection's dial and connection actors. */
  protected readonly facts = (): ActorFacts => {
    const toStream = this.farEnd === 'stream';
    return {
      ...this.whose(),
      destination: this.address,
      owner: this.carrier.actorId,
      bytesOut: toStream ? this.bytesSent : this.bytesReceived,
      bytesIn: toStream ? this.bytesReceived : this.bytesSent,
    };
  };

  /** Milliseconds since the dial was requested. */
  protected sinceStart(): number {
    return this.base.now() - this.startedAt;
  }

  /**
   * Starts the dial actor. When it ends with any outcome but `established`, this connection is over;
   * `ended` runs first (the server counts its pending dials down there).
   */
  protected startDial(kind: ActorKind, timeoutMs: number, port: DialPort, ended?: () => void): void {
    this.dial = this.base.host.start(kind, machines.dial.machine, {
      bind: (actor) => machines.dial.bind(actor, port),
      input: { random: this.random.toString(), address: this.address, timeoutMs },
      describe: this.facts,
      done: (dial) => {
        ended?.();
        this.dial = null;
        if (dial.getSnapshot().context.outcome !== 'established') this.finish();
      },
    });
  }

  /**
   * Starts the connection actor for the established dial and its back-pressure, after `opened` has
   * recorded the fact; `closed` records how it ended, before the connection leaves the table.
   */
  protected openConnection(
    kind: ActorKind,
    effects: ConnectionEffects,
    source: LocalSource,
    opened: () => void,
    closed: (context: ConnectionContext) => void,
  ): Actor<typeof connectionMachine> {
    const { carrier } = this;
    const connectID = this.connectID!;
    const port: ConnectionPort = {
      ...effects,
      holdTunnel: () => carrier.table.hold(this),
      releaseTunnel: () => carrier.table.release(this),
    };
    const conn = this.base.host.start(kind, machines.connection.machine, {
      bind: (actor) => machines.connection.bind(actor, port),
      input: { connectID: connectID.toString() },
      describe: this.facts,
      done: () => {
        closed(conn.getSnapshot().context);
        this.finish();
      },
    });
    this.conn = conn;
    this.openedAt = this.base.now();
    opened();
    carrier.table.established(this);
    this.flow = new ConnectionFlow(carrier.credits, {
      grantCredit: (n) => carrier.send(packets.credit(connectID, n)),
      pauseSource: () => source.pause(),
      resumeSource: () => source.resume(),
      overflowed: () => conn.send({ type: 'OVERFLOWED' }),
      drained: () => conn.send({ type: 'DRAINED' }),
    });
    return conn;
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
