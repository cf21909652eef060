/**
 * Our gRPC servers (on node:http2, and on our own HTTP/2 in wire/) against the real grpc-js client, over TLS (mTLS) on loopback and over a Unix
 * socket: bytes, metadata, status, request checks, deadlines, cancellation, backpressure, GOAWAY, many
 * streams. Keepalive and ping enforcement are in ourServerKeepalive.test.ts.
 */
import * as fs from 'fs';
import * as http2 from 'http2';
import * as grpc from '@grpc/grpc-js';
import { decodePacket, encodePacket } from '../../../src/protocol/codec';
import { packets } from '../../../src/protocol/packet';
import { CONNECT_PATH, PROXY_PATH } from '../../../src/transport/grpcServices';
import { startH2Server } from '../../../src/transport/h2/h2Server';
import {
  startWireServer,
  type WireServer,
  type WireServerCall,
  type WireServerOptions,
} from '../../../src/transport/h2/wire/server';
import type { PacketStream } from '../../../src/transport/packetStream';
import { readVectors } from '../../protocol/goldenVectors';
import { useTlsDir } from '../../helpers/tls';
import { waitFor, waitForStable } from '../../helpers/waitFor';
import { collect, endOf, floodPump, known, type Collected } from './collect';
import { grpcJsCall, makeEndpoint, type Endpoint, type TransportKind } from './peers';

const vectors = readVectors();

const BIG_LIMIT = 8 * 1024 * 1024;
const MiB = 1024 * 1024;

/** A call as our server's route handler saw it. */
interface OurCall {
  readonly call: WireServerCall;
  /** DATA payload bytes a `flood` call has handed to send(). */
  sent: number;
  stream?: PacketStream;
  got?: Collected;
}

/** Route handler scripted by `x-mode`, like the grpc-js peer's. */
function scripted(calls: OurCall[]) {
  return (call: WireServerCall): void => {
    const seen: OurCall = { call, sent: 0 };
    calls.push(seen);
    const mode = call.metadata.text['x-mode']?.[0] ?? 'echo';
    const message = call.metadata.binary['x-message-bin']?.[0]?.toString('utf8') ?? '';
    if (mode === 'refuse') {
      call.refuse(Number(call.metadata.text['x-code']![0]) as 0, message);
      return;
    }
    const reply: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.text)) {
      if (k.startsWith('x-reply-')) reply[k.slice('x-reply-'.length)] = v[0]!;
    }
    const stream = call.accept(Object.keys(reply).length > 0 ? reply : undefined);
    seen.stream = stream;
    const total = Number(call.metadata.text['x-bytes']?.[0] ?? 0);
    const pump = floodPump(stream, seen, total, Buffer.alloc(64 * 1024, 9));
    seen.got = collect(stream, {
      packet: (p) => {
        if (mode === 'echo' && p.type !== 'UNKNOWN') stream.send(known(p));
        if (mode === 'abort') stream.abort(message);
      },
      drain: () => {
        if (mode === 'flood') pump();
      },
      end: () => {
        if (mode === 'echo') stream.close();
      },
    });
    if (mode === 'hold') stream.pauseReceiving();
    if (mode === 'flood') pump();
  };
}

const vectorBytes = vectors.map((v) => Buffer.from(v.hex, 'hex'));

type StartServer = (opts: WireServerOptions) => Promise<WireServer>;
const IMPLEMENTATIONS: ReadonlyArray<readonly [string, StartServer]> = [
  ['node:http2', startH2Server],
  ['own HTTP/2', startWireServer],
];

