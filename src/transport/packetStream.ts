/**
 * The one abstraction every transport is reduced to: a bidirectional stream of Packets with backpressure.
 * Actors only ever see this interface, so gRPC, HTTP-CONNECT and test doubles are interchangeable.
 */
import type { MalformedPacketError } from '../protocol/errors';
import type { DecodedPacket, Packet } from '../protocol/packet';

/** Why the receiving side of a stream ended. */
export type StreamEnd =
  | { readonly kind: 'eof' }
  | { readonly kind: 'cancelled' }
  | { readonly kind: 'error'; readonly error: Error }
  | { readonly kind: 'local'; readonly reason: string };

export interface PacketStreamHandlers {
  /** A packet; UNKNOWN ones must be ignored (with a bounded log), never end the stream. */
  packet(packet: DecodedPacket): void;
  /** Bytes that were not a Packet arrived; the owner decides (normally: log and close this stream). */
  malformed(error: MalformedPacketError): void;
  /** The stream can take more after `send` returned false. */
  drain(): void;
  /** Called exactly once, when the peer will send nothing more. */
  end(end: StreamEnd): void;
}

export interface PacketStream {
  /** A short description of the peer for logs (address, or agent id once known). */
  readonly peer: string;
  /** Starts delivering incoming packets to `handlers`. Call once. */
  attach(handlers: PacketStreamHandlers): void;
  /**
   * Sends a packet; false means the transport is full and the caller should wait for `drain`.
   * `onWritten` runs once the transport has taken the packet off its queue.
   */
  send(packet: Packet, onWritten?: () => void): boolean;
  /** Stops / restarts reading from the peer (propagates through HTTP/2 or TCP flow control). */
  pauseReceiving(): void;
  resumeReceiving(): void;
  /** Finishes our side after queued packets are sent. Safe to call more than once. */
  close(): void;
  /** Tears the stream down now, telling the peer why when the transport can. Safe to call more than once. */
  abort(reason: string): void;
  readonly closed: boolean;
}
