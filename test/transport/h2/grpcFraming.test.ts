import { decodePacket, encodePacket } from '../../../src/protocol/codec';
import { packets } from '../../../src/protocol/packet';
import { encodePacketParts } from '../../../src/protocol/packetParts';
import { GrpcFrameError } from '../../../src/transport/h2/errors';
import { readVectors } from '../../protocol/goldenVectors';
import { known } from './collect';
import { framePacket, MessageDecoder } from '../../../src/transport/h2/grpcFraming';
import { decodeGrpcMessage, encodeGrpcMessage, parseGrpcTimeout } from '../../../src/transport/h2/grpcStatus';

const vectors = readVectors();

describe('encodePacketParts', () => {
  it.each(vectors.map((v) => [v.name, v.hex]))('%s: the parts concatenate to the golden bytes', (_n, hex) => {
    const packet = decodePacket(Buffer.from(hex, 'hex'));
    expect(Buffer.concat(encodePacketParts(known(packet))).toString('hex')).toBe(hex);
  });

  it('keeps a DATA payload as the same buffer, not a copy', () => {
    const data = Buffer.alloc(64 * 1024, 7);
    const parts = encodePacketParts(packets.data(5n, data));
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(data);
  });

  it.each([0, 1, 127, 128, 16383, 16384, 2_097_151, 2_097_152, 4 * 1024 * 1024])(
    'DATA of %i bytes with an error text and a large connectID equals encodePacket',
    (n) => {
      const p = { type: 'DATA' as const, connectID: 1n << 62n, error: 'é%', data: Buffer.alloc(n, 1) };
      expect(Buffer.concat(encodePacketParts(p)).equals(encodePacket(p))).toBe(true);
    },
  );

  it('leaves room for a prefix in the first part', () => {
    const [first] = encodePacketParts(packets.drain(), 5);
    expect(first!.subarray(5).equals(encodePacket(packets.drain()))).toBe(true);
  });
});

describe('framePacket and MessageDecoder', () => {
  const frames = (list: Buffer[][]): Buffer => Buffer.concat(list.flat());

  it('prefixes each message with flag 0 and its big-endian length', () => {
    const parts = framePacket(packets.data(1n, Buffer.alloc(300, 2)));
    const whole = Buffer.concat(parts);
    expect(whole[0]).toBe(0);
    expect(whole.readUInt32BE(1)).toBe(whole.length - 5);
  });

  it('reassembles every vector whatever the chunk boundaries', () => {
    const messages = vectors.map((v) => Buffer.from(v.hex, 'hex'));
    const wire = frames(messages.map((m) => framePacket(known(decodePacket(m)))));
    for (const step of [1, 2, 3, 5, 7, 64, wire.length]) {
      const decoder = new MessageDecoder();
      const out: Buffer[] = [];
      for (let i = 0; i < wire.length; i += step) {
        expect(decoder.push(wire.subarray(i, i + step), out)).toBeUndefined();
      }
      expect(out.map((b) => b.toString('hex'))).toEqual(vectors.map((v) => v.hex));
      expect(decoder.midMessage).toBe(false);
    }
  });

  it('hands a message that sits inside one chunk on as a view of that chunk', () => {
    const wire = Buffer.concat(framePacket(packets.data(1n, Buffer.alloc(1000, 3))));
    const out: Buffer[] = [];
    new MessageDecoder().push(wire, out);
    expect(out[0]!.buffer).toBe(wire.buffer);
    expect(out[0]!.byteOffset).toBe(wire.byteOffset + 5);
  });

  it('refuses a message above the limit and a compressed one', () => {
    const big = Buffer.concat(framePacket(packets.data(1n, Buffer.alloc(2000))));
    const tooLarge = new MessageDecoder(1000).push(big, []);
    expect(tooLarge).toBeInstanceOf(GrpcFrameError);
    expect(tooLarge?.reason).toBe('too-large');
    const compressed = Buffer.from([1, 0, 0, 0, 0]);
    expect(new MessageDecoder().push(compressed, [])?.reason).toBe('compressed');
  });

  it('knows when a stream stops in the middle of a message', () => {
    const decoder = new MessageDecoder();
    decoder.push(Buffer.from([0, 0, 0, 0, 9, 1, 2]), []);
    expect(decoder.midMessage).toBe(true);
  });
});

describe('status texts', () => {
  it('percent-encodes non-ASCII and % and decodes it back', () => {
    const text = 'dial failed: 100% réseau ⚡ \n';
    const encoded = encodeGrpcMessage(text);
    expect(encoded).toMatch(/^[\x20-\x7e]*$/);
    expect(encoded).toContain('100%25');
    expect(decodeGrpcMessage(encoded)).toBe(text);
    expect(encodeGrpcMessage('plain text')).toBe('plain text');
    expect(decodeGrpcMessage('50%zz')).toBe('50%zz');
  });

  it('parses grpc-timeout units and rejects other forms', () => {
    expect(parseGrpcTimeout('100m')).toBe(100);
    expect(parseGrpcTimeout('2S')).toBe(2000);
    expect(parseGrpcTimeout('1H')).toBe(3_600_000);
    expect(parseGrpcTimeout('123456789S')).toBeUndefined();
    expect(parseGrpcTimeout('10x')).toBeUndefined();
  });
});
