/**
 * An established tunnel as a Node Duplex: what a `net.Socket` to the far endpoint would be. Bytes written
 * become DATA packets, incoming DATA becomes readable bytes, and backpressure crosses in both directions:
 * a full gRPC call holds back our write callbacks, a slow reader pauses the call (and HTTP/2 flow control
 * then pauses the server).
 *
 * Ending: `end()`/`close()` sends CLOSE_REQ and the readable side ends when CLOSE_RSP (or the stream's end)
 * arrives. A CLOSE_RSP we did not ask for is the endpoint closing: the readable side ends and, as TCP
 * half-close cannot cross the tunnel, so does the writable side. `destroy()` cancels the stream.
 */
import { Duplex } from 'stream';
import * as grpc from '@grpc/grpc-js';
import { packets, type Packet } from '../protocol/packet';
import { TunnelError } from './errors';
import type { ProxyCall } from './proxyCall';

/**
 * Largest DATA payload we send. Well under gRPC's default 4 MiB message limit, big enough to amortise the
 * per-message cost; a larger write is split.
 */
export const MAX_DATA_CHUNK = 64 * 1024;
/** Wait this long for CLOSE_RSP after CLOSE_REQ; the reference client's CloseTimeout. */
export const CLOSE_TIMEOUT_MS = 10_000;
/** Bytes buffered on each side before backpressure applies; a few DATA packets' worth. */
const HIGH_WATER_MARK = 256 * 1024;

type State =
  /** Both directions open. */
  | 'open'
  /** CLOSE_REQ sent; incoming DATA still arrives until CLOSE_RSP. */
  | 'closing'
  /** CLOSE_RSP received, the stream ended, or we gave up waiting: nothing more is sent or received. */
  | 'closed';

export class TunnelConnection extends Duplex {
  /** The error text of the CLOSE_RSP that ended this connection, when the server gave one. */
  remoteCloseError: string | undefined;
  private state: State = 'open';
  private pendingWrite: ((error?: Error | null) => void) | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly call: ProxyCall,
    readonly connectID: bigint,
    /** The `host:port` this tunnel reaches. */
    readonly address: string,
  ) {
    super({
      allowHalfOpen: false,
      readableHighWaterMark: HIGH_WATER_MARK,
      writableHighWaterMark: HIGH_WATER_MARK,
    });
    call.setHandlers({
      packet: (p) => this.onPacket(p),
      malformed: (err) =>
        this.destroy(
          new TunnelError('protocol', connectID, `malformed packet from the proxy: ${err.message}`, {
            cause: err,
          }),
        ),
      drain: () => this.releasePendingWrite(),
      end: (status) => this.onStreamEnd(status),
    });
  }

  /**
   * Sends CLOSE_REQ (once), discards unread input and resolves when the connection is fully closed and its
   * gRPC channel released. Never rejects; a failure shows as 'error' as usual.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      this.once('close', () => resolve());
      this.resume();
      this.end();
    });
    return this.closing;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.state !== 'open') {
      // The endpoint is gone (CLOSE_RSP); like a socket whose peer closed, the bytes go nowhere. The
      // readable 'end' is how the caller learns it.
      callback();
      return;
    }
    let ok = true;
    for (let offset = 0; offset < chunk.length; offset += MAX_DATA_CHUNK) {
      ok = this.call.send(packets.data(this.connectID, chunk.subarray(offset, offset + MAX_DATA_CHUNK)));
    }
    if (ok) callback();
    else this.pendingWrite = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.state === 'open') {
      this.state = 'closing';
      this.call.send(packets.closeRequest(this.connectID));
      this.closeTimer = setTimeout(() => this.finishReading(), CLOSE_TIMEOUT_MS);
    }
    callback();
  }

  override _read(): void {
    this.call.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.closeTimer);
    const graceful = this.state === 'closed' && !error;
    this.state = 'closed';
    this.releasePendingWrite();
    // A graceful end already half-closed the call; anything else is abandoned the reference's way.
    if (!graceful) this.call.cancel();
    void this.call.done.then(() => callback(error));
  }

  private onPacket(p: Packet): void {
    if (this.destroyed) return;
    switch (p.type) {
      case 'DATA':
        if (p.connectID !== this.connectID || this.state === 'closed') return;
        if (p.data.length > 0 && !this.push(p.data)) this.call.pause();
        return;
      case 'CLOSE_RSP':
        if (p.connectID !== this.connectID) return;
        this.remoteCloseError = p.error || undefined;
        this.finishReading();
        return;
      case 'DIAL_REQ':
      case 'DIAL_RSP':
      case 'CLOSE_REQ':
      case 'DIAL_CLS':
      case 'DRAIN':
      case 'CREDIT':
        // Not meaningful to a frontend once the dial is done; the reference client ignores them too.
        return;
      default: {
        const _exhaustive: never = p;
        return _exhaustive;
      }
    }
  }

  private onStreamEnd(status: grpc.StatusObject): void {
    if (this.destroyed) return;
    if (this.state === 'open' && status.code !== grpc.status.OK) {
      this.destroy(
        new TunnelError('stream-error', this.connectID, `proxy stream failed: ${status.details}`, {
          cause: status,
        }),
      );
      return;
    }
    // After our CLOSE_REQ any end is the close we asked for; while open, an OK end is the server's EOF.
    this.finishReading();
  }

  /** Nothing more will be read: end the readable side and let the server finish the stream. */
  private finishReading(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.closeTimer);
    this.push(null);
    this.call.endGracefully();
    this.releasePendingWrite();
  }

  private releasePendingWrite(): void {
    const callback = this.pendingWrite;
    this.pendingWrite = undefined;
    callback?.();
  }
}
