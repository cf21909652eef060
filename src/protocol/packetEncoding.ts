/**
 * Protobuf encoding of `Packet` (codec.ts says why by hand): Go's deterministic marshalling, fields in number
 * order, proto3 defaults omitted, DIAL_REQ's type 0 absent. Sizes are computed first and every field is
 * written straight into one buffer, so a packet costs one allocation: packets go out once per DATA chunk
 * (and a CREDIT per chunk read), and intermediate field lists were most of the encoder's garbage.
 */
import { PACKET_TYPE_NUMBER, type DataPacket, type Packet, type PacketTypeName } from './packet';

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** The Packet field number that carries each type's payload. */
export const PAYLOAD_FIELD: Record<PacketTypeName, number> = {
  DIAL_REQ: 2,
  DIAL_RSP: 3,
  DATA: 4,
  CLOSE_REQ: 5,
  CLOSE_RSP: 6,
  DIAL_CLS: 7,
  DRAIN: 8,
  CREDIT: 64,
};

/** Tag of DATA's `data` field: field 3, wire type 2 (length-delimited). */
const DATA_FIELD_TAG = 0x1a;
/** 2^53: below it an int64 is written with number arithmetic. */
const SAFE_LIMIT = 0x20000000000000n;

/** Bytes of a varint below 2^53 (lengths, tags), without bigint arithmetic. */
export function smallVarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Bytes of an int64 as a varint (negative values take 10, as two's complement in 64 bits). */
function varintSize(v: bigint): number {
  if (v >= 0n && v < SAFE_LIMIT) return smallVarintSize(Number(v));
  let u = BigInt.asUintN(64, v);
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}

function writeUvarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

function writeInt64(buf: Buffer, pos: number, v: bigint): number {
  if (v >= 0n && v < SAFE_LIMIT) return writeUvarint(buf, pos, Number(v));
  let u = BigInt.asUintN(64, v);
  while (u >= 0x80n) {
    buf[pos++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
  return pos;
}

// Field sizes and writers of the inner messages; every field number here is below 16, so its tag is 1 byte.

function intSize(v: bigint): number {
  return v === 0n ? 0 : 1 + varintSize(v);
}

function writeInt(buf: Buffer, pos: number, field: number, v: bigint): number {
  if (v === 0n) return pos;
  buf[pos++] = (field << 3) | WIRE_VARINT;
  return writeInt64(buf, pos, v);
}

function strSize(s: string): number {
  if (s.length === 0) return 0;
  const n = Buffer.byteLength(s, 'utf8');
  return 1 + smallVarintSize(n) + n;
}

function writeStr(buf: Buffer, pos: number, field: number, s: string): number {
  if (s.length === 0) return pos;
  buf[pos++] = (field << 3) | WIRE_LEN;
  const n = Buffer.byteLength(s, 'utf8');
  pos = writeUvarint(buf, pos, n);
  return pos + buf.write(s, pos, n, 'utf8');
}

/** Size of the inner message of `p`, without DATA's payload when `withData` is false. */
function innerSize(p: Packet, withData: boolean): number {
  switch (p.type) {
    case 'DIAL_REQ':
      return strSize(p.protocol) + strSize(p.address) + intSize(p.random);
    case 'DIAL_RSP':
      return strSize(p.error) + intSize(p.connectID) + intSize(p.random);
    case 'CLOSE_REQ':
      return intSize(p.connectID);
    case 'CLOSE_RSP':
      return strSize(p.error) + intSize(p.connectID);
    case 'DATA': {
      const head = intSize(p.connectID) + strSize(p.error);
      const n = p.data.length;
      return n === 0 ? head : head + 1 + smallVarintSize(n) + (withData ? n : 0);
    }
    case 'DIAL_CLS':
      return intSize(p.random);
    case 'DRAIN':
      return 0;
    case 'CREDIT':
      return intSize(p.connectID) + intSize(p.bytes);
    default: {
      const _exhaustive: never = p;
      throw new Error(`cannot encode ${String(_exhaustive)}`);
    }
  }
}

/** Writes the inner fields of `p` at `pos` (DATA's payload only when `withData`); returns the end. */
function writeInner(buf: Buffer, pos: number, p: Packet, withData: boolean): number {
  switch (p.type) {
    case 'DIAL_REQ':
      pos = writeStr(buf, pos, 1, p.protocol);
      pos = writeStr(buf, pos, 2, p.address);
      return writeInt(buf, pos, 3, p.random);
    case 'DIAL_RSP':
      pos = writeStr(buf, pos, 1, p.error);
      pos = writeInt(buf, pos, 2, p.connectID);
      return writeInt(buf, pos, 3, p.random);
    case 'CLOSE_REQ':
      return writeInt(buf, pos, 1, p.connectID);
    case 'CLOSE_RSP':
      pos = writeStr(buf, pos, 1, p.error);
      return writeInt(buf, pos, 2, p.connectID);
    case 'DATA':
      pos = writeInt(buf, pos, 1, p.connectID);
      pos = writeStr(buf, pos, 2, p.error);
      if (p.data.length === 0) return pos;
      buf[pos++] = DATA_FIELD_TAG;
      pos = writeUvarint(buf, pos, p.data.length);
      if (!withData) return pos;
      buf.set(p.data, pos);
      return pos + p.data.length;
    case 'DIAL_CLS':
      return writeInt(buf, pos, 1, p.random);
    case 'DRAIN':
      return pos;
    case 'CREDIT':
      pos = writeInt(buf, pos, 1, p.connectID);
      return writeInt(buf, pos, 2, p.bytes);
    default: {
      const _exhaustive: never = p;
      throw new Error(`cannot encode ${String(_exhaustive)}`);
    }
  }
}

/**
 * Encodes `p` after `room` spare bytes (a caller's own prefix, e.g. gRPC's 5), in one buffer. Without
 * `withData`, a DATA packet stops right after its payload's length: the payload is the caller's next part.
 */
function encode(p: Packet, room: number, withData: boolean): Buffer {
  const typeNumber = PACKET_TYPE_NUMBER[p.type];
  const payloadField = PAYLOAD_FIELD[p.type];
  const inner = innerSize(p, true);
  const written = withData ? inner : innerSize(p, false);
  const size =
    room + (typeNumber !== 0 ? 2 : 0) + smallVarintSize(payloadField << 3) + smallVarintSize(inner) + written;
  const buf = Buffer.allocUnsafe(size);
  let pos = room;
  if (typeNumber !== 0) {
    buf[pos++] = (1 << 3) | WIRE_VARINT;
    buf[pos++] = typeNumber;
  }
  pos = writeUvarint(buf, pos, (payloadField << 3) | WIRE_LEN);
  pos = writeUvarint(buf, pos, inner);
  writeInner(buf, pos, p, withData);
  return buf;
}

export function encodePacket(p: Packet): Buffer {
  return encode(p, 0, true);
}

/** `encodePacket(p)` after `room` spare bytes at the start. */
export function encodePacketWithRoom(p: Packet, room: number): Buffer {
  return encode(p, room, true);
}

/** Everything of a DATA packet before its payload, after `room` spare bytes: the payload is not copied. */
export function encodeDataHeader(p: DataPacket, room: number): Buffer {
  return encode(p, room, false);
}
