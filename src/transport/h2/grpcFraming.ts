/**
 * gRPC length-prefixed messages on an HTTP/2 stream: a 1-byte compressed flag (always 0 here: we never
 * negotiate compression), a 4-byte big-endian length, the message. Writing puts the prefix in front of
 * the packet header in one small buffer, so a DATA packet is two buffers and its payload is not copied.
 * Reading reassembles messages across HTTP/2 DATA chunks: a message inside one chunk is a view of it.
 */
import { decodePacket } from '../../protocol/codec';
import { MalformedPacketError } from '../../protocol/errors';
import { encodePacketParts } from '../../protocol/packetParts';
import type { DecodedPacket, Packet } from '../../protocol/packet';
import { GrpcFrameError } from './errors';

/** The content-type our gRPC servers answer with: messages are protobuf. */
export const GRPC_CONTENT_TYPE = 'application/grpc+proto';
export const FRAME_PREFIX_BYTES = 5;
/** gRPC's default maximum received message size (grpc-go, grpc-js): larger ones are RESOURCE_EXHAUSTED. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;

/** A received message as a Packet, or what was wrong with it: a peer's bytes never throw. */
export function decodeMessage(bytes: Buffer): DecodedPacket | MalformedPacketError {
  try {
    return decodePacket(bytes);
  } catch (err) {
    if (err instanceof MalformedPacketError) return err;
    return new MalformedPacketError('truncated', err instanceof Error ? err.message : String(err));
  }
}

/** The buffers of one gRPC message carrying `packet`, prefix included. */
export function framePacket(packet: Packet): Buffer[] {
  const parts = encodePacketParts(packet, FRAME_PREFIX_BYTES);
  const first = parts[0]!;
  let length = first.length - FRAME_PREFIX_BYTES;
  for (let i = 1; i < parts.length; i++) length += parts[i]!.length;
  first[0] = 0;
  first.writeUInt32BE(length, 1);
  return parts;
}

/** A whole message as one buffer with its prefix (for callers that have bytes, not a Packet). */
export function frameBytes(message: Buffer): Buffer[] {
  const prefix = Buffer.allocUnsafe(FRAME_PREFIX_BYTES);
  prefix[0] = 0;
  prefix.writeUInt32BE(message.length, 1);
  return [prefix, message];
}

/**
 * Splits a byte stream into messages. `push` returns the messages completed by the chunk, or a
 * GrpcFrameError (after which the decoder must not be used: the stream is to be ended).
 */
export class MessageDecoder {
  /**
   * A prefix split across chunks is gathered here, made the first time one is: most calls never split
   * one, and a Buffer is 96 bytes of heap per call. From the shared pool, not an ArrayBuffer of its own.
   */
  private prefix: Buffer | undefined;
  private prefixFill = 0;
  /** The message being assembled across chunks, and how much of it is filled. */
  private partial: Buffer | undefined;
  private partialFill = 0;

  constructor(private readonly maxMessageBytes = DEFAULT_MAX_RECEIVE_MESSAGE_BYTES) {}

  /** True when bytes of an unfinished message are held (the stream must not end here). */
  get midMessage(): boolean {
    return this.prefixFill > 0 || this.partial !== undefined;
  }

  push(chunk: Buffer, out: Buffer[]): GrpcFrameError | undefined {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.partial !== undefined) {
        const take = Math.min(end - pos, this.partial.length - this.partialFill);
        chunk.copy(this.partial, this.partialFill, pos, pos + take);
        this.partialFill += take;
        pos += take;
        if (this.partialFill === this.partial.length) {
          out.push(this.partial);
          this.partial = undefined;
        }
        continue;
      }
      let length: number;
      if (this.prefixFill === 0 && end - pos >= FRAME_PREFIX_BYTES) {
        const error = this.check(chunk[pos]!, chunk.readUInt32BE(pos + 1));
        if (error) return error;
        length = chunk.readUInt32BE(pos + 1);
        pos += FRAME_PREFIX_BYTES;
      } else {
        const take = Math.min(end - pos, FRAME_PREFIX_BYTES - this.prefixFill);
        const prefix = (this.prefix ??= Buffer.allocUnsafe(FRAME_PREFIX_BYTES));
        chunk.copy(prefix, this.prefixFill, pos, pos + take);
        this.prefixFill += take;
        pos += take;
        if (this.prefixFill < FRAME_PREFIX_BYTES) break;
        this.prefixFill = 0;
        const error = this.check(prefix[0]!, prefix.readUInt32BE(1));
        if (error) return error;
        length = prefix.readUInt32BE(1);
      }
      if (end - pos >= length) {
        // The common case: the whole message is in this chunk, handed on as a view.
        out.push(chunk.subarray(pos, pos + length));
        pos += length;
      } else {
        this.partial = Buffer.allocUnsafe(length);
        this.partialFill = 0;
      }
    }
    return undefined;
  }

  private check(flag: number, length: number): GrpcFrameError | undefined {
    if (flag !== 0) {
      return new GrpcFrameError(
        'compressed',
        'compressed message received, but no compression was negotiated',
      );
    }
    if (length > this.maxMessageBytes) {
      return new GrpcFrameError(
        'too-large',
        `Received message larger than max (${length} vs. ${this.maxMessageBytes})`,
      );
    }
    return undefined;
  }
}
