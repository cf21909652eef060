/**
 * Two connected PacketStream ends in memory, for unit tests of the actors that own streams. Every packet
 * goes through the real codec (so a test sees exactly what a peer would decode), and the ends keep the
 * contract of the gRPC stream: `send` returns false once more than `highWaterMark` packets wait for the
 * peer and `drain` fires when the queue has been taken, a paused end receives nothing until resumed,
 * `close` ends the peer with `eof` after what was queued, `abort` ends this end at once as `local` and
 * the peer as `error`, and each end's `end` handler runs exactly once.
 */
import { encodePacket, decodePacket } from '../../src/protocol/codec';
import { MalformedPacketError } from '../../src/protocol/errors';
import type { DecodedPacket, Packet } from '../../src/protocol/packet';
import type { PacketStream, PacketStreamHandlers, StreamEnd } from '../../src/transport/packetStream';

/** gRPC's object-mode write queue is 16 messages deep before `write()` returns false. */
export const DEFAULT_HIGH_WATER_MARK = 16;

interface Queued {
  readonly bytes: Buffer;
  readonly onWritten: (() => void) | undefined;
}

export class MemoryPacketStream implements PacketStream {
  private handlers: PacketStreamHandlers | undefined;
  private peerEnd: MemoryPacketStream | undefined;
  /** Packets sent to this end that its owner has not received yet. */
  private readonly inbox: Queued[] = [];
  private paused = false;
  private delivering = false;
  private ended = false;
  private endedWith: StreamEnd | null = null;
  private finished = false;
  /** The peer closed its side: `eof` once the inbox is empty. */
  private eofPending = false;
  /** This end's sends were refused by the high-water mark: fire `drain` once the peer took them. */
  private drainOwed = false;
  /** Every packet this end sent, decoded, in order (what the peer's owner was given or will be). */
  readonly sent: DecodedPacket[] = [];

  constructor(
    readonly peer: string,
    private readonly highWaterMark: number,
  ) {}

  static pair(
    names: readonly [string, string] = ['a', 'b'],
    highWaterMark = DEFAULT_HIGH_WATER_MARK,
  ): [MemoryPacketStream, MemoryPacketStream] {
    const a = new MemoryPacketStream(names[1], highWaterMark);
    const b = new MemoryPacketStream(names[0], highWaterMark);
    a.peerEnd = b;
    b.peerEnd = a;
    return [a, b];
  }

  get closed(): boolean {
    return this.finished;
  }

  /** Packets waiting for this end's owner (paused, or not delivered yet). */
  get queued(): number {
    return this.inbox.length;
  }

  /** Packets this end sent that the peer's owner has not received yet. */
  get unreceived(): number {
    return this.peerEnd!.inbox.length;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Whether the other end's owner has paused receiving (what back-pressure on this end looks like). */
  get peerPaused(): boolean {
    return this.peerEnd!.paused;
  }

  attach(handlers: PacketStreamHandlers): void {
    if (this.handlers) throw new Error('MemoryPacketStream.attach called twice');
    this.handlers = handlers;
    if (this.endedWith) handlers.end(this.endedWith);
    else this.schedule();
  }

  send(packet: Packet, onWritten?: () => void): boolean {
    const peer = this.peerEnd!;
    if (this.finished || peer.ended) {
      onWritten?.();
      return true;
    }
    const bytes = encodePacket(packet);
    this.sent.push(decodePacket(bytes));
    peer.inbox.push({ bytes, onWritten });
    peer.schedule();
    if (peer.inbox.length > this.highWaterMark) {
      this.drainOwed = true;
      return false;
    }
    return true;
  }

  /** Bytes that are not a Packet, as a broken or hostile peer would send them. */
  sendRaw(bytes: Buffer): void {
    const peer = this.peerEnd!;
    peer.inbox.push({ bytes, onWritten: undefined });
    peer.schedule();
  }

  pauseReceiving(): void {
    this.paused = true;
  }

  resumeReceiving(): void {
    this.paused = false;
    this.schedule();
  }

  close(): void {
    if (this.finished) return;
    this.finished = true;
    const peer = this.peerEnd!;
    peer.eofPending = true;
    peer.schedule();
  }

  abort(reason: string): void {
    const wasFinished = this.finished;
    this.finished = true;
    this.inbox.length = 0;
    this.endOnce({ kind: 'local', reason });
    if (!wasFinished) this.peerEnd!.fail({ kind: 'error', error: new Error(reason) });
  }

  /** The transport itself failed (connection reset, RST_STREAM): both ends hear `end` at once. */
  breakWith(end: StreamEnd): void {
    this.fail(end);
    this.peerEnd!.fail(end);
  }

  private fail(end: StreamEnd): void {
    this.finished = true;
    this.inbox.length = 0;
    this.endOnce(end);
  }

  private schedule(): void {
    if (this.delivering || !this.handlers) return;
    this.delivering = true;
    setImmediate(() => {
      this.delivering = false;
      this.deliver();
    });
  }

  private deliver(): void {
    const handlers = this.handlers!;
    while (!this.paused && !this.ended && this.inbox.length > 0) {
      const { bytes, onWritten } = this.inbox.shift()!;
      onWritten?.();
      let packet: DecodedPacket;
      try {
        packet = decodePacket(bytes);
      } catch (err) {
        // As the gRPC deserializer does: whatever the codec throws reaches the owner as a value.
        handlers.malformed(
          err instanceof MalformedPacketError
            ? err
            : new MalformedPacketError('truncated', err instanceof Error ? err.message : String(err)),
        );
        continue;
      }
      handlers.packet(packet);
    }
    const peer = this.peerEnd!;
    if (peer.drainOwed && this.inbox.length <= peer.highWaterMark) {
      peer.drainOwed = false;
      if (!peer.ended) peer.handlers?.drain();
    }
    if (this.eofPending && this.inbox.length === 0) this.endOnce({ kind: 'eof' });
  }

  private endOnce(end: StreamEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.endedWith = end;
    this.handlers?.end(end);
  }
}

/** Attaches to a stream end and records what arrives, for assertions. */
export class PacketLog {
  readonly packets: DecodedPacket[] = [];
  readonly malformed: MalformedPacketError[] = [];
  end: StreamEnd | null = null;
  drains = 0;

  constructor(readonly stream: MemoryPacketStream) {
    stream.attach({
      packet: (p) => this.packets.push(p),
      malformed: (err) => this.malformed.push(err),
      drain: () => this.drains++,
      end: (end) => (this.end = end),
    });
  }

  ofType<T extends DecodedPacket['type']>(type: T): Extract<DecodedPacket, { type: T }>[] {
    return this.packets.filter((p): p is Extract<DecodedPacket, { type: T }> => p.type === type);
  }
}
