import * as fs from 'fs';
import type * as protobuf from 'protobufjs';
import { decodePacket, encodePacket } from '../../src/protocol/codec';
import { MalformedPacketError } from '../../src/protocol/errors';
import { packets, type Packet } from '../../src/protocol/packet';
import { encodeWithProtobufjs, loadProtobufjsPacketType } from './protobufjsPackets';
// Our own vectors, encoded by protobufjs from proto/*.proto (`UPDATE_VECTORS=1` rewrites the file).
import { OWN_VECTORS_FILE, readVectors } from './goldenVectors';

const pattern = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i % 256));

/** Each golden vector with the packet it must decode to and (deterministic marshalling) encode from. */
const expected: Record<string, Packet> = {
  dial_req: packets.dialRequest('10.0.0.5:10250', 1234567n),
  dial_req_big_random: packets.dialRequest('127.0.0.1:8080', 8070450532247928832n),
  dial_rsp_ok: packets.dialResponse(8070450532247928832n, 1n),
  dial_rsp_err: packets.dialResponse(42n, 0n, 'dial tcp 127.0.0.1:1: connect: connection refused'),
  close_req: packets.closeRequest(7n),
  close_rsp: packets.closeResponse(7n),
  close_rsp_err: packets.closeResponse(99n, 'unrecognized connectID'),
  dial_cls: packets.closeDial(1234567n),
  data: packets.data(3n, pattern(300)),
  data_empty: packets.data(3n),
  drain: packets.drain(),
};

/**
 * Vectors encoded by the reference implementation's own Go code, in the same format and with the same
 * names, when a copy is at hand (CI points this variable at one); the tests above stand without them.
 */
const REFERENCE_VECTORS_FILE = process.env['KONNECTIVITY_REFERENCE_VECTORS'];

describe('our golden vectors are what protobufjs encodes from the .proto', () => {
  let Packet: protobuf.Type;
  beforeAll(async () => {
    Packet = await loadProtobufjsPacketType();
    if (process.env['UPDATE_VECTORS'] === '1') {
      const fresh = Object.entries(expected).map(([name, p]) => ({
        name,
        hex: encodeWithProtobufjs(Packet, p),
      }));
      fs.writeFileSync(OWN_VECTORS_FILE, `${JSON.stringify(fresh, null, 2)}\n`);
    }
  });

  it.each(Object.keys(expected))('%s: the committed bytes equal protobufjs output', (name) => {
    const stored = readVectors(OWN_VECTORS_FILE).find((v) => v.name === name);
    expect(stored?.hex).toBe(encodeWithProtobufjs(Packet, expected[name]!));
  });
});

const vectorSets: Array<[string, string | undefined]> = [
  ['our protobufjs vectors', OWN_VECTORS_FILE],
  ["the reference's vectors", REFERENCE_VECTORS_FILE],
];

