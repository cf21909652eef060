/**
 * Our node:http2 gRPC client against the real grpc-js server, over TLS (mTLS) on loopback and over a Unix
 * socket: bytes, metadata, status, cancellation, backpressure, keepalive, GOAWAY and many streams.
 */
import * as grpc from '@grpc/grpc-js';
import { decodePacket, encodePacket } from '../../../src/protocol/codec';
import { packets } from '../../../src/protocol/packet';
import { CONNECT_PATH, PROXY_PATH } from '../../../src/transport/grpcServices';
import { H2Client } from '../../../src/transport/h2/h2Client';
import { readVectors } from '../../protocol/goldenVectors';
import { useTlsDir } from '../../helpers/tls';
import { waitFor, waitForStable } from '../../helpers/waitFor';
import { collect, endOf, known } from './collect';
import { GrpcJsServer, makeEndpoint, type Endpoint, type TransportKind } from './peers';

const vectors = readVectors();

/** Above gRPC's default 4 MiB receive limit, so both peers are told to take 8 MiB where needed. */
const BIG_LIMIT = 8 * 1024 * 1024;
const MiB = 1024 * 1024;

describe.each<TransportKind>(['uds', 'tls'])('our client -> grpc-js server over %s', (kind) => {
  const tls = useTlsDir();
  let endpoint: Endpoint;
  let server: GrpcJsServer;
  let client: H2Client;

  beforeEach(async () => {
    endpoint = await makeEndpoint(kind, tls());
    server = new GrpcJsServer({ 'grpc.max_receive_message_length': BIG_LIMIT });
    await server.start(endpoint);
    client = await H2Client.connect({
      target: endpoint.h2Target(server.port),
      ...(endpoint.h2ClientTls ? { tls: endpoint.h2ClientTls } : {}),
      maxReceiveMessageBytes: BIG_LIMIT,
    });
  });
  afterEach(async () => {
    client.destroy();
    await server.stop();
    await endpoint.cleanup();
  });

  it('round-trips every golden vector byte for byte', async () => {
    const call = client.openCall(CONNECT_PATH);
    const got = collect(call.stream);
    for (const v of vectors) call.stream.send(known(decodePacket(Buffer.from(v.hex, 'hex'))));
    call.stream.close();
    await waitFor(() => got.ends.length === 1, { description: 'the call to end' });
    expect(server.calls[0]!.received.map((b) => b.toString('hex'))).toEqual(vectors.map((v) => v.hex));
    expect(got.packets.map((p) => encodePacket(known(p)).toString('hex'))).toEqual(vectors.map((v) => v.hex));
    expect(endOf(got)).toEqual({ kind: 'eof' });
  });

  it.each([64 * 1024, 4 * MiB])('round-trips a DATA packet of %i bytes', async (size) => {
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) payload.writeUInt32BE(i, i);
    const call = client.openCall(CONNECT_PATH);
    let echoed: Buffer | undefined;
    const got = collect(call.stream, (p) => {
      if (p.type === 'DATA') echoed = Buffer.from(p.data);
    });
    let written = false;
    call.stream.send(packets.data(7n, payload), () => (written = true));
    await waitFor(() => echoed !== undefined, { description: 'the echo', timeoutMs: 20_000 });
    expect(written).toBe(true);
    expect(echoed!.equals(payload)).toBe(true);
    expect(server.calls[0]!.received[0]!.equals(encodePacket(packets.data(7n, payload)))).toBe(true);
    call.stream.close();
    await waitFor(() => got.ends.length === 1);
  });

  it('sends request metadata (repeated keys, -bin) and reads response headers before any packet', async () => {
    const call = client.openCall(CONNECT_PATH, {
      agentid: 'node-1',
      agentidentifiers: 'host=node-1&ipv4=10.0.0.5',
      'x-multi': ['a', 'b'],
      'x-token-bin': Buffer.from([0, 1, 2, 255]),
      'x-reply-serverid': 'server-7',
      'x-reply-servercount': '3',
    });
    collect(call.stream);
    const headers = await call.headers();
    expect(headers?.text['serverid']).toEqual(['server-7']);
    expect(headers?.text['servercount']).toEqual(['3']);
    const md = server.calls[0]!.metadata;
    expect(md.get('agentid')).toEqual(['node-1']);
    expect(md.get('agentidentifiers')).toEqual(['host=node-1&ipv4=10.0.0.5']);
    // Two header fields on the wire; grpc-js (through node:http2's header object) joins them.
    expect(md.get('x-multi')).toEqual(['a, b']);
    expect(md.get('x-token-bin')).toEqual([Buffer.from([0, 1, 2, 255])]);
    call.stream.close();
  });

  it.each([
    [grpc.status.CANCELLED, 'server cancelled', { kind: 'cancelled' }],
    [grpc.status.RESOURCE_EXHAUSTED, 'too much', { kind: 'error', code: 8, message: 'too much' }],
    [grpc.status.INTERNAL, 'échec à 100% ⚡', { kind: 'error', code: 13, message: 'échec à 100% ⚡' }],
  ])('reads status %i from the trailers with its message', async (code, message, expected) => {
    const call = client.openCall(CONNECT_PATH, {
      'x-mode': 'status',
      'x-code': String(code),
      'x-message-bin': Buffer.from(message),
    });
    const got = collect(call.stream);
    call.stream.send(packets.drain());
    await waitFor(() => got.ends.length === 1, { description: 'the status' });
    expect(endOf(got)).toMatchObject(expected);
    expect(call.status()).toMatchObject({ code, details: message });
  });

  it('reads OK as an end of stream after every packet', async () => {
    const call = client.openCall(PROXY_PATH);
    const got = collect(call.stream);
    call.stream.send(packets.dialRequest('10.0.0.1:443', 5n));
    call.stream.close();
    await waitFor(() => got.ends.length === 1);
    expect(got.packets).toHaveLength(1);
    expect(endOf(got)).toEqual({ kind: 'eof' });
    expect(call.status()?.code).toBe(grpc.status.OK);
  });

  it('gets UNIMPLEMENTED for an unknown path', async () => {
    const call = client.openCall('/NoService/Nothing');
    const got = collect(call.stream);
    await waitFor(() => got.ends.length === 1);
    expect(endOf(got)).toMatchObject({ kind: 'error', code: grpc.status.UNIMPLEMENTED });
  });

  it('gets RESOURCE_EXHAUSTED when a message exceeds the server limit', async () => {
    const call = client.openCall(CONNECT_PATH);
    const got = collect(call.stream);
    call.stream.send(packets.data(1n, Buffer.alloc(BIG_LIMIT + 1)));
    await waitFor(() => got.ends.length === 1, { timeoutMs: 20_000 });
    expect(endOf(got)).toMatchObject({ kind: 'error', code: grpc.status.RESOURCE_EXHAUSTED });
  });

  it('ends a message above our own limit from the server with RESOURCE_EXHAUSTED and cancels the call', async () => {
    const small = await H2Client.connect({
      target: endpoint.h2Target(server.port),
      ...(endpoint.h2ClientTls ? { tls: endpoint.h2ClientTls } : {}),
      maxReceiveMessageBytes: 1024,
    });
    try {
      const call = small.openCall(CONNECT_PATH);
      const got = collect(call.stream);
      call.stream.send(packets.data(1n, Buffer.alloc(4096)));
      await waitFor(() => got.ends.length === 1);
      expect(endOf(got)).toMatchObject({ kind: 'error', code: 8, reason: 'message-too-large' });
      await waitFor(() => server.calls[0]!.cancelled, { description: 'the server to see the cancel' });
    } finally {
      small.destroy();
    }
  });

  it('cancels: abort() resets the stream and the server sees a cancelled call', async () => {
    const call = client.openCall(CONNECT_PATH);
    const got = collect(call.stream);
    call.stream.send(packets.drain());
    await waitFor(() => server.calls[0]?.received.length === 1);
    call.stream.abort('test is done');
    expect(got.ends).toEqual([{ kind: 'local', reason: 'test is done' }]);
    await waitFor(() => server.calls[0]!.cancelled, { description: 'the server to see the cancel' });
    expect(call.stream.send(packets.drain())).toBe(true); // after the end: accepted and dropped
  });

  it('backpressure: a server that stops reading stops our writer; memory stays bounded; resuming drains', async () => {
    const call = client.openCall(CONNECT_PATH, { 'x-mode': 'hold' });
    const got = collect(call.stream);
    await call.headers();
    const chunk = Buffer.alloc(64 * 1024, 1);
    let accepted = 0;
    while (call.stream.send(packets.data(1n, chunk))) {
      accepted += chunk.length;
      if (accepted > 64 * MiB) break;
    }
    // Windows (4 MiB stream, grpc-js's own buffers) plus our high-water mark: far below what we tried.
    expect(accepted).toBeLessThan(16 * MiB);
    await waitForStable(() => got.drains, { stableMs: 300 });
    expect(got.drains).toBe(0);
    server.calls[0]!.call.resume();
    await waitFor(() => got.drains === 1, { description: 'drain after the server resumed' });
    await waitFor(() => server.calls[0]!.received.length * chunk.length >= accepted, { timeoutMs: 20_000 });
    call.stream.abort('done');
  });

  it('backpressure: our paused reader stops a flooding server until resumed, nothing lost', async () => {
    const total = 48 * MiB;
    const call = client.openCall(CONNECT_PATH, { 'x-mode': 'flood', 'x-bytes': String(total) });
    let pausedOnce = false;
    const got = collect(call.stream, () => {
      if (pausedOnce || got.bytes < 4 * MiB) return;
      pausedOnce = true;
      call.stream.pauseReceiving();
    });
    await waitFor(() => got.bytes >= 4 * MiB);
    const stalled = await waitForStable(() => got.bytes, { stableMs: 300 });
    expect(stalled).toBeLessThan(total);
    expect(got.ends).toHaveLength(0);
    call.stream.resumeReceiving();
    await waitFor(() => got.ends.length === 1, { timeoutMs: 30_000 });
    expect(got.bytes).toBe(total);
    expect(endOf(got)).toEqual({ kind: 'eof' });
  });

  it('keepalive pings are acknowledged by the grpc-js server and calls go on', async () => {
    const pinging = await H2Client.connect({
      target: endpoint.h2Target(server.port),
      ...(endpoint.h2ClientTls ? { tls: endpoint.h2ClientTls } : {}),
      keepalive: { intervalMs: 20, timeoutMs: 5_000 },
    });
    try {
      const call = pinging.openCall(CONNECT_PATH);
      const got = collect(call.stream);
      await waitFor(() => pinging.keepaliveAcks >= 5, { description: '5 acknowledged pings' });
      call.stream.send(packets.drain());
      await waitFor(() => got.packets.length === 1);
      expect(pinging.unusable).toBe(false);
      call.stream.close();
      await waitFor(() => got.ends.length === 1);
      expect(endOf(got)).toEqual({ kind: 'eof' });
    } finally {
      pinging.destroy();
    }
  });

  it('GOAWAY: a server shutting down ends open calls with a clear reason and refuses new ones', async () => {
    const call = client.openCall(CONNECT_PATH);
    const got = collect(call.stream);
    call.stream.send(packets.drain());
    await waitFor(() => got.packets.length === 1);
    await server.stop();
    await waitFor(() => got.ends.length === 1, { description: 'the call to end' });
    expect(endOf(got)).toMatchObject({ kind: 'error', code: grpc.status.UNAVAILABLE });
    expect(client.unusable).toBe(true);
    const late = client.openCall(CONNECT_PATH);
    const lateGot = collect(late.stream);
    await waitFor(() => lateGot.ends.length === 1);
    expect(endOf(lateGot)).toMatchObject({ kind: 'error', code: grpc.status.UNAVAILABLE });
  });

  it('carries 2000 concurrent calls on one session', async () => {
    const n = 2000;
    const calls = Array.from({ length: n }, (_, i) => {
      const call = client.openCall(PROXY_PATH);
      const got = collect(call.stream);
      call.stream.send(packets.dialRequest(`10.0.0.1:${i}`, BigInt(i + 1)));
      return { call, got };
    });
    await waitFor(() => server.calls.length === n, {
      timeoutMs: 30_000,
      description: 'all calls at the server',
    });
    await waitFor(() => calls.every((c) => c.got.packets.length === 1), { timeoutMs: 30_000 });
    expect(calls.map((c) => c.got.packets[0])).toEqual(
      calls.map((_, i) => packets.dialRequest(`10.0.0.1:${i}`, BigInt(i + 1))),
    );
    for (const c of calls) c.call.stream.close();
    await waitFor(() => calls.every((c) => c.got.ends.length === 1), { timeoutMs: 30_000 });
    expect(new Set(calls.map((c) => endOf(c.got)?.['kind']))).toEqual(new Set(['eof']));
  }, 90_000);
});