describe.each(IMPLEMENTATIONS)('%s', (_name, startServer) => {
  describe.each<TransportKind>(['uds', 'tls'])('grpc-js client -> our server over %s', (kind) => {
    const tls = useTlsDir();
    let endpoint: Endpoint;
    let server: WireServer;
    let client: grpc.Client;
    let calls: OurCall[];

    const newClient = (options: grpc.ChannelOptions = {}): grpc.Client =>
      new grpc.Client(endpoint.grpcTargetFor(server.port), endpoint.grpcClientCreds, {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_receive_message_length': BIG_LIMIT,
        ...options,
      });

    beforeEach(async () => {
      endpoint = await makeEndpoint(kind, tls());
      calls = [];
      const route = scripted(calls);
      server = await startServer({
        listen: endpoint.h2Listen,
        ...(endpoint.h2ServerTls ? { tls: endpoint.h2ServerTls } : {}),
        routes: { [PROXY_PATH]: route, [CONNECT_PATH]: route },
        maxReceiveMessageBytes: BIG_LIMIT,
      });
      client = newClient();
    });
    afterEach(async () => {
      client.close();
      await server.close();
      await endpoint.cleanup();
    });

    it('round-trips every golden vector byte for byte', async () => {
      const c = grpcJsCall(client, CONNECT_PATH);
      for (const b of vectorBytes) c.call.write(b);
      c.call.end();
      await waitFor(() => c.status !== undefined, { description: 'the status' });
      expect(calls[0]!.got!.packets.map((p) => encodePacket(known(p)).toString('hex'))).toEqual(
        vectors.map((v) => v.hex),
      );
      expect(c.received.map((b) => b.toString('hex'))).toEqual(vectors.map((v) => v.hex));
      expect(c.status?.code).toBe(grpc.status.OK);
      expect(endOf(calls[0]!.got!)).toEqual({ kind: 'eof' });
    });

    it.each([64 * 1024, 4 * MiB])('round-trips a DATA packet of %i bytes', async (size) => {
      const payload = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4) payload.writeUInt32BE(i, i);
      const wire = encodePacket(packets.data(9n, payload));
      const c = grpcJsCall(client, CONNECT_PATH);
      c.call.write(wire);
      await waitFor(() => c.received.length === 1, { timeoutMs: 20_000, description: 'the echo' });
      expect(c.received[0]!.equals(wire)).toBe(true);
      expect(calls[0]!.got!.bytes).toBe(size);
      c.call.end();
      await waitFor(() => c.status !== undefined);
    });

    it('exposes request metadata (repeated keys, -bin) and sends response headers before any packet', async () => {
      const c = grpcJsCall(client, CONNECT_PATH, {
        agentid: 'node-1',
        'x-multi': ['a', 'b'],
        'x-token-bin': Buffer.from([0, 1, 2, 255]),
        'x-reply-serverid': 'server-7',
        'x-reply-servercount': '3',
      });
      await waitFor(() => c.headers !== undefined, { description: 'response headers' });
      expect(c.headers!.get('serverid')).toEqual(['server-7']);
      expect(c.headers!.get('servercount')).toEqual(['3']);
      expect(c.received).toHaveLength(0);
      const md = calls[0]!.call.metadata;
      expect(md.text['agentid']).toEqual(['node-1']);
      expect(md.text['x-multi']).toEqual(['a', 'b']);
      expect(md.binary['x-token-bin']).toEqual([Buffer.from([0, 1, 2, 255])]);
      expect(md.text['content-type']).toBeUndefined();
      expect(calls[0]!.call.path).toBe(CONNECT_PATH);
      c.call.end();
      await waitFor(() => c.status !== undefined);
    });

    it.each([
      [grpc.status.CANCELLED, 'no agent'],
      [grpc.status.UNAUTHENTICATED, 'bad token'],
      [grpc.status.INTERNAL, 'échec à 100% ⚡'],
    ])('refuse() ends the call with status %i and its message', async (code, message) => {
      const c = grpcJsCall(client, CONNECT_PATH, {
        'x-mode': 'refuse',
        'x-code': String(code),
        'x-message-bin': Buffer.from(message),
      });
      await waitFor(() => c.status !== undefined);
      expect(c.status).toMatchObject({ code, details: message });
    });

    it('abort(reason) ends the call with ABORTED and the reason', async () => {
      const reason = 'malformed packet: 100% sûr';
      const c = grpcJsCall(client, CONNECT_PATH, { 'x-mode': 'abort', 'x-message-bin': Buffer.from(reason) });
      c.call.write(encodePacket(packets.drain()));
      await waitFor(() => c.status !== undefined);
      expect(c.status).toMatchObject({ code: grpc.status.ABORTED, details: reason });
      expect(calls[0]!.got!.ends).toEqual([{ kind: 'local', reason }]);
    });

    it('answers an unknown path with UNIMPLEMENTED', async () => {
      const c = grpcJsCall(client, '/NoService/Nothing');
      await waitFor(() => c.status !== undefined);
      expect(c.status?.code).toBe(grpc.status.UNIMPLEMENTED);
      expect(calls).toHaveLength(0);
    });

    it('ends a message above the receive limit with RESOURCE_EXHAUSTED', async () => {
      const c = grpcJsCall(client, CONNECT_PATH);
      c.call.write(encodePacket(packets.data(1n, Buffer.alloc(BIG_LIMIT + 1))));
      await waitFor(() => c.status !== undefined, { timeoutMs: 20_000 });
      expect(c.status?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(endOf(calls[0]!.got!)).toMatchObject({ kind: 'error', code: 8, reason: 'message-too-large' });
    });

    it('delivers malformed bytes as a value, and the call goes on', async () => {
      const c = grpcJsCall(client, CONNECT_PATH);
      c.call.write(Buffer.from([0x08])); // a truncated varint: not a packet at all
      c.call.write(Buffer.from([0x08, 0x63])); // packet type 99: a packet of a type we do not know
      c.call.write(encodePacket(packets.drain()));
      await waitFor(() => c.received.length === 1);
      expect(calls[0]!.got!.malformed.map((e) => e.reason)).toEqual(['truncated']);
      expect(calls[0]!.got!.packets.map((p) => p.type)).toEqual(['UNKNOWN', 'DRAIN']);
      c.call.end();
      await waitFor(() => c.status !== undefined);
      expect(c.status?.code).toBe(grpc.status.OK);
    });

    it('a grpc-js deadline ends the call with DEADLINE_EXCEEDED and ends our side', async () => {
      // The connection first, so that the deadline is not spent on connecting (the call must reach us).
      const warm = grpcJsCall(client, CONNECT_PATH);
      warm.call.end();
      await waitFor(() => warm.status !== undefined);
      const c = grpcJsCall(client, CONNECT_PATH, { 'x-mode': 'hold' }, { deadline: Date.now() + 1_000 });
      await waitFor(() => c.status !== undefined);
      expect(c.status?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(calls[1]!.call.deadline).toBeDefined();
      // Whichever deadline timer fires first (theirs: a reset; ours: the status), our side has ended.
      await waitFor(() => calls[1]?.got?.ends.length === 1, { description: 'our side of the call to end' });
    });

    it('a cancel from the client ends our stream as cancelled (node:http2 sends END_STREAM first)', async () => {
      const c = grpcJsCall(client, CONNECT_PATH);
      c.call.write(encodePacket(packets.drain()));
      await waitFor(() => c.received.length === 1);
      c.call.cancel();
      await waitFor(() => calls[0]!.got!.ends.length === 1);
      expect(calls[0]!.got!.ends).toEqual([{ kind: 'cancelled' }]);
    });

    it('a cancel reaching a paused stream ends it as cancelled', async () => {
      const c = grpcJsCall(client, CONNECT_PATH, { 'x-mode': 'hold' });
      c.call.write(encodePacket(packets.drain()));
      await waitFor(() => calls[0]?.got !== undefined);
      c.call.cancel();
      await waitFor(() => calls[0]!.got!.ends.length === 1);
      expect(calls[0]!.got!.ends).toEqual([{ kind: 'cancelled' }]);
      expect(calls[0]!.stream!.closed).toBe(true);
    });

    it('backpressure: our paused reader stops the grpc-js writer; memory stays bounded; resuming delivers all', async () => {
      const c = grpcJsCall(client, CONNECT_PATH, { 'x-mode': 'hold' });
      await waitFor(() => calls.length === 1);
      const wire = encodePacket(packets.data(1n, Buffer.alloc(64 * 1024, 1)));
      const limit = 64 * MiB;
      let written = 0;
      const pump = (): void => {
        while (written < limit) {
          written += 64 * 1024;
          if (!c.call.write(wire)) {
            c.call.once('drain', pump);
            return;
          }
        }
      };
      pump();
      const got = calls[0]!.got!;
      const stalled = await waitForStable(() => written, { stableMs: 300 });
      // The writer is stopped far below what it wanted to send: windows and buffers, nothing more.
      expect(stalled).toBeLessThan(16 * MiB);
      expect(got.bytes).toBe(0);
      calls[0]!.stream!.resumeReceiving();
      await waitFor(() => got.bytes === limit, {
        timeoutMs: 30_000,
        description: 'everything after resuming',
      });
      c.call.cancel();
    });

    it('backpressure: a paused grpc-js reader stops our sender until it resumes, nothing lost', async () => {
      const total = 48 * MiB;
      const c = grpcJsCall(client, CONNECT_PATH, { 'x-mode': 'flood', 'x-bytes': String(total) });
      c.call.pause();
      await waitFor(() => calls[0]?.got !== undefined);
      const ours = calls[0]!;
      const stalled = await waitForStable(() => ours.sent, { stableMs: 300 });
      expect(stalled).toBeLessThan(16 * MiB);
      c.call.resume();
      await waitFor(() => c.status !== undefined, { timeoutMs: 30_000 });
      expect(ours.got!.drains).toBeGreaterThan(0);
      expect(c.received.length * 64 * 1024).toBe(total);
      expect(c.status?.code).toBe(grpc.status.OK);
    });

    it('GOAWAY: a graceful close lets open calls finish and refuses new ones; the rest end at the deadline', async () => {
      const c = grpcJsCall(client, CONNECT_PATH);
      c.call.write(encodePacket(packets.drain()));
      await waitFor(() => c.received.length === 1);
      const closing = server.close(60_000);
      await waitFor(() => server.stats().sessions === 1 && !fs.existsSync('/nonexistent'));
      // The open call still works while the server waits for it.
      c.call.write(encodePacket(packets.drain()));
      await waitFor(() => c.received.length === 2);
      calls[0]!.stream!.close();
      await waitFor(() => c.status !== undefined);
      expect(c.status?.code).toBe(grpc.status.OK);
      c.call.end();
      await closing;
      const late = grpcJsCall(client, CONNECT_PATH, {}, { deadline: Date.now() + 2_000 });
      await waitFor(() => late.status !== undefined);
      expect(late.status?.code).not.toBe(grpc.status.OK);
    });

    it('GOAWAY: closing with no grace ends open calls at once with UNAVAILABLE', async () => {
      const c = grpcJsCall(client, CONNECT_PATH);
      c.call.write(encodePacket(packets.drain()));
      await waitFor(() => c.received.length === 1);
      await server.close(0);
      await waitFor(() => c.status !== undefined);
      expect(c.status?.code).toBe(grpc.status.UNAVAILABLE);
      expect(calls[0]!.got!.ends).toEqual([{ kind: 'cancelled' }]);
    });

    it('carries 2000 concurrent calls from one grpc-js channel', async () => {
      const n = 2000;
      const cs = Array.from({ length: n }, (_, i) => {
        const c = grpcJsCall(client, PROXY_PATH);
        c.call.write(encodePacket(packets.dialRequest(`10.0.0.1:${i}`, BigInt(i + 1))));
        return c;
      });
      await waitFor(() => server.stats().streams === n, {
        timeoutMs: 30_000,
        description: 'all streams open at once',
      });
      await waitFor(() => cs.every((c) => c.received.length === 1), { timeoutMs: 30_000 });
      cs.forEach((c, i) =>
        expect(decodePacket(c.received[0]!)).toEqual(packets.dialRequest(`10.0.0.1:${i}`, BigInt(i + 1))),
      );
      for (const c of cs) c.call.end();
      await waitFor(() => cs.every((c) => c.status !== undefined), { timeoutMs: 30_000 });
      expect(new Set(cs.map((c) => c.status?.code))).toEqual(new Set([grpc.status.OK]));
    }, 90_000);
  });

  describe('requests that are not gRPC', () => {
    let server: WireServer;
    let session: http2.ClientHttp2Session;
    beforeAll(async () => {
      server = await startServer({
        listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
        routes: { [CONNECT_PATH]: (call) => call.refuse(0, '') },
      });
      session = http2.connect(`http://127.0.0.1:${server.port}`);
    });
    afterAll(async () => {
      session.close();
      await server.close();
    });

    function request(headers: http2.OutgoingHttpHeaders): Promise<http2.IncomingHttpHeaders> {
      return new Promise((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': CONNECT_PATH, ...headers });
        req.on('response', resolve);
        req.on('error', reject);
        req.end();
        req.resume();
      });
    }

    it('answers a content-type other than application/grpc with 415 and a gRPC status', async () => {
      const h = await request({ 'content-type': 'application/json', te: 'trailers' });
      expect(h[':status']).toBe(415);
      expect(h['grpc-status']).toBe(String(grpc.status.INTERNAL));
    });

    it('accepts a request without te, as grpc-go and grpc-js do', async () => {
      const ok = await request({ 'content-type': 'application/grpc' });
      expect(ok[':status']).toBe(200);
      expect(ok['grpc-status']).toBe('0');
    });

    it('honours grpc-timeout by itself: DEADLINE_EXCEEDED in the trailers, our side ended', async () => {
      const ended: string[] = [];
      const timed = await startServer({
        listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
        routes: {
          [CONNECT_PATH]: (call) =>
            collect(call.accept({ serverid: 's' }), {
              end: (e) =>
                ended.push(e.kind === 'error' ? (e.error as Error & { reason: string }).reason : e.kind),
            }),
        },
      });
      const raw = http2.connect(`http://127.0.0.1:${timed.port}`);
      try {
        const req = raw.request({
          ':method': 'POST',
          ':path': CONNECT_PATH,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': '200m',
        });
        req.on('error', () => {});
        let trailers: http2.IncomingHttpHeaders | undefined;
        req.on('trailers', (t: http2.IncomingHttpHeaders) => {
          trailers = t;
        });
        req.resume();
        await waitFor(() => trailers !== undefined && ended.length === 1, { description: 'the deadline' });
        expect(trailers!['grpc-status']).toBe(String(grpc.status.DEADLINE_EXCEEDED));
        expect(ended).toEqual(['deadline-exceeded']);
      } finally {
        raw.close();
        await timed.close();
      }
    });

    it('a half-close with the reset in a later write (a node:http2 cancel split by the socket) ends our side as cancelled', async () => {
      const ended: string[] = [];
      let accepted = 0;
      const cancelling = await startServer({
        listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
        routes: {
          [CONNECT_PATH]: (call) => {
            accepted++;
            collect(call.accept({ serverid: 's' }), { end: (e) => ended.push(e.kind) });
          },
        },
      });
      const raw = http2.connect(`http://127.0.0.1:${cancelling.port}`);
      try {
        const req = raw.request({
          ':method': 'POST',
          ':path': CONNECT_PATH,
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        req.on('error', () => {});
        req.resume();
        await new Promise<void>((resolve) => req.once('response', () => resolve()));
        // END_STREAM leaves in one write, RST_STREAM CANCEL in the next loop turn: two socket writes.
        req.end(() => setImmediate(() => req.close(http2.constants.NGHTTP2_CANCEL)));
        await waitFor(() => ended.length === 1, { description: 'our side of the call to end' });
        expect(accepted).toBe(1);
        expect(ended).toEqual(['cancelled']);
      } finally {
        raw.close();
        await cancelling.close();
      }
    });

    it('refuses a malformed grpc-timeout with INTERNAL', async () => {
      const h = await request({
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': '10 years',
      });
      expect(h['grpc-status']).toBe(String(grpc.status.INTERNAL));
    });
  });
});
