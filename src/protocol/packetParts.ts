/**
 * A Packet encoded as the parts a transport writes, so that a DATA payload is never copied: the small
 * header (everything up to the length of the `data` field) and the payload itself. Concatenated, the parts
 * are exactly `encodePacket(packet)` (packetEncoding.ts writes both, so the wire format has one definition).
 */
import { encodeDataHeader, encodePacketWithRoom } from './packetEncoding';
import type { Packet } from './packet';

/**
 * Encodes `packet` as `[header, payload]` (DATA with a payload) or `[whole]` (anything else), with `room`
 * spare bytes at the start of the first part for the caller's own prefix (a gRPC frame's 5 bytes), so the
 * caller writes two buffers and copies nothing.
 */
export function encodePacketParts(packet: Packet, room = 0): Buffer[] {
  if (packet.type !== 'DATA' || packet.data.length === 0) return [encodePacketWithRoom(packet, room)];
  return [encodeDataHeader(packet, room), packet.data];
}

/** Total bytes of the parts, for the caller's length prefix. */
export function partsLength(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}
