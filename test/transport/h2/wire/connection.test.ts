/**
 * Our own HTTP/2 server (src/transport/h2/wire) against a raw client that writes frames by hand
 * (rawClient.ts): the handshake, requests and their framing variants (CONTINUATION, padding, priority),
 * connection and stream errors, PING and keepalive, flow control both ways, a peer that does not read,
 * GOAWAY both ways and how a call's end reaches its owner. Behaviour only: timeouts just stop hung tests.
 */
import { encodePacket } from '../../../../src/protocol/codec';
import { packets } from '../../../../src/protocol/packet';
import { H2SessionError } from '../../../../src/transport/h2/errors';
import { encodeHeaderBlock } from '../../../../src/transport/h2/hpack/hpackEncoder';
import { H2ProtocolError } from '../../../../src/transport/h2/wire/connection';
import { CLIENT_PREFACE } from '../../../../src/transport/h2/wire/frames';
import {
  startWireServer,
  type WireServer,
  type WireServerCall,
  type WireServerOptions,
} from '../../../../src/transport/h2/wire/server';
import type { PacketStream } from '../../../../src/transport/packetStream';
import { waitFor, waitForStable } from '../../../helpers/waitFor';
import { collect, floodPump, known, type Collected } from '../collect';
import {
  Flags,
  FrameType,
  goawayOf,
  grpcMessage,
  H2Code,
  headerValue,
  RawClient,
  type RawClientOptions,
  type RawFrame,
  rawFrame,
  requestHeaders,
  Setting,
  settingsOf,
  settingsPayload,
  u32,
} from './rawClient';

const KiB = 1024;
const MiB = 1024 * 1024;

/** A call as a route saw it. */
interface RouteCall {
  readonly call: WireServerCall;
  readonly path: string;
  stream: PacketStream;
  got: Collected;
  /** DATA payload bytes a /flood call handed to send(). */
  sent: number;
}

/**
 * Routes: /x echoes every packet and finishes when the client does; /quiet only records; /hold records
 * with its reader paused; /flood sends `x-bytes` of DATA payload in packets of `x-chunk` bytes (following
 * drain), then finishes.
 */
function routes(calls: RouteCall[]): WireServerOptions['routes'] {
  const route =
    (mode: 'echo' | 'quiet' | 'hold' | 'flood') =>
    (call: WireServerCall): void => {
      const stream = call.accept();
      const seen = { call, path: call.path, stream, sent: 0 } as RouteCall;
      calls.push(seen);
      const total = Number(call.metadata.text['x-bytes']?.[0] ?? 0);
      const chunk = Buffer.alloc(Number(call.metadata.text['x-chunk']?.[0] ?? 64 * KiB), 7);
      const pump = floodPump(stream, seen, total, chunk);
      seen.got = collect(stream, {
        packet: (p) => {
          if (mode === 'echo' && p.type !== 'UNKNOWN') stream.send(known(p));
        },
        drain: () => {
          if (mode === 'flood') pump();
        },
        end: () => {
          if (mode === 'echo' || mode === 'quiet') stream.close();
        },
      });
      if (mode === 'hold') stream.pauseReceiving();
      if (mode === 'flood') pump();
    };
  return { '/x': route('echo'), '/quiet': route('quiet'), '/hold': route('hold'), '/flood': route('flood') };
}

const isHeaders =
  (streamId: number) =>
  (f: RawFrame): boolean =>
    f.type === FrameType.HEADERS && f.streamId === streamId && f.headers !== undefined;
const isTrailers =
  (streamId: number) =>
  (f: RawFrame): boolean =>
    isHeaders(streamId)(f) && headerValue(f.headers, 'grpc-status') !== undefined;
const isRst =
  (streamId: number) =>
  (f: RawFrame): boolean =>
    f.type === FrameType.RST_STREAM && f.streamId === streamId;
const rstCode = (f: RawFrame): number => f.payload.readUInt32BE(0);

/** Splits `bytes` into pieces of at most `size`. */
function pieces(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size)
    out.push(bytes.subarray(at, Math.min(bytes.length, at + size)));
  return out;
}

/** gRPC messages of DATA packets with `payload`-byte payloads, `count` of them, as one buffer. */
function messages(count: number, payload: number): Buffer {
  const list: Buffer[] = [];
  for (let i = 0; i < count; i++)
    list.push(grpcMessage(packets.data(BigInt(i + 1), Buffer.alloc(payload, i))));
  return Buffer.concat(list);
}

/** The size of one gRPC message carrying a DATA packet of `payload` bytes (connect id 1). */
function messageSize(payload: number): number {
  return grpcMessage(packets.data(1n, Buffer.alloc(payload))).length;
}

