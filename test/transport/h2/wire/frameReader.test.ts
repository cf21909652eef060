import { FrameReader, type FrameSink } from '../../../../src/transport/h2/wire/frameReader';
import { Flags, FrameType } from '../../../../src/transport/h2/wire/frames';
import { rawFrame as wire } from './rawClient';

type Seen =
  | { kind: 'frame'; type: number; flags: number; streamId: number; payload: string }
  | { kind: 'piece'; flags: number; streamId: number; piece: string; last: boolean; shared: boolean };

/** Feeds `chunks` and records what the reader hands on; `shared` says a piece is a view of its read. */
function read(chunks: Buffer[], maxFrameBytes = 1024): Seen[] {
  const seen: Seen[] = [];
  let current: Buffer = Buffer.alloc(0);
  const sink: FrameSink = {
    frame: (type, flags, streamId, payload) => {
      seen.push({ kind: 'frame', type, flags, streamId, payload: payload.toString() });
      return true;
    },
    dataPiece: (flags, streamId, piece, last) => {
      const shared = piece.buffer === current.buffer;
      seen.push({ kind: 'piece', flags, streamId, piece: piece.toString(), last, shared });
      return true;
    },
  };
  const reader = new FrameReader(maxFrameBytes);
  for (const chunk of chunks) {
    current = chunk;
    expect(reader.push(chunk, sink)).toBeUndefined();
  }
  return seen;
}

/** The same bytes cut at the given offsets, each part in a buffer of its own. */
function cut(bytes: Buffer, ...at: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    out.push(Buffer.from(bytes.subarray(from, to)));
    from = to;
  }
  return out;
}

describe('FrameReader', () => {
  it('hands on a frame inside one read whole', () => {
    const bytes = wire(FrameType.DATA, Flags.END_STREAM, 1, Buffer.from('hello'));
    expect(read([bytes])).toEqual([
      { kind: 'frame', type: FrameType.DATA, flags: Flags.END_STREAM, streamId: 1, payload: 'hello' },
    ]);
  });

  it('hands on a DATA frame that spans reads piece by piece, as views of the reads, the last one marked', () => {
    const bytes = wire(FrameType.DATA, Flags.END_STREAM, 3, Buffer.from('abcdefghij'));
    // The header and 2 bytes, then 5, then 3.
    const seen = read(cut(bytes, 11, 16));
    expect(seen).toEqual([
      { kind: 'piece', flags: Flags.END_STREAM, streamId: 3, piece: 'ab', last: false, shared: true },
      { kind: 'piece', flags: Flags.END_STREAM, streamId: 3, piece: 'cdefg', last: false, shared: true },
      { kind: 'piece', flags: Flags.END_STREAM, streamId: 3, piece: 'hij', last: true, shared: true },
    ]);
  });

  it('starts the pieces with the next read when a read ends right after the header', () => {
    const bytes = Buffer.concat([
      wire(FrameType.DATA, 0, 1, Buffer.from('xyz')),
      wire(FrameType.PING, 0, 0, Buffer.from('12345678')),
    ]);
    expect(read(cut(bytes, 9, 11))).toEqual([
      { kind: 'piece', flags: 0, streamId: 1, piece: 'xy', last: false, shared: true },
      { kind: 'piece', flags: 0, streamId: 1, piece: 'z', last: true, shared: true },
      { kind: 'frame', type: FrameType.PING, flags: 0, streamId: 0, payload: '12345678' },
    ]);
  });

  it('assembles a padded DATA frame and any other frame that spans reads', () => {
    const padded = Buffer.concat([Buffer.from([2]), Buffer.from('data'), Buffer.alloc(2)]);
    const bytes = Buffer.concat([
      wire(FrameType.DATA, Flags.PADDED, 1, padded),
      wire(FrameType.HEADERS, Flags.END_HEADERS, 3, Buffer.from('block')),
    ]);
    const seen = read(cut(bytes, 12, 20));
    expect(seen.map((s) => s.kind)).toEqual(['frame', 'frame']);
    expect(seen[0]).toMatchObject({ type: FrameType.DATA, flags: Flags.PADDED, payload: padded.toString() });
    expect(seen[1]).toMatchObject({ type: FrameType.HEADERS, payload: 'block' });
  });

  it('reads the same frames fed a byte at a time', () => {
    const frames = [
      wire(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)),
      wire(FrameType.DATA, 0, 1, Buffer.from('first')),
      wire(FrameType.DATA, Flags.END_STREAM, 1, Buffer.from('second')),
    ];
    const bytes = Buffer.concat(frames);
    const seen = read(cut(bytes, ...Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)));
    expect(seen[0]).toMatchObject({ kind: 'frame', type: FrameType.SETTINGS });
    const pieces = seen.slice(1) as Extract<Seen, { kind: 'piece' }>[];
    expect(pieces.every((p) => p.kind === 'piece' && p.piece.length === 1)).toBe(true);
    expect(pieces.map((p) => p.piece).join('')).toBe('firstsecond');
    expect(pieces.filter((p) => p.last).map((p) => p.flags)).toEqual([0, Flags.END_STREAM]);
  });

  it('refuses a frame larger than announced before reading its payload', () => {
    const reader = new FrameReader(8);
    const sink: FrameSink = { frame: () => true, dataPiece: () => true };
    const error = reader.push(wire(FrameType.DATA, 0, 1, Buffer.alloc(9)).subarray(0, 12), sink);
    expect(error?.message).toMatch(/9 bytes exceeds the announced 8/);
  });

  it('stops when the sink says so, in the middle of a frame’s pieces', () => {
    const bytes = Buffer.concat([
      wire(FrameType.DATA, 0, 1, Buffer.from('abcd')),
      wire(FrameType.PING, 0, 0, Buffer.alloc(8)),
    ]);
    const seen: string[] = [];
    const reader = new FrameReader(1024);
    const sink: FrameSink = {
      frame: (type) => {
        seen.push(`frame ${type}`);
        return true;
      },
      dataPiece: (_flags, _id, piece) => {
        seen.push(`piece ${piece.toString()}`);
        return false;
      },
    };
    reader.push(bytes.subarray(0, 11), sink);
    expect(seen).toEqual(['piece ab']);
  });
});