describe.each(vectorSets)('codec against %s', (_label, file) => {
  if (file === undefined || !fs.existsSync(file)) {
    // Only the optional reference set can be absent; our own file is always in the repository.
    it('is not available here (set KONNECTIVITY_REFERENCE_VECTORS to check it)', () => {
      expect(file).not.toBe(OWN_VECTORS_FILE);
    });
    return;
  }
  const vectors = readVectors(file);
  const vector = (name: string): Buffer => Buffer.from(vectors.find((v) => v.name === name)!.hex, 'hex');

  it('covers exactly the described packets', () => {
    expect(vectors.map((v) => v.name).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.keys(expected))('%s decodes to the described packet', (name) => {
    expect(decodePacket(vector(name))).toEqual(expected[name]);
  });

  it.each(Object.keys(expected))('%s encodes to the same bytes', (name) => {
    expect(encodePacket(expected[name]!).toString('hex')).toBe(vector(name).toString('hex'));
  });

  it('keeps random above 2^53 exact', () => {
    const p = decodePacket(vector('dial_req_big_random'));
    expect(p.type === 'DIAL_REQ' && p.random).toBe(8070450532247928832n);
  });
});

describe('codec against protobufjs loading proto/*.proto', () => {
  let Packet: protobuf.Type;
  beforeAll(async () => {
    Packet = await loadProtobufjsPacketType();
  });

  const samples: Packet[] = [
    packets.dialRequest('[::1]:443', (1n << 63n) - 1n),
    packets.dialResponse(1n, (1n << 62n) + 5n, 'x'),
    packets.data(1n << 40n, pattern(65536)),
    packets.closeResponse(-1n, 'Unknown connectID'),
    packets.closeDial(9007199254740993n),
    packets.dialRequest('nœud-ü.example:10250', 127n, 'tcp'),
    packets.data(-5n, pattern(200), 'read: connection reset ✗'),
  ];

  it('CREDIT (our extension, which protobufjs is not given) has its fixed bytes and round-trips', () => {
    const wire = encodePacket(packets.credit(7n, 300_000));
    expect(wire.toString('hex')).toBe('0840820406080710e0a712');
    expect(decodePacket(wire)).toEqual(packets.credit(7n, 300_000));
  });

  it.each(samples.map((s) => [s.type, s] as const))(
    '%s: we write the bytes protobufjs writes',
    (_t, sample) => {
      expect(encodePacket(sample).toString('hex')).toBe(encodeWithProtobufjs(Packet, sample));
    },
  );

  it.each(samples.map((s) => [s.type, s] as const))('%s: protobufjs reads what we write', (_t, sample) => {
    const decoded = Packet.toObject(Packet.decode(encodePacket(sample)), { longs: String, defaults: false });
    const ours = decodePacket(Buffer.from(Packet.encode(Packet.fromObject(decoded)).finish()));
    expect(ours).toEqual(sample);
  });

  it('DATA of 64 KiB round-trips byte-exactly and decodes as a view (no copy)', () => {
    const wire = encodePacket(packets.data(5n, pattern(64 * 1024)));
    const p = decodePacket(wire);
    if (p.type !== 'DATA') throw new Error('wrong type');
    expect(p.data.equals(pattern(64 * 1024))).toBe(true);
    expect(p.data.buffer).toBe(wire.buffer);
  });
});

describe('codec on bad input: each case must raise MalformedPacketError, never a crash', () => {
  const bad: Array<[string, string, MalformedPacketError['reason']]> = [
    ['truncated varint', '08', 'truncated'],
    ['length overruns the message', '0804220a0803', 'truncated'],
    ['payload of another type', '08042a020807', 'payload-mismatch'],
    ['group wire type', '0b', 'bad-wire-type'],
    ['field number zero', '0001', 'bad-wire-type'],
    ['11-byte varint', '08ffffffffffffffffffff01', 'bad-varint'],
  ];
  it.each(bad)('%s', (_name, hex, reason) => {
    expect(() => decodePacket(Buffer.from(hex, 'hex'))).toThrow(MalformedPacketError);
    try {
      decodePacket(Buffer.from(hex, 'hex'));
    } catch (e) {
      expect((e as MalformedPacketError).reason).toBe(reason);
    }
  });

  it('decodes an unknown packet type as UNKNOWN with its number, skipping its payload, instead of failing', () => {
    expect(decodePacket(Buffer.from('082a', 'hex'))).toEqual({ type: 'UNKNOWN', code: 42 });
    // type 99 with a payload in field 9, which no known type uses
    expect(decodePacket(Buffer.from('08634a020801', 'hex'))).toEqual({ type: 'UNKNOWN', code: 99 });
    // type 99 carrying a DATA payload: still UNKNOWN, never mistaken for DATA
    expect(decodePacket(Buffer.from('086322020807', 'hex'))).toEqual({
      type: 'UNKNOWN',
      code: 99,
    });
  });

  it('skips unknown fields like any proto3 reader', () => {
    // CLOSE_REQ{connectID 7} followed by an unknown field 15 (varint) and field 14 (fixed32).
    expect(decodePacket(Buffer.from('08022a020807780175deadbeef', 'hex'))).toEqual(packets.closeRequest(7n));
  });

  it('treats a missing payload as the empty message of its type', () => {
    expect(decodePacket(Buffer.from('0806', 'hex'))).toEqual(packets.drain());
    expect(decodePacket(Buffer.alloc(0))).toEqual(packets.dialRequest('', 0n, ''));
  });
});