describe('our HTTP/2 server, driven frame by frame', () => {
  let server: WireServer;
  let calls: RouteCall[];
  let sessionErrors: Array<{ peer: string; error: Error }>;
  const clients: RawClient[] = [];

  const start = async (extra: Partial<WireServerOptions> = {}): Promise<WireServer> => {
    server = await startWireServer({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      routes: routes(calls),
      onSessionError: (peer, error) => sessionErrors.push({ peer, error }),
      ...extra,
    });
    return server;
  };

  const connect = async (opts: Omit<RawClientOptions, 'port'> = {}): Promise<RawClient> => {
    const c = await RawClient.connect({ port: server.port, ...opts });
    clients.push(c);
    return c;
  };

  /** A connected client whose SETTINGS the server has acknowledged. */
  const ready = async (opts: Omit<RawClientOptions, 'port'> = {}): Promise<RawClient> => {
    const c = await connect(opts);
    await c.handshake();
    return c;
  };

  /** An echo call on `c`: one packet there and back, then END_STREAM and the OK status. */
  const echoWorks = async (c: RawClient, streamId: number): Promise<void> => {
    const packet = packets.data(BigInt(streamId), Buffer.from(`hello on ${streamId}`));
    c.request(streamId, '/x');
    c.message(streamId, packet, true);
    const trailers = await c.waitFrame(isTrailers(streamId), `the status of stream ${streamId}`);
    expect(headerValue(trailers.headers, 'grpc-status')).toBe('0');
    expect(c.packets(streamId)).toEqual([packet]);
  };

  beforeEach(() => {
    calls = [];
    sessionErrors = [];
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await server.close();
  });

  describe('with the default options', () => {
    beforeEach(async () => {
      await start();
    });

    it('handshake: SETTINGS (4 MiB stream window, 64 KiB frames), a connection WINDOW_UPDATE, and an ACK of ours', async () => {
      const c = await connect();
      const ack = await c.handshake();
      const settings = c.frames.find((f) => f.type === FrameType.SETTINGS && (f.flags & Flags.ACK) === 0)!;
      expect(settings.streamId).toBe(0);
      const entries = new Map(settingsOf(settings));
      expect(entries.get(Setting.INITIAL_WINDOW_SIZE)).toBe(4 * MiB);
      expect(entries.get(Setting.MAX_FRAME_SIZE)).toBe(64 * KiB);
      // A server may only announce push as disabled (RFC 9113 6.5.2).
      expect(entries.get(Setting.ENABLE_PUSH) ?? 0).toBe(0);
      const update = c.frames.find((f) => f.type === FrameType.WINDOW_UPDATE)!;
      expect(update.streamId).toBe(0);
      expect(update.payload.readUInt32BE(0)).toBe(16 * MiB - 65_535);
      // Its SETTINGS is the first frame (the server preface), and the ACK carries nothing.
      expect(c.frames[0]).toBe(settings);
      expect(ack.payload.length).toBe(0);
      expect(ack.streamId).toBe(0);
    });

    it('a request: response headers, the echoed message, and after our END_STREAM the OK trailers', async () => {
      const c = await ready();
      const packet = packets.data(7n, Buffer.from('hello, wire'));
      c.request(1, '/x');
      c.message(1, packet);
      const headers = await c.waitFrame(isHeaders(1), 'the response headers');
      expect(headerValue(headers.headers, ':status')).toBe('200');
      expect(headerValue(headers.headers, 'content-type')).toMatch(/^application\/grpc/);
      expect(headers.flags & Flags.END_STREAM).toBe(0);
      await waitFor(() => c.dataBytes(1) === encodePacket(packet).length + 5, { description: 'the echo' });
      expect(c.packets(1)).toEqual([packet]);
      await c.sync();
      expect(c.framesOf(FrameType.HEADERS, 1)).toHaveLength(1); // no status before our END_STREAM
      expect(calls[0]!.got.packets).toEqual([packet]);

      c.data(1, Buffer.alloc(0), true);
      const trailers = await c.waitFrame(isTrailers(1), 'the trailers');
      expect(trailers.flags & Flags.END_STREAM).toBe(Flags.END_STREAM);
      expect(headerValue(trailers.headers, 'grpc-status')).toBe('0');
      await c.sync();
      // Both sides finished: no RST_STREAM is needed.
      expect(c.framesOf(FrameType.RST_STREAM, 1)).toEqual([]);
      expect(calls[0]!.got.ends).toEqual([{ kind: 'eof' }]);
      expect(server.stats().streams).toBe(0);
    });

    it('a header block split into HEADERS and two CONTINUATIONs', async () => {
      const c = await ready();
      const block = encodeHeaderBlock(requestHeaders('/x', ['x-filler', 'f'.repeat(300)]));
      const [a, b, d] = [block.subarray(0, 20), block.subarray(20, 100), block.subarray(100)];
      c.write(
        Buffer.concat([
          rawFrame(FrameType.HEADERS, 0, 1, a),
          rawFrame(FrameType.CONTINUATION, 0, 1, b),
          rawFrame(FrameType.CONTINUATION, Flags.END_HEADERS, 1, d),
        ]),
      );
      const packet = packets.data(1n, Buffer.from('continued'));
      c.message(1, packet, true);
      await c.waitFrame(isTrailers(1), 'the trailers');
      expect(calls[0]!.call.metadata.text['x-filler']).toEqual(['f'.repeat(300)]);
      expect(c.packets(1)).toEqual([packet]);
    });

    it('a PADDED HEADERS with the PRIORITY flag', async () => {
      const c = await ready();
      const block = encodeHeaderBlock(requestHeaders('/x'));
      const priority = Buffer.from([0x80, 0, 0, 0, 15]); // exclusive, on stream 0, weight 16
      const payload = Buffer.concat([Buffer.from([10]), priority, block, Buffer.alloc(10)]);
      c.send(FrameType.HEADERS, Flags.END_HEADERS | Flags.PADDED | Flags.PRIORITY, 1, payload);
      const packet = packets.data(1n, Buffer.from('padded and prioritised'));
      c.message(1, packet, true);
      await c.waitFrame(isTrailers(1), 'the trailers');
      expect(calls).toHaveLength(1);
      expect(c.packets(1)).toEqual([packet]);
    });

    it('a PADDED DATA frame: the padding is not delivered', async () => {
      const c = await ready();
      c.request(1, '/x');
      const packet = packets.data(3n, Buffer.from('padded'));
      const message = grpcMessage(packet);
      c.send(
        FrameType.DATA,
        Flags.PADDED,
        1,
        Buffer.concat([Buffer.from([200]), message, Buffer.alloc(200, 0xee)]),
      );
      // Padding of 0 bytes, END_STREAM on a frame that is only its pad length.
      c.send(FrameType.DATA, Flags.PADDED | Flags.END_STREAM, 1, Buffer.from([0]));
      await c.waitFrame(isTrailers(1), 'the trailers');
      expect(calls[0]!.got.packets).toEqual([packet]);
      expect(calls[0]!.got.malformed).toEqual([]);
      expect(c.packets(1)).toEqual([packet]);
    });

    it("padding counts against the stream's window: its WINDOW_UPDATE grants padding back too", async () => {
      const c = await ready();
      c.request(1, '/quiet');
      // 17 frames, each with 255 bytes of padding plus its pad-length byte: less than 1 MiB of messages
      // (the stream's credit threshold) but more than 1 MiB of window.
      const PAD = 255;
      const target = MiB - 17 * (PAD + 1) + 1000;
      const body = messageSize(50_000);
      const count = Math.floor((target - messageSize(20_000)) / body);
      const lastPayload = target - count * body - (messageSize(20_000) - 20_000);
      const content = Buffer.concat([
        messages(count, 50_000),
        grpcMessage(packets.data(99n, Buffer.alloc(lastPayload, 1))),
      ]);
      expect(content.length).toBe(target);
      expect(content.length).toBeLessThan(MiB);
      const frames = pieces(content, Math.ceil(content.length / 17));
      expect(frames).toHaveLength(17);
      let windowUsed = 0;
      let creditAt: number | undefined;
      for (const piece of frames) {
        const payload = Buffer.concat([Buffer.from([PAD]), piece, Buffer.alloc(PAD)]);
        windowUsed += payload.length;
        if (creditAt === undefined && windowUsed >= MiB) creditAt = windowUsed;
        c.send(FrameType.DATA, Flags.PADDED, 1, payload);
      }
      const update = await c.waitFrame(
        (f) => f.type === FrameType.WINDOW_UPDATE && f.streamId === 1,
        "the stream's WINDOW_UPDATE",
      );
      expect(update.payload.readUInt32BE(0)).toBe(creditAt);
      await waitFor(() => calls[0]!.got.bytes === count * 50_000 + lastPayload, {
        description: 'every message delivered',
      });
      expect(calls[0]!.got.packets).toHaveLength(count + 1);
      expect(calls[0]!.got.malformed).toEqual([]);
    });

    describe('connection errors end with GOAWAY and the code; other connections go on', () => {
      const preface = (frames: Buffer[]): Buffer =>
        Buffer.concat([CLIENT_PREFACE, rawFrame(FrameType.SETTINGS, 0, 0), ...frames]);
      const openHeaders = encodeHeaderBlock(requestHeaders('/hold'));
      /** [what, the bytes the connection starts with, the expected code] */
      const cases: Array<[string, Buffer, number]> = [
        [
          'a wrong preface (HTTP/1.1)',
          Buffer.from('POST /x HTTP/1.1\r\nHost: localhost\r\n\r\n'),
          H2Code.PROTOCOL_ERROR,
        ],
        [
          'a first frame that is not SETTINGS',
          Buffer.concat([CLIENT_PREFACE, rawFrame(FrameType.PING, 0, 0, Buffer.alloc(8))]),
          H2Code.PROTOCOL_ERROR,
        ],
        [
          'a frame larger than 64 KiB',
          preface([rawFrame(FrameType.PING, 0, 0, Buffer.alloc(64 * KiB + 1))]),
          H2Code.FRAME_SIZE_ERROR,
        ],
        [
          'DATA on stream 0',
          preface([rawFrame(FrameType.DATA, 0, 0, Buffer.alloc(5))]),
          H2Code.PROTOCOL_ERROR,
        ],
        [
          'DATA on an idle stream',
          preface([rawFrame(FrameType.DATA, 0, 5, Buffer.alloc(5))]),
          H2Code.PROTOCOL_ERROR,
        ],
        [
          'HEADERS on an even stream',
          preface([rawFrame(FrameType.HEADERS, Flags.END_HEADERS, 2, openHeaders)]),
          H2Code.PROTOCOL_ERROR,
        ],
        [
          'a PING of 7 bytes',
          preface([rawFrame(FrameType.PING, 0, 0, Buffer.alloc(7))]),
          H2Code.FRAME_SIZE_ERROR,
        ],
        [
          'a WINDOW_UPDATE of 0 on stream 0',
          preface([rawFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(0))]),
          H2Code.PROTOCOL_ERROR,
        ],
        [
          'a connection WINDOW_UPDATE past 2^31-1',
          preface([rawFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1))]),
          H2Code.FLOW_CONTROL_ERROR,
        ],
        [
          'a header block interrupted by another frame',
          preface([
            rawFrame(FrameType.HEADERS, 0, 1, openHeaders.subarray(0, 10)),
            rawFrame(FrameType.PING, 0, 0, Buffer.alloc(8)),
          ]),
          H2Code.PROTOCOL_ERROR,
        ],
        [
          'a CONTINUATION of another stream',
          preface([
            rawFrame(FrameType.HEADERS, 0, 1, openHeaders.subarray(0, 10)),
            rawFrame(FrameType.CONTINUATION, Flags.END_HEADERS, 3, openHeaders.subarray(10)),
          ]),
          H2Code.PROTOCOL_ERROR,
        ],
        [
          'a CONTINUATION without HEADERS',
          preface([rawFrame(FrameType.CONTINUATION, Flags.END_HEADERS, 1, openHeaders)]),
          H2Code.PROTOCOL_ERROR,
        ],
        [
          'a header block HPACK cannot decode',
          preface([rawFrame(FrameType.HEADERS, Flags.END_HEADERS, 1, Buffer.from([0x80]))]),
          H2Code.COMPRESSION_ERROR,
        ],
        [
          'PUSH_PROMISE from the client',
          preface([
            rawFrame(FrameType.HEADERS, Flags.END_HEADERS, 1, openHeaders),
            rawFrame(FrameType.PUSH_PROMISE, Flags.END_HEADERS, 1, Buffer.concat([u32(2), openHeaders])),
          ]),
          H2Code.PROTOCOL_ERROR,
        ],
        [
          'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1',
          Buffer.concat([
            CLIENT_PREFACE,
            rawFrame(FrameType.SETTINGS, 0, 0, settingsPayload([[Setting.INITIAL_WINDOW_SIZE, 2 ** 31]])),
          ]),
          H2Code.FLOW_CONTROL_ERROR,
        ],
        [
          'SETTINGS_MAX_FRAME_SIZE below 16 KiB',
          Buffer.concat([
            CLIENT_PREFACE,
            rawFrame(FrameType.SETTINGS, 0, 0, settingsPayload([[Setting.MAX_FRAME_SIZE, 1000]])),
          ]),
          H2Code.PROTOCOL_ERROR,
        ],
        [
          'a SETTINGS ACK with a payload',
          preface([rawFrame(FrameType.SETTINGS, Flags.ACK, 0, Buffer.alloc(6))]),
          H2Code.FRAME_SIZE_ERROR,
        ],
        [
          'RST_STREAM on an idle stream',
          preface([rawFrame(FrameType.RST_STREAM, 0, 7, u32(H2Code.CANCEL))]),
          H2Code.PROTOCOL_ERROR,
        ],
      ];

      it.each(cases)('%s', async (_what, bytes, code) => {
        const bystander = await ready();
        bystander.request(1, '/x'); // an open call on another connection
        await waitFor(() => calls.length === 1, { description: "the bystander's call" });

        const c = await connect({ start: bytes });
        const local = `127.0.0.1:${c.socket.localPort}`;
        const goaway = await c.goawayAndEnd();
        expect(goaway.code).toBe(code);
        // The server's SETTINGS came first: it is written as the connection opens.
        expect(c.frames[0]!.type).toBe(FrameType.SETTINGS);
        const told = await waitFor(() => sessionErrors.find((e) => e.peer === local), {
          description: 'onSessionError',
        });
        expect(told.error).toBeInstanceOf(H2ProtocolError);
        expect((told.error as H2ProtocolError).code).toBe(code);
        await waitFor(() => c.closed, { description: 'the socket to close' });
        c.destroy();

        // The bystander's open call and a new one on it both work.
        const packet = packets.data(1n, Buffer.from('still here'));
        bystander.message(1, packet, true);
        await bystander.waitFrame(isTrailers(1), "the bystander's status");
        expect(bystander.packets(1)).toEqual([packet]);
        await echoWorks(bystander, 3);
        // And a new connection is served.
        await echoWorks(await ready(), 1);
        expect(sessionErrors).toHaveLength(1);
      });
    });

    it('a client that opens and resets streams faster than the reset budget (1,000 at once) gets GOAWAY ENHANCE_YOUR_CALM', async () => {
      const c = await ready();
      // 1,000 open-and-reset pairs are within the budget: the connection carries on.
      for (let id = 1; id <= 1999; id += 2) {
        c.request(id, '/hold');
        c.rst(id, H2Code.CANCEL);
      }
      await c.sync();
      expect(c.framesOf(FrameType.GOAWAY)).toEqual([]);
      // The next 500 at once are not (the budget refills at 33 a second).
      for (let id = 2001; id <= 2999; id += 2) {
        c.request(id, '/hold');
        c.rst(id, H2Code.CANCEL);
      }
      expect((await c.goawayAndEnd()).code).toBe(H2Code.ENHANCE_YOUR_CALM);
      expect(sessionErrors.map((e) => (e.error as H2ProtocolError).code)).toEqual([H2Code.ENHANCE_YOUR_CALM]);
      await echoWorks(await ready(), 1);
    });

    describe('stream errors reset the stream; the connection goes on', () => {
      it('a WINDOW_UPDATE of 0 on an open stream: RST_STREAM PROTOCOL_ERROR', async () => {
        const c = await ready();
        c.request(1, '/hold');
        await waitFor(() => calls.length === 1);
        c.windowUpdate(1, 0);
        const rst = await c.waitFrame(isRst(1), 'RST_STREAM');
        expect(rstCode(rst)).toBe(H2Code.PROTOCOL_ERROR);
        await waitFor(() => calls[0]!.got.ends.length === 1, { description: "the route's end" });
        await echoWorks(c, 3);
        expect(c.framesOf(FrameType.GOAWAY)).toEqual([]);
        expect(sessionErrors).toEqual([]);
      });

      it('more DATA than the stream window of a paused reader: RST_STREAM FLOW_CONTROL_ERROR', async () => {
        const c = await ready();
        c.request(1, '/hold');
        await waitFor(() => calls.length === 1);
        // 4 MiB + 64 KiB of whole messages, in frames of 64 KiB (the largest the server takes).
        const content = messages(Math.ceil((4 * MiB + 64 * KiB) / messageSize(32 * KiB)), 32 * KiB);
        const frames = pieces(content.subarray(0, 4 * MiB + 64 * KiB), 64 * KiB);
        for (const payload of frames) await c.writeAndWait(rawFrame(FrameType.DATA, 0, 1, payload));
        const rst = await c.waitFrame(isRst(1), 'RST_STREAM', { timeoutMs: 10_000 });
        expect(rstCode(rst)).toBe(H2Code.FLOW_CONTROL_ERROR);
        // Exactly the frame past 4 MiB was too much: the reader held all it could.
        expect(calls[0]!.got.packets.length).toBe(0);
        await waitFor(() => calls[0]!.got.ends.length === 1, { description: "the route's end" });
        // The connection window was granted back as the bytes arrived, paused reader or not.
        const connectionCredit = c
          .framesOf(FrameType.WINDOW_UPDATE, 0)
          .slice(1)
          .reduce((sum, f) => sum + f.payload.readUInt32BE(0), 0);
        expect(connectionCredit).toBe(4 * MiB);
        await echoWorks(c, 3);
        expect(c.framesOf(FrameType.GOAWAY)).toEqual([]);
        expect(sessionErrors).toEqual([]);
      });

      it.each([
        ['an upper-case header name', ['X-Upper', 'yes']],
        ['connection: close', ['connection', 'close']],
        ['te other than trailers', ['te', 'gzip']],
        ['an unknown pseudo-header', [':protocol', 'websocket']],
      ])('a request with %s: RST_STREAM PROTOCOL_ERROR, and no call', async (_what, extra) => {
        const c = await ready();
        const headers = requestHeaders('/x');
        if (extra[0]!.startsWith(':')) headers.unshift(...extra);
        else headers.push(...extra);
        c.headers(1, headers);
        const rst = await c.waitFrame(isRst(1), 'RST_STREAM');
        expect(rstCode(rst)).toBe(H2Code.PROTOCOL_ERROR);
        expect(calls).toHaveLength(0);
        await echoWorks(c, 3);
        expect(c.framesOf(FrameType.GOAWAY)).toEqual([]);
      });

      it('DATA after END_STREAM: RST_STREAM STREAM_CLOSED', async () => {
        const c = await ready();
        c.request(1, '/hold', [], true);
        await waitFor(() => calls.length === 1);
        c.data(1, grpcMessage(packets.drain()));
        const rst = await c.waitFrame(isRst(1), 'RST_STREAM');
        expect(rstCode(rst)).toBe(H2Code.STREAM_CLOSED);
        await echoWorks(c, 3);
      });

      // RFC 9113 5.1 would have frames on a stream we reset ignored; like grpc-go's server we do not track
      // closed ids, and HEADERS at or below the last stream id ends the connection (gRPC clients send no
      // trailers). The block is still decoded first, so the GOAWAY is the only effect.
      it('HEADERS on a stream the server just reset: GOAWAY PROTOCOL_ERROR, as grpc-go', async () => {
        const c = await ready();
        c.headers(1, requestHeaders('/x', ['X-Upper', 'yes']));
        c.headers(1, ['x-trailer', 'late'], true);
        const goaway = await c.goawayAndEnd();
        expect(goaway.code).toBe(H2Code.PROTOCOL_ERROR);
        expect(rstCode(c.framesOf(FrameType.RST_STREAM, 1)[0]!)).toBe(H2Code.PROTOCOL_ERROR);
      });
    });

    it('frames split across reads, a byte or a few at a time', async () => {
      const packet = packets.data(1n, Buffer.from('in pieces'));
      const bytes = Buffer.concat([
        CLIENT_PREFACE,
        rawFrame(FrameType.SETTINGS, 0, 0),
        rawFrame(FrameType.HEADERS, Flags.END_HEADERS, 1, encodeHeaderBlock(requestHeaders('/x'))),
        rawFrame(FrameType.DATA, Flags.END_STREAM, 1, grpcMessage(packet)),
      ]);
      // No automatic SETTINGS ACK: it would land in the middle of our preface.
      const c = await connect({ start: Buffer.alloc(0), ackSettings: false });
      for (const [i, piece] of pieces(bytes, 7).entries()) {
        await c.writeAndWait(i % 3 === 0 ? piece.subarray(0, 1) : piece);
        if (i % 3 === 0) await c.writeAndWait(piece.subarray(1));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await c.waitFrame(isTrailers(1), 'the trailers');
      expect(c.packets(1)).toEqual([packet]);
    });

    it('a request header list above 64 KiB: RESOURCE_EXHAUSTED on that stream, and the connection goes on', async () => {
      const c = await ready();
      const block = encodeHeaderBlock(requestHeaders('/x', ['x-big', 'b'.repeat(70 * KiB)]));
      const [first, ...rest] = pieces(block, 16 * KiB);
      c.send(FrameType.HEADERS, 0, 1, first);
      rest.forEach((piece, i) =>
        c.send(FrameType.CONTINUATION, i === rest.length - 1 ? Flags.END_HEADERS : 0, 1, piece),
      );
      const status = await c.waitFrame(isTrailers(1), 'the status');
      expect(headerValue(status.headers, 'grpc-status')).toBe('8');
      expect(status.flags & Flags.END_STREAM).toBe(Flags.END_STREAM);
      expect(calls).toHaveLength(0);
      await echoWorks(c, 3);
      expect(c.framesOf(FrameType.GOAWAY)).toEqual([]);
    });

    describe('stream ids, PRIORITY and malformed requests', () => {
      // RFC 9113 5.1.1: a new stream's id must be above every earlier one.
      it('a new stream with an id below the last one: GOAWAY PROTOCOL_ERROR', async () => {
        const c = await ready();
        c.request(5, '/x', [], true);
        await c.waitFrame(isTrailers(5), 'the status of stream 5');
        c.request(3, '/x', [], true);
        expect((await c.goawayAndEnd()).code).toBe(H2Code.PROTOCOL_ERROR);
      });

      // RFC 9113 6.3: a PRIORITY of a length other than 5 is a stream error FRAME_SIZE_ERROR.
      it('a PRIORITY frame of 4 bytes: RST_STREAM FRAME_SIZE_ERROR', async () => {
        const c = await ready();
        c.request(1, '/hold');
        c.send(FrameType.PRIORITY, 0, 1, Buffer.alloc(4));
        c.request(3, '/x', [], true);
        await c.waitFrame(isTrailers(3), 'the status of stream 3');
        expect(c.framesOf(FrameType.RST_STREAM, 1).map(rstCode)).toEqual([H2Code.FRAME_SIZE_ERROR]);
      });

      // server.ts readRequest: a repeated pseudo-header (8.3) or a field value with CR, LF or NUL (8.2.1)
      // makes a request malformed: reset with PROTOCOL_ERROR, and the route never sees it.
      it.each([
        ['a second :path', [':path', '/quiet']],
        ['a value with CR LF', ['x-evil', 'a\r\nb']],
        ['a value with NUL', ['x-evil', 'a\0b']],
      ])('a request with %s: RST_STREAM PROTOCOL_ERROR', async (_what, extra) => {
        const c = await ready();
        const headers = requestHeaders('/x');
        if (extra[0]!.startsWith(':')) headers.unshift(...extra);
        else headers.push(...extra);
        c.headers(1, headers);
        c.request(3, '/x', [], true);
        await c.waitFrame(isTrailers(3), 'the status of stream 3');
        expect(c.framesOf(FrameType.RST_STREAM, 1).map(rstCode)).toEqual([H2Code.PROTOCOL_ERROR]);
        expect(calls.map((call) => call.path)).toEqual(['/x']);
      });
    });

    it('a PING is answered with an ACK carrying the same 8 bytes', async () => {
      const c = await ready();
      const opaque = Buffer.from([1, 2, 3, 4, 250, 251, 252, 253]);
      const since = c.frames.length;
      c.ping(opaque);
      const ack = await c.waitFrame(
        (f) => f.type === FrameType.PING && (f.flags & Flags.ACK) !== 0,
        'the ACK',
        {
          since,
        },
      );
      expect(ack.payload).toEqual(opaque);
      expect(ack.streamId).toBe(0);
      expect(server.stats().pingsReceived).toBe(1);
      // An ACK we send unasked is no keepalive answer and needs no reply.
      c.ping(Buffer.alloc(8), true);
      await c.sync();
      expect(c.framesOf(FrameType.PING, 0, since)).toHaveLength(2);
    });

    describe('flow control of what the server sends', () => {
      it('a stream window of 100 bytes: the server sends 100, then only what our WINDOW_UPDATEs allow', async () => {
        const c = await ready({ settings: [[Setting.INITIAL_WINDOW_SIZE, 100]] });
        c.request(1, '/flood', ['x-bytes', String(10 * KiB), 'x-chunk', String(10 * KiB)]);
        const total = messageSize(10 * KiB);
        await c.waitFrame(isHeaders(1), 'response headers');
        await c.sync();
        expect(c.dataBytes(1)).toBe(100);
        c.windowUpdate(1, 1000);
        await c.sync();
        expect(c.dataBytes(1)).toBe(1100);
        // A connection WINDOW_UPDATE alone moves nothing: the stream's window is spent.
        c.windowUpdate(0, 100_000);
        await c.sync();
        expect(c.dataBytes(1)).toBe(1100);
        expect(c.framesOf(FrameType.HEADERS, 1)).toHaveLength(1);
        c.windowUpdate(1, total - 1100);
        await c.waitFrame(isTrailers(1), 'the trailers');
        expect(c.dataBytes(1)).toBe(total);
        expect(c.packets(1)).toEqual([packets.data(1n, Buffer.alloc(10 * KiB, 7))]);
        // Every DATA frame fits the default maximum frame size we announced nothing about.
        expect(Math.max(...c.framesOf(FrameType.DATA, 1).map((f) => f.payload.length))).toBeLessThanOrEqual(
          16 * KiB,
        );
      });

      it('a SETTINGS that raises the initial window releases what waits on it', async () => {
        const c = await ready({ settings: [[Setting.INITIAL_WINDOW_SIZE, 100]] });
        c.request(1, '/flood', ['x-bytes', String(10 * KiB), 'x-chunk', String(10 * KiB)]);
        await c.waitFrame(isHeaders(1), 'response headers');
        await c.sync();
        expect(c.dataBytes(1)).toBe(100);
        c.send(FrameType.SETTINGS, 0, 0, settingsPayload([[Setting.INITIAL_WINDOW_SIZE, 65_535]]));
        await c.waitFrame(isTrailers(1), 'the trailers');
        expect(c.dataBytes(1)).toBe(messageSize(10 * KiB));
      });

      it('the connection window (65,535): two streams stop at it and go on after a connection WINDOW_UPDATE', async () => {
        const c = await ready({ settings: [[Setting.INITIAL_WINDOW_SIZE, MiB]] });
        const each = messageSize(64 * KiB);
        c.request(1, '/flood', ['x-bytes', String(64 * KiB)]);
        c.request(3, '/flood', ['x-bytes', String(64 * KiB)]);
        await c.waitFrame(isHeaders(3), 'response headers of stream 3');
        await c.sync();
        expect(c.dataBytes(1) + c.dataBytes(3)).toBe(65_535);
        // A stream WINDOW_UPDATE alone moves nothing: the connection's window is spent.
        c.windowUpdate(1, 100_000);
        await c.sync();
        expect(c.dataBytes(1) + c.dataBytes(3)).toBe(65_535);
        c.windowUpdate(0, 1000);
        await c.sync();
        expect(c.dataBytes(1) + c.dataBytes(3)).toBe(66_535);
        c.windowUpdate(0, 2 * each - 66_535);
        await c.waitFrame(isTrailers(1), 'the trailers of stream 1');
        await c.waitFrame(isTrailers(3), 'the trailers of stream 3');
        expect(c.dataBytes(1)).toBe(each);
        expect(c.dataBytes(3)).toBe(each);
        expect(c.packets(3)).toEqual([packets.data(1n, Buffer.alloc(64 * KiB, 7))]);
      });
    });

    it('a peer that does not read: the server still reads its frames, and sends all once it reads', async () => {
      const total = 16 * MiB;
      // Windows large enough that only our not reading holds the server back.
      const c = await ready({ settings: [[Setting.INITIAL_WINDOW_SIZE, 2 ** 31 - 1]] });
      c.keepData = false;
      c.windowUpdate(0, 2 ** 31 - 1 - 65_535);
      c.request(1, '/flood', ['x-bytes', String(total)]);
      c.pause();
      await waitFor(() => calls.length === 1, { description: 'the call' });
      // The route has queued all it could: the socket is full, and it waits for a drain.
      const stuck = await waitForStable(() => calls[0]!.sent, { description: 'the bytes the route sent' });
      expect(stuck).toBeLessThan(total);

      // One frame each (a message of 60 KiB fits the 64 KiB frames the server takes).
      const ours = [packets.drain(), packets.data(5n, Buffer.alloc(60 * KiB, 5)), packets.closeRequest(5n)];
      for (const p of ours) c.message(1, p);
      await waitFor(() => calls[0]!.got.packets.length === 3, {
        description: 'our packets at the route while we do not read',
      });
      expect(calls[0]!.got.packets).toEqual(ours);
      expect(calls[0]!.sent).toBe(stuck);

      c.resume();
      await c.waitFrame(isTrailers(1), 'the trailers', { timeoutMs: 20_000 });
      expect(c.dataBytes(1)).toBe((total / (64 * KiB)) * messageSize(64 * KiB));
    });

    it('GOAWAY from the client: the open call still completes, then the connection ends', async () => {
      const c = await ready();
      const first = packets.data(1n, Buffer.from('first'));
      const second = packets.data(1n, Buffer.from('second'));
      c.request(1, '/x');
      c.message(1, first);
      await waitFor(() => c.packets(1).length === 1, { description: 'the first echo' });
      c.goaway(1, H2Code.NO_ERROR);
      c.message(1, second, true);
      const trailers = await c.waitFrame(isTrailers(1), 'the trailers');
      expect(headerValue(trailers.headers, 'grpc-status')).toBe('0');
      expect(c.packets(1)).toEqual([first, second]);
      await waitFor(() => c.ended, { description: 'the server to end the connection' });
      expect(sessionErrors).toEqual([]);
    });

    it('close(): GOAWAY, a later request is REFUSED_STREAM, the open call completes and close() resolves', async () => {
      const c = await ready();
      c.request(1, '/x');
      await waitFor(() => calls.length === 1);
      let closed = false;
      const closing = server.close(10_000).then(() => {
        closed = true;
      });
      const goaway = goawayOf(await c.waitFrame((f) => f.type === FrameType.GOAWAY, 'GOAWAY'));
      expect(goaway).toMatchObject({ lastStreamId: 1, code: H2Code.NO_ERROR });
      c.request(3, '/x');
      const rst = await c.waitFrame(isRst(3), 'RST_STREAM of stream 3');
      expect(rstCode(rst)).toBe(H2Code.REFUSED_STREAM);
      expect(calls).toHaveLength(1);
      expect(closed).toBe(false);
      const packet = packets.data(1n, Buffer.from('last words'));
      c.message(1, packet, true);
      await c.waitFrame(isTrailers(1), 'the trailers of stream 1');
      expect(c.packets(1)).toEqual([packet]);
      await closing;
      await waitFor(() => c.ended, { description: 'the connection to end' });
    });

    it('close() without grace: open calls end with UNAVAILABLE', async () => {
      const c = await ready();
      c.request(1, '/hold');
      await waitFor(() => calls.length === 1);
      await server.close();
      const trailers = await c.waitFrame(isTrailers(1), 'the status');
      expect(headerValue(trailers.headers, 'grpc-status')).toBe('14');
      expect(c.framesOf(FrameType.GOAWAY)).toHaveLength(1);
      await waitFor(() => c.ended, { description: 'the connection to end' });
    });

    it("RST_STREAM CANCEL from the client ends the route's stream as cancelled and aborts its signal", async () => {
      const c = await ready();
      c.request(1, '/quiet');
      c.message(1, packets.drain());
      await waitFor(() => calls[0]?.got.packets.length === 1, { description: 'the packet' });
      const signal = calls[0]!.call.signal;
      c.rst(1, H2Code.CANCEL);
      await waitFor(() => calls[0]!.got.ends.length === 1, { description: "the route's end" });
      expect(calls[0]!.got.ends).toEqual([{ kind: 'cancelled' }]);
      expect(signal.aborted).toBe(true);
      expect(calls[0]!.stream.closed).toBe(true);
      await c.sync();
      // The stream is gone: nothing more is written on it.
      expect(c.framesOf(FrameType.RST_STREAM, 1)).toEqual([]);
      expect(server.stats().streams).toBe(0);
    });

    it("END_STREAM from the client ends the route's stream as eof", async () => {
      const c = await ready();
      c.request(1, '/quiet');
      c.message(1, packets.drain(), true);
      await waitFor(() => calls[0]?.got.ends.length === 1, { description: "the route's end" });
      expect(calls[0]!.got.ends).toEqual([{ kind: 'eof' }]);
      expect(calls[0]!.got.packets).toEqual([packets.drain()]);
      expect(calls[0]!.call.signal.aborted).toBe(false);
      await c.waitFrame(isTrailers(1), 'the status');
    });
  });

  describe('keepalive (every 100 ms, 200 ms to answer)', () => {
    beforeEach(async () => {
      await start({ keepalive: { intervalMs: 100, timeoutMs: 200 } });
    });

    it('a client that answers keeps its connection', async () => {
      const c = await ready();
      await waitFor(() => server.stats().keepaliveAcks >= 3, { description: 'three answered pings' });
      expect(c.ended).toBe(false);
      await echoWorks(c, 1);
      expect(sessionErrors).toEqual([]);
    });

    it('a client that does not answer is dropped with a keepalive-timeout error', async () => {
      const c = await ready({ answerPings: false });
      const local = `127.0.0.1:${c.socket.localPort}`;
      await c.waitFrame((f) => f.type === FrameType.PING && (f.flags & Flags.ACK) === 0, "the server's ping");
      await waitFor(() => c.closed, { description: 'the connection to be dropped' });
      expect(sessionErrors).toHaveLength(1);
      const error = sessionErrors[0]!.error;
      expect(error).toBeInstanceOf(H2SessionError);
      expect((error as H2SessionError).reason).toBe('keepalive-timeout');
      expect(sessionErrors[0]!.peer).toBe(local);
      expect(server.stats().keepaliveAcks).toBe(0);
    });
  });
});
