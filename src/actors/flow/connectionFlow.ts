/**
 * Back-pressure of one connection, as an object of its own: how much it may still send (credits from the
 * peer), what it owes the peer (credits for bytes its sink consumed), why its local source is paused, and
 * whether its sink has fallen so far behind that it overflows. It never looks at packets or sockets; the
 * owner reports bytes and the flow answers through `FlowPort`.
 */
import {
  CREDIT_BATCH_BYTES,
  DRAINED_BYTES,
  INITIAL_WINDOW_BYTES,
  MAX_WINDOW_BYTES,
  OVERFLOW_BYTES,
} from '../../protocol/flowControl';

/** What the flow asks of its connection. */
export interface FlowPort {
  /** Send CREDIT{bytes} to the peer (only called when the extension was negotiated). */
  grantCredit(bytes: number): void;
  /** Stop / restart reading the local source that feeds this connection's outbound DATA. */
  pauseSource(): void;
  resumeSource(): void;
  /** The bytes held for the sink crossed the overflow mark / fell back to the drained mark. */
  overflowed(): void;
  drained(): void;
}

/** Reasons to hold the source: no credit left, or the shared stream to the peer is full. */
export type HoldReason = 'credit' | 'tunnel';

/**
 * One bit per hold reason: every established connection keeps its holds for its whole life, and an empty
 * Set costs it about 130 bytes of heap where a number costs nothing.
 */
const HOLD_BIT: Record<HoldReason, number> = { credit: 1, tunnel: 2 };

export interface FlowSizes {
  /** The window both peers start from (the sender's, and the receiver's assumption of it). */
  window: number;
  /** The largest window a receiver grows it to (credits only). */
  maxWindow: number;
  creditBatch: number;
  overflow: number;
  drained: number;
}

export const DEFAULT_FLOW_SIZES: FlowSizes = {
  window: INITIAL_WINDOW_BYTES,
  maxWindow: MAX_WINDOW_BYTES,
  creditBatch: CREDIT_BATCH_BYTES,
  overflow: OVERFLOW_BYTES,
  drained: DRAINED_BYTES,
};

export class ConnectionFlow {
  /** Bytes we may still send; meaningful only with credits. */
  private sendable: number;
  /** Bytes our sink took that the peer has not been credited for yet. */
  private owed = 0;
  /** Bytes from the peer handed to the sink and not yet taken by it. */
  private held = 0;
  /** The reasons the source is held, as HOLD_BIT bits. */
  private holds = 0;
  private overflowing = false;
  /** The window this side grants the peer (credits only): grows while the sink keeps up. */
  private window: number;
  /** Bytes credited since the window last grew. */
  private creditedSinceGrowth = 0;

  constructor(
    /** Whether both peers agreed on the credit extension. */
    readonly credits: boolean,
    private readonly port: FlowPort,
    private readonly sizes: FlowSizes = DEFAULT_FLOW_SIZES,
  ) {
    this.sendable = sizes.window;
    this.window = sizes.window;
  }

  /** What this connection buffers: bytes from the peer its sink has not taken yet. */
  get bufferedBytes(): number {
    return this.held;
  }

  // --------------------------------------------------------------- outbound: local source -> peer
  /** We sent `n` payload bytes to the peer. */
  sent(n: number): void {
    if (!this.credits) return;
    this.sendable -= n;
    if (this.sendable <= 0) this.hold('credit');
  }

  /** The peer granted `n` more bytes. */
  credited(n: number): void {
    if (!this.credits) return;
    this.sendable += n;
    if (this.sendable > 0) this.release('credit');
  }

  hold(reason: HoldReason): void {
    if (this.holds === 0) this.port.pauseSource();
    this.holds |= HOLD_BIT[reason];
  }

  release(reason: HoldReason): void {
    const bit = HOLD_BIT[reason];
    if ((this.holds & bit) === 0) return;
    this.holds &= ~bit;
    if (this.holds === 0) this.port.resumeSource();
  }

  // --------------------------------------------------------------- inbound: peer -> local sink
  /** The peer's `n` bytes were handed to the sink. */
  received(n: number): void {
    this.held += n;
    if (!this.overflowing && this.held > this.sizes.overflow + this.window - this.sizes.window) {
      this.overflowing = true;
      this.port.overflowed();
    }
  }

  /** The sink took `n` of them (its write completed): they no longer count, and the peer may send more. */
  taken(n: number): void {
    this.held -= n;
    if (this.credits) {
      this.owed += n;
      if (this.owed >= this.sizes.creditBatch) {
        const grant = this.owed + this.growth(this.owed);
        this.owed = 0;
        this.port.grantCredit(grant);
      }
    }
    if (this.overflowing && this.held <= this.sizes.drained) {
      this.overflowing = false;
      this.port.drained();
    }
  }

  /**
   * How much to widen the window along with a credit of `returned` bytes: double it, up to the maximum,
   * once a whole window has gone through since it last grew while the sink holds no more than a batch.
   * Then what limits the stream is the credit round trip, not the sink; a sink that falls behind keeps
   * the window where it is, so a slow or stalled reader never pins more than it already could.
   */
  private growth(returned: number): number {
    this.creditedSinceGrowth += returned;
    if (
      this.window >= this.sizes.maxWindow ||
      this.creditedSinceGrowth < this.window ||
      this.held > this.sizes.creditBatch
    ) {
      return 0;
    }
    const grown = Math.min(this.window, this.sizes.maxWindow - this.window);
    this.window += grown;
    this.creditedSinceGrowth = 0;
    return grown;
  }
}
