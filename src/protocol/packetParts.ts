/**
 * A Packet encoded as the parts a transport writes, so that a DATA payload is never copied: the small
 * header (everything up to the length of the `data` field) and the payload itself. Concatenated, the parts
 * are exactly `encodePacket(packet)`. The header comes from `encodePacket` of the same packet without its
 * payload, with the enclosing length fixed up, so the wire format has one definition (codec.ts).
 */
import { encodePacket, smallVarintSize } from './codec';
import type { DataPacket, Packet } from './packet';

const EMPTY = Buffer.alloc(0);
/** Tag of DATA's `data` field: field 3, wire type 2 (length-delimited). */
const DATA_FIELD_TAG = 0x1a;
/** Encoded DATA packets start with `type = 4` (08 04) and the `data` oneof tag (field 4, LEN: 22). */
const DATA_PREFIX_LENGTH = 3;

function writeUvarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

function readUvarint(buf: Buffer, pos: number): [value: number, next: number] {
  let value = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++]!;
    value += (b & 0x7f) * mul;
    if (b < 0x80) return [value, pos];
    mul *= 128;
  }
}

/**
 * Encodes `packet` as `[header, payload]` (DATA with a payload) or `[whole]` (anything else), with `room`
 * spare bytes at the start of the first part for the caller's own prefix (a gRPC frame's 5 bytes), so the
 * caller writes two buffers and copies nothing.
 */
export function encodePacketParts(packet: Packet, room = 0): Buffer[] {
  if (packet.type !== 'DATA' || packet.data.length === 0) {
    if (room === 0) return [encodePacket(packet)];
    const whole = encodePacket(packet);
    const first = Buffer.allocUnsafe(room + whole.length);
    whole.copy(first, room);
    return [first];
  }
  return [dataHeader(packet, room), packet.data];
}

function dataHeader(packet: DataPacket, room: number): Buffer {
  const bare = encodePacket({ ...packet, data: EMPTY });
  const [bareInner, innerStart] = readUvarint(bare, DATA_PREFIX_LENGTH);
  const payload = packet.data.length;
  const inner = bareInner + 1 + smallVarintSize(payload) + payload;
  const fields = bare.length - innerStart;
  const size = room + DATA_PREFIX_LENGTH + smallVarintSize(inner) + fields + 1 + smallVarintSize(payload);
  const out = Buffer.allocUnsafe(size);
  bare.copy(out, room, 0, DATA_PREFIX_LENGTH);
  let pos = writeUvarint(out, room + DATA_PREFIX_LENGTH, inner);
  pos += bare.copy(out, pos, innerStart);
  out[pos++] = DATA_FIELD_TAG;
  writeUvarint(out, pos, payload);
  return out;
}

/** Total bytes of the parts, for the caller's length prefix. */
export function partsLength(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}
