/**
 * Protobuf encoding of `Packet`, written by hand for three reasons: int64 must stay exact (`random` spans
 * [0, 2^63)), DATA payloads are decoded as views without copying, and the bytes must equal what Go's
 * deterministic marshalling produces (fields in number order, proto3 defaults omitted, DIAL_REQ's type 0
 * absent). `test/protocol/codec.test.ts` checks it against the reference's own vectors and protobufjs.
 */
import { MalformedPacketError } from './errors';
import { PACKET_TYPE_NUMBER, type DecodedPacket, type Packet, type PacketTypeName } from './packet';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const TYPE_BY_NUMBER: ReadonlyMap<number, PacketTypeName> = new Map(
  Object.entries(PACKET_TYPE_NUMBER).map(([name, n]) => [n, name as PacketTypeName]),
);

/** The Packet field number that carries each type's payload. */
const PAYLOAD_FIELD: Record<PacketTypeName, number> = {
  DIAL_REQ: 2,
  DIAL_RSP: 3,
  DATA: 4,
  CLOSE_REQ: 5,
  CLOSE_RSP: 6,
  DIAL_CLS: 7,
  DRAIN: 8,
  CREDIT: 64,
};
const TYPE_BY_PAYLOAD_FIELD: ReadonlyMap<number, PacketTypeName> = new Map(
  Object.entries(PAYLOAD_FIELD).map(([name, n]) => [n, name as PacketTypeName]),
);

// ---------------------------------------------------------------------------------------------- encoding

function varintSize(v: bigint): number {
  let u = BigInt.asUintN(64, v);
  let n = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    n++;
  }
  return n;
}

