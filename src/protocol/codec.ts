/**
 * Protobuf encoding of `Packet`, written by hand for three reasons: int64 must stay exact (`random` spans
 * [0, 2^63)), DATA payloads are decoded as views without copying, and the bytes must equal what Go's
 * deterministic marshalling produces (fields in number order, proto3 defaults omitted, DIAL_REQ's type 0
 * absent). `test/protocol/codec.test.ts` checks it against the reference's own vectors and protobufjs.
 */
import { MalformedPacketError } from './errors';
import { PACKET_TYPE_NUMBER, type DecodedPacket, type Packet, type PacketTypeName } from './packet';
import { PAYLOAD_FIELD } from './packetEncoding';

export { encodePacket, smallVarintSize } from './packetEncoding';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const TYPE_BY_NUMBER: ReadonlyMap<number, PacketTypeName> = new Map(
  Object.entries(PACKET_TYPE_NUMBER).map(([name, n]) => [n, name as PacketTypeName]),
);

const TYPE_BY_PAYLOAD_FIELD: ReadonlyMap<number, PacketTypeName> = new Map(
  Object.entries(PAYLOAD_FIELD).map(([name, n]) => [n, name as PacketTypeName]),
);

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

/** Highest field number of any inner message we read; higher ones are unknown fields, skipped. */
const MAX_INNER_FIELD = 3;

/**
 * Fields 1..MAX_INNER_FIELD of the inner message being decoded, by number; the last occurrence wins as in
 * proto3. One instance, reset per packet: decoding runs once per DATA chunk and is never re-entered.
 */
class InnerValues {
  readonly ints: (bigint | undefined)[] = new Array<bigint | undefined>(MAX_INNER_FIELD + 1).fill(undefined);
  readonly starts = new Int32Array(MAX_INNER_FIELD + 1).fill(-1);
  readonly ends = new Int32Array(MAX_INNER_FIELD + 1);

  reset(): this {
    this.ints.fill(undefined);
    this.starts.fill(-1);
    return this;
  }
}

const inner = new InnerValues();

function readInner(buf: Buffer, start: number, end: number): InnerValues {
  const v = inner.reset();
  const r = new Reader(buf, start, end);
  while (!r.done) {
    const tag = r.uvarint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0) throw new MalformedPacketError('bad-wire-type', 'field number 0');
    if (wire === WIRE_VARINT) {
      const value = r.int64();
      if (field <= MAX_INNER_FIELD) v.ints[field] = value;
    } else if (wire === WIRE_LEN) {
      const [s, e] = r.lengthDelimited();
      if (field <= MAX_INNER_FIELD) {
        v.starts[field] = s;
        v.ends[field] = e;
      }
    } else r.skip(wire);
  }
  return v;
}

function str(buf: Buffer, v: InnerValues, field: number): string {
  const s = v.starts[field]!;
  return s >= 0 ? buf.toString('utf8', s, v.ends[field]) : '';
}
function i64(v: InnerValues, field: number): bigint {
  return v.ints[field] ?? 0n;
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
      const start = v.starts[3]!;
      return {
        type,
        connectID: i64(v, 1),
        error: str(buf, v, 2),
        // A view, not a copy: the gRPC frame buffer stays alive as long as the chunk does.
        data: start >= 0 ? buf.subarray(start, v.ends[3]) : Buffer.alloc(0),
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
  const values = payloadRange ? readInner(buf, payloadRange[0], payloadRange[1]) : inner.reset();
  return buildPacket(type, buf, values);
}
