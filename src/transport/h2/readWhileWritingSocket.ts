/**
 * A socket wrapper that lets an HTTP/2 session keep reading while its own output waits for the peer.
 *
 * Node's HTTP/2 session stops reading its socket while a write to it is in progress (a guard against peers
 * that send without reading, nodejs/node#29399). When both ends are Node (our server and our agent, or a
 * grpc-js frontend client) and both have more to send than the kernel's socket buffers hold (thousands of
 * streams starting at once on one connection, each with HEADERS, DIAL_RSP, DATA and trailers), both stop
 * reading at the same moment and neither write ever completes: every stream on the connection hangs with
 * windows to spare. Measured: 1,000 concurrent echo streams on one frontend channel hung with ~210 KB unread
 * in each direction of the Unix socket and several MiB of HTTP/2 window left on both sides.
 *
 * The session is handed this Duplex instead of the socket. A write completes as soon as the socket has taken
 * it into its own queue, so the session never sees a write "in progress" and goes on reading; what the peer
 * has not read waits in the socket's queue. That queue is bounded by OUTPUT_LIMIT_BYTES: past it, writes
 * complete only when the socket drains, which brings back Node's guard for a peer that truly stops reading.
 */
import { Duplex } from 'stream';
import type { Socket } from 'net';
import type { TLSSocket } from 'tls';

/**
 * Bytes of session output that may wait for a slow peer before the session is held back. HTTP/2 flow
 * control bounds the DATA part by the windows the peer grants (ours grant at most 16 MiB per connection);
 * the rest is frames without flow control (HEADERS and trailers, a few hundred bytes per stream), so 32 MiB
 * covers a full window plus tens of thousands of streams starting or ending at once.
 */
export const OUTPUT_LIMIT_BYTES = 32 * 1024 * 1024;

type AnySocket = Socket | TLSSocket;

export class ReadWhileWritingSocket extends Duplex {
  private waitingWrite: ((error?: Error | null) => void) | null = null;

  constructor(
    readonly socket: AnySocket,
    private readonly limit: number = OUTPUT_LIMIT_BYTES,
  ) {
    super({ allowHalfOpen: false });
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('drain', () => this.releaseWrite());
    socket.on('error', (err: Error) => this.destroy(err));
    socket.on('close', () => {
      // The write went nowhere, as any write to a closed socket; destroying says so once, not per write.
      this.releaseWrite();
      if (!this.destroyed) this.destroy();
    });
  }

  // What the HTTP/2 session and TLS code ask of their socket.
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily;
  }

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.socket.setKeepAlive(enable, initialDelay);
    return this;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk);
    this.completeOrWait(callback);
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    this.socket.cork();
    for (const { chunk } of chunks) this.socket.write(chunk);
    this.socket.uncork();
    this.completeOrWait(callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.releaseWrite();
    this.socket.destroy();
    callback(error);
  }

  private completeOrWait(callback: (error?: Error | null) => void): void {
    if (this.socket.writableLength <= this.limit) callback();
    else this.waitingWrite = callback;
  }

  private releaseWrite(): void {
    const callback = this.waitingWrite;
    this.waitingWrite = null;
    callback?.();
  }
}
