/**
 * What the floor server and agent share: gRPC framing of Konnectivity packets on a bare node:http2 stream
 * (1-byte flag, 4-byte big-endian length, protobuf Packet from src/protocol/), a write that reports
 * backpressure at the same mark as ours, and the HTTP/2 settings ours uses, so that a floor-vs-ours
 * difference is code, not configuration. A measuring stick (see server.ts), not a product.
 */
import type * as http2 from 'http2';
import { decodePacket } from '../../src/protocol/codec';
import type { DecodedPacket, Packet } from '../../src/protocol/packet';
import { encodePacketParts, partsLength } from '../../src/protocol/packetParts';
import {
  LOCAL_SETTINGS,
  MAX_SESSION_MEMORY_MIB,
  SEND_HIGH_WATER_BYTES,
  raiseSessionWindow,
} from '../../src/transport/h2/settings';

export { LOCAL_SETTINGS, MAX_SESSION_MEMORY_MIB, raiseSessionWindow };
export const CONNECT_PATH = '/AgentService/Connect';
export const PROXY_PATH = '/ProxyService/Proxy';
const PREFIX = 5;
/** gRPC's default receive limit (grpc-go, grpc-js): a larger length prefix is a broken peer. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Writes one packet as a gRPC message; false when the caller should wait for 'drain'. */
export function sendPacket(stream: http2.Http2Stream, p: Packet): boolean {
  if (stream.destroyed || stream.writableEnded) return true;
  const parts = encodePacketParts(p, PREFIX);
  const head = parts[0]!;
  head[0] = 0;
  head.writeUInt32BE(partsLength(parts) - PREFIX, 1);
  if (parts.length === 1) stream.write(head);
  else {
    stream.cork();
    stream.write(head);
    stream.write(parts[1]);
    stream.uncork();
  }
  return stream.writableLength < SEND_HIGH_WATER_BYTES;
}

/** Writes an already framed message (prefix included) as it came: a forwarded DATA is not re-encoded. */
export function sendFrame(stream: http2.Http2Stream, frame: Buffer): boolean {
  if (stream.destroyed || stream.writableEnded) return true;
  stream.write(frame);
  return stream.writableLength < SEND_HIGH_WATER_BYTES;
}

/**
 * Calls `onPacket(packet, frame)` for each message in the stream's chunks (`frame` is the message with
 * its prefix, a view when it sat inside one chunk); `onBad(err)` once on bytes that are not packets.
 */
export function readPackets(
  stream: http2.Http2Stream,
  onPacket: (p: DecodedPacket, frame: Buffer) => void,
  onBad: (err: Error) => void,
): void {
  let held: Buffer | undefined;
  stream.on('data', (chunk: Buffer) => {
    let buf = held ? Buffer.concat([held, chunk]) : chunk;
    held = undefined;
    while (buf.length >= PREFIX) {
      const len = buf.readUInt32BE(1);
      if (buf[0] !== 0 || len > MAX_MESSAGE_BYTES) {
        onBad(new Error(`bad gRPC message prefix (flag ${buf[0]}, length ${len})`));
        stream.destroy();
        return;
      }
      if (buf.length < PREFIX + len) break;
      const frame = buf.subarray(0, PREFIX + len);
      buf = buf.subarray(PREFIX + len);
      let p: DecodedPacket;
      try {
        p = decodePacket(frame.subarray(PREFIX));
      } catch (err) {
        onBad(err instanceof Error ? err : new Error(String(err)));
        stream.destroy();
        return;
      }
      onPacket(p, frame);
    }
    // node:http2 hands out a fresh buffer per chunk: keeping a view of its tail is safe.
    if (buf.length > 0) held = buf;
  });
}

/**
 * Pauses `stream` while any of its sinks is full: each `hold()` must be matched by one `release()`.
 * Shared-stream head-of-line blocking, as the reference has; the floor has no per-connection credit.
 */
export class StreamHold {
  private holds = 0;
  constructor(private readonly stream: http2.Http2Stream) {}
  hold(): void {
    if (this.holds++ === 0) this.stream.pause();
  }
  release(): void {
    if (--this.holds === 0) this.stream.resume();
  }
}