/** Bytes of a varint below 2^53 (lengths, tags), without the bigint arithmetic of varintSize. */
export function smallVarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  tag(field: number, wire: number): void {
    this.uvarint((field << 3) | wire);
  }

  uvarint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  int64(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    if (u < 0x20000000000000n) {
      this.uvarint(Number(u));
      return;
    }
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** Field list of an inner message: [fieldNumber, value] in field-number order; defaults are skipped. */
type InnerField = readonly [number, bigint] | readonly [number, Buffer];

function innerFields(p: Packet): InnerField[] {
  const f: InnerField[] = [];
  const str = (n: number, s: string): void => {
    if (s.length > 0) f.push([n, Buffer.from(s, 'utf8')]);
  };
  const i64 = (n: number, v: bigint): void => {
    if (v !== 0n) f.push([n, v]);
  };
  switch (p.type) {
    case 'DIAL_REQ':
      str(1, p.protocol);
      str(2, p.address);
      i64(3, p.random);
      break;
    case 'DIAL_RSP':
      str(1, p.error);
      i64(2, p.connectID);
      i64(3, p.random);
      break;
    case 'CLOSE_REQ':
      i64(1, p.connectID);
      break;
    case 'CLOSE_RSP':
      str(1, p.error);
      i64(2, p.connectID);
      break;
    case 'DATA':
      i64(1, p.connectID);
      str(2, p.error);
      if (p.data.length > 0) f.push([3, p.data]);
      break;
    case 'DIAL_CLS':
      i64(1, p.random);
      break;
    case 'DRAIN':
      break;
    case 'CREDIT':
      i64(1, p.connectID);
      i64(2, p.bytes);
      break;
    default: {
      const _exhaustive: never = p;
      throw new Error(`cannot encode ${String(_exhaustive)}`);
    }
  }
  return f;
}

function fieldSize([n, v]: InnerField): number {
  const tagSize = smallVarintSize(n << 3);
  return typeof v === 'bigint' ? tagSize + varintSize(v) : tagSize + smallVarintSize(v.length) + v.length;
}

export function encodePacket(p: Packet): Buffer {
  const typeNumber = PACKET_TYPE_NUMBER[p.type];
  const fields = innerFields(p);
  let innerSize = 0;
  for (const field of fields) innerSize += fieldSize(field);
  const payloadField = PAYLOAD_FIELD[p.type];
  const size =
    (typeNumber !== 0 ? 2 : 0) + smallVarintSize(payloadField << 3) + smallVarintSize(innerSize) + innerSize;
  const w = new Writer(Buffer.allocUnsafe(size));
  if (typeNumber !== 0) {
    w.tag(1, WIRE_VARINT);
    w.uvarint(typeNumber);
  }
  w.tag(payloadField, WIRE_LEN);
  w.uvarint(innerSize);
  for (const [n, v] of fields) {
    if (typeof v === 'bigint') {
      w.tag(n, WIRE_VARINT);
      w.int64(v);
    } else {
      w.tag(n, WIRE_LEN);
      w.bytes(v);
    }
  }
  return w.buf;
}

// ---------------------------------------------------------------------------------------------- decoding

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number; fine for tags, lengths and enums (all < 2^31 when valid). */
  uvarint32(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new MalformedPacketError('truncated', 'truncated varint');
      const b = this.buf[this.pos++]!;
      if (i < 5) result += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) return result;
    }
    throw new MalformedPacketError('bad-varint', 'varint longer than 10 bytes');
  }

  int64(): bigint {
    // Fast path: up to 7 bytes fits in a double exactly (49 bits).
    let small = 0;
    let mul = 1;
    const start = this.pos;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw new MalformedPacketError('truncated', 'truncated varint');
      const b = this.buf[this.pos++]!;
      small += (b & 0x7f) * mul;
      if (b < 0x80) return BigInt(small);
      mul *= 128;
    }
    this.pos = start;
    let u = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new MalformedPacketError('truncated', 'truncated varint');
      const b = this.buf[this.pos++]!;
      u |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, u);
      shift += 7n;
    }
    throw new MalformedPacketError('bad-varint', 'varint longer than 10 bytes');
  }

  lengthDelimited(): [number, number] {
    const len = this.uvarint32();
    const start = this.pos;
    const end = start + len;
    if (end > this.end)
      throw new MalformedPacketError('truncated', `field of ${len} bytes overruns the message`);
    this.pos = end;
    return [start, end];
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.uvarint32();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new MalformedPacketError('bad-wire-type', `unsupported wire type ${wire}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new MalformedPacketError('truncated', 'truncated fixed-width field');
    this.pos += n;
  }
}

function expectWire(field: number, got: number, want: number): void {
  if (got !== want) {
    throw new MalformedPacketError('bad-wire-type', `field ${field} has wire type ${got}, expected ${want}`);
  }
}

/** Fields of any inner message, by number; the last occurrence wins as in proto3. */
interface InnerValues {
  ints: Map<number, bigint>;
  ranges: Map<number, [number, number]>;
}

function readInner(buf: Buffer, start: number, end: number): InnerValues {
  const r = new Reader(buf, start, end);
  const ints = new Map<number, bigint>();
  const ranges = new Map<number, [number, number]>();
  while (!r.done) {
    const tag = r.uvarint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw new MalformedPacketError('bad-wire-type', 'field number 0');
    if (wire === WIRE_VARINT) ints.set(field, r.int64());
    else if (wire === WIRE_LEN) ranges.set(field, r.lengthDelimited());
    else r.skip(wire);
  }
  return { ints, ranges };
}

function str(buf: Buffer, v: InnerValues, field: number): string {
  const range = v.ranges.get(field);
  return range ? buf.toString('utf8', range[0], range[1]) : '';
}
function i64(v: InnerValues, field: number): bigint {
  return v.ints.get(field) ?? 0n;
}

function buildPacket(type: PacketTypeName, buf: Buffer, v: InnerValues): Packet {
  switch (type) {
    case 'DIAL_REQ':
      return { type, protocol: str(buf, v, 1), address: str(buf, v, 2), random: i64(v, 3) };
    case 'DIAL_RSP':
      return { type, error: str(buf, v, 1), connectID: i64(v, 2), random: i64(v, 3) };
    case 'CLOSE_REQ':
      return { type, connectID: i64(v, 1) };
    case 'CLOSE_RSP':
      return { type, error: str(buf, v, 1), connectID: i64(v, 2) };
    case 'DATA': {
      const range = v.ranges.get(3);
      return {
        type,
        connectID: i64(v, 1),
        error: str(buf, v, 2),
        // A view, not a copy: the gRPC frame buffer stays alive as long as the chunk does.
        data: range ? buf.subarray(range[0], range[1]) : Buffer.alloc(0),
      };
    }
    case 'DIAL_CLS':
      return { type, random: i64(v, 1) };
    case 'DRAIN':
      return { type };
    case 'CREDIT':
      return { type, connectID: i64(v, 1), bytes: i64(v, 2) };
    default: {
      const _exhaustive: never = type;
      throw new Error(`unhandled type ${String(_exhaustive)}`);
    }
  }
}

const NO_FIELDS: InnerValues = { ints: new Map(), ranges: new Map() };

/**
 * Decodes one Packet. A missing payload decodes as the empty message of its type (what Go's nil-safe
 * getters would see); a payload of another type than `type` says is malformed. An unknown type number is
 * not an error: it decodes as UNKNOWN (whatever payload it carries is skipped), for the receiver to ignore
 * as the reference does.
 */
export function decodePacket(buf: Buffer): DecodedPacket {
  const r = new Reader(buf, 0, buf.length);
  let typeNumber = 0;
  let payloadField = 0;
  let payloadRange: [number, number] | undefined;
  while (!r.done) {
    const tag = r.uvarint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw new MalformedPacketError('bad-wire-type', 'field number 0');
    if (field === 1) {
      expectWire(field, wire, WIRE_VARINT);
      typeNumber = r.uvarint32();
    } else if (TYPE_BY_PAYLOAD_FIELD.has(field)) {
      expectWire(field, wire, WIRE_LEN);
      payloadField = field;
      payloadRange = r.lengthDelimited();
    } else {
      r.skip(wire);
    }
  }
  const type = TYPE_BY_NUMBER.get(typeNumber);
  if (type === undefined) return { type: 'UNKNOWN', code: typeNumber };
  if (payloadRange !== undefined && PAYLOAD_FIELD[type] !== payloadField) {
    throw new MalformedPacketError(
      'payload-mismatch',
      `packet type ${type} carries the payload of ${TYPE_BY_PAYLOAD_FIELD.get(payloadField)}`,
    );
  }
  const values = payloadRange ? readInner(buf, payloadRange[0], payloadRange[1]) : NO_FIELDS;
  return buildPacket(type, buf, values);
}
