/**
 * The dials and connections one packet stream carries, the same on both sides: the server's tunnel to an
 * agent and the agent's link to a server each keep one. Pending dials are found by `random` (DIAL_RSP,
 * DIAL_CLS), established connections by connectID (DATA, CLOSE_REQ/RSP, CREDIT). Connections whose local
 * source waits for the shared stream to drain, and connections that hold the stream paused (overflow
 * without credits), are kept here too, so that the stream is resumed exactly when the last hold ends and
 * nothing is left waiting once the stream is gone.
 */
import type { Packet } from '../protocol/packet';
import type { ConnectionFlow } from './flow/connectionFlow';

/** What the table needs of each dial or connection it carries. */
export interface CarriedConnection {
  readonly random: bigint;
  /** null until the dial is established (server side); the agent assigns it with the dial. */
  readonly connectID: bigint | null;
  /** Back-pressure of the established connection; null while dialing. */
  readonly flow: ConnectionFlow | null;
  /** The stream is gone: end the dial or connection now. */
  streamLost(reason: string): void;
}

/** What a dial or connection needs from the stream that carries it. */
export interface Carrier<C extends CarriedConnection> {
  /** The owning actor's id (the owner an inspector shows). */
  readonly actorId: string;
  /** Whether the peer agreed on the credit extension on this stream. */
  readonly credits: boolean;
  /** Sends on the stream; false means it is full (wait for its drain). */
  send(packet: Packet): boolean;
  readonly table: ConnectionTable<C>;
}

/** Pausing and resuming the stream's receiving side (the agent's stream changes with each reconnect). */
export interface ReceiveControl {
  pauseReceiving(): void;
  resumeReceiving(): void;
}

/** The table's owner: the stream it pauses, and who hears of connections that leave. */
export interface TableOwner {
  /** The stream whose receiving side the table pauses, if there is one now. */
  receiveControl(): ReceiveControl | null;
  /** An established connection left the table (the server remembers it to drop stray DATA). */
  connectionForgotten?(connectID: bigint): void;
}

const NONE: readonly never[] = [];

/**
 * Every collection is made when it is first needed: a server holds a table per agent, and most agents of
 * a fleet carry no dial at a given moment (four empty collections were about 670 bytes per agent).
 */
export class ConnectionTable<C extends CarriedConnection> {
  /**
   * Pending dials by random. Normally one each; the agent may hold several under one random, because the
   * reference agent keys nothing by random and dials every DIAL_REQ it gets (see ServerLink).
   */
  private dials: Map<bigint, C[]> | undefined;
  private dialCount = 0;
  private open: Map<bigint, C> | undefined;
  /** Connections whose local source is paused until the stream drains. */
  private waitingForDrain: Set<C> | undefined;
  /** Overflowing connections holding the stream's receiving side paused (only without credits). */
  private holding: Set<C> | undefined;

  constructor(private readonly owner: TableOwner) {}

  get pendingDialCount(): number {
    return this.dialCount;
  }

  get connectionCount(): number {
    return this.open?.size ?? 0;
  }

  addDial(conn: C): void {
    const dials = (this.dials ??= new Map<bigint, C[]>());
    const list = dials.get(conn.random);
    if (list) list.push(conn);
    else dials.set(conn.random, [conn]);
    this.dialCount++;
  }

  /** The pending dials under `random`, oldest first. */
  dialsFor(random: bigint): readonly C[] {
    return this.dials?.get(random) ?? NONE;
  }

  connection(connectID: bigint): C | undefined {
    return this.open?.get(connectID);
  }

  /** The dial became a connection: from now on it is found by its connectID. */
  established(conn: C): void {
    this.removeDial(conn);
    (this.open ??= new Map<bigint, C>()).set(conn.connectID!, conn);
  }

  /** The dial or connection has ended: it leaves every set it is in, and releases its hold. */
  forget(conn: C): void {
    this.removeDial(conn);
    const id = conn.connectID;
    if (id !== null && this.open?.get(id) === conn) {
      this.open.delete(id);
      this.owner.connectionForgotten?.(id);
    }
    this.waitingForDrain?.delete(conn);
    this.release(conn);
  }

  /** The stream is full: `conn`'s 'tunnel' hold is released when it drains. */
  waitForDrain(conn: C): void {
    (this.waitingForDrain ??= new Set<C>()).add(conn);
  }

  streamDrained(): void {
    const waiting = this.waitingForDrain;
    if (waiting === undefined || waiting.size === 0) return;
    this.waitingForDrain = undefined;
    for (const conn of waiting) conn.flow?.release('tunnel');
  }

  /** Stops reading the stream on `conn`'s behalf; the first hold pauses it. */
  hold(conn: C): void {
    const holding = (this.holding ??= new Set<C>());
    if (holding.size === 0) this.owner.receiveControl()?.pauseReceiving();
    holding.add(conn);
  }

  /** Ends `conn`'s hold; the last one resumes the stream. */
  release(conn: C): void {
    const holding = this.holding;
    if (holding !== undefined && holding.delete(conn) && holding.size === 0) {
      this.holding = undefined;
      this.owner.receiveControl()?.resumeReceiving();
    }
  }

  /** CREDIT from the peer for one connection. */
  credited(connectID: bigint, bytes: bigint): void {
    this.open?.get(connectID)?.flow?.credited(Number(bytes));
  }

  /** Bytes the connections hold for local sinks that have not taken them yet. */
  bufferedBytes(): number {
    let n = 0;
    if (this.open !== undefined) for (const conn of this.open.values()) n += conn.flow?.bufferedBytes ?? 0;
    return n;
  }

  /** The stream is gone: every pending dial and open connection ends with it, and the table is empty. */
  releaseAll(reason: string): void {
    const all: C[] = [];
    if (this.dials !== undefined) for (const list of this.dials.values()) all.push(...list);
    if (this.open !== undefined) all.push(...this.open.values());
    this.dials = undefined;
    this.dialCount = 0;
    this.open = undefined;
    this.waitingForDrain = undefined;
    this.holding = undefined;
    for (const conn of all) conn.streamLost(reason);
  }

  private removeDial(conn: C): void {
    const list = this.dials?.get(conn.random);
    const i = list ? list.indexOf(conn) : -1;
    if (i < 0) return;
    this.dialCount--;
    if (list!.length === 1) this.dials!.delete(conn.random);
    else list!.splice(i, 1);
  }
}
