/**
 * How our node:http2 gRPC server listens: a stream on which both sides write megabytes at once completes
 * (sessions read while their writes wait), the accept queue, TLS handshake pacing.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'fs';
import * as net from 'net';
import * as path from 'path';
import { packets, type Packet } from '../../../src/protocol/packet';
import {
  deserializeIncoming,
  PROXY_PATH,
  serializePacket,
  type Incoming,
} from '../../../src/transport/grpcServices';
import { STREAM_WINDOW_BYTES } from '../../../src/transport/grpcWindows';
import { HANDSHAKES_IN_FLIGHT } from '../../../src/transport/h2/handshakePacing';
import { startH2Server, type H2Server } from '../../../src/transport/h2/h2Server';
import { listenBacklog } from '../../../src/transport/listenBacklog';
import { readServerTls } from '../../../src/transport/tlsFiles';
import { readNudgeStats } from '../../../src/transport/h2/readNudge';
import { ReadWhileWritingSocket } from '../../../src/transport/h2/readWhileWritingSocket';
import { useScratch } from '../../helpers/scratch';
import { useTlsDir } from '../../helpers/tls';
import { waitFor } from '../../helpers/waitFor';

/** Only stops a hung test. */
jest.setTimeout(120_000);

const tls = useTlsDir();
const scratch = useScratch('knp-listeners-');

const CHUNK = 64 * 1024;
/** Each side sends this much at once: far more than a Unix socket's kernel buffers (~200 KB a side). */
const EACH_WAY = 8 * 1024 * 1024;

function sendAll(write: (p: Packet) => boolean, drained: () => Promise<void>): Promise<void> {
  return (async () => {
    for (let sent = 0; sent < EACH_WAY; sent += CHUNK) {
      if (!write(packets.data(1n, Buffer.alloc(CHUNK, 7)))) await drained();
    }
  })();
}

describe('our gRPC server', () => {
  it('completes a stream on which both sides write megabytes at once (Node peers would both stop reading)', async () => {
    const nudgesBefore = readNudgeStats().nudges;
    let serverReceived = 0;
    const fallbacks: string[] = [];
    const socketPath = path.join(scratch.dir(), 'both-ways.sock');
    const started: H2Server = await startH2Server({
      listen: { kind: 'uds', path: socketPath },
      onFallback: (why) => fallbacks.push(why),
      routes: {
        [PROXY_PATH]: (call) => {
          const stream = call.accept();
          let drained: () => void = () => {};
          let clientDone: () => void = () => {};
          const ended = new Promise<void>((resolve) => (clientDone = resolve));
          stream.attach({
            packet: (p) => {
              if (p.type === 'DATA') serverReceived += p.data.length;
            },
            malformed: () => {},
            drain: () => drained(),
            end: () => clientDone(),
          });
          const sent = sendAll(
            (p) => stream.send(p),
            () => new Promise((resolve) => (drained = resolve)),
          );
          // The status ends the call for both sides: send it only once everything has crossed.
          void Promise.all([sent, ended]).then(() => stream.close());
        },
      },
    });
    scratch.defer(() => started.close());

    const client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc-node.flow_control_window': STREAM_WINDOW_BYTES,
    });
    scratch.defer(() => client.close());
    const call = client.makeBidiStreamRequest<Packet, Incoming>(
      PROXY_PATH,
      serializePacket,
      deserializeIncoming,
      new grpc.Metadata(),
      {},
    );
    scratch.defer(() => call.cancel());
    let clientReceived = 0;
    call.on('data', (p: Incoming) => {
      if (!(p instanceof Error) && p.type === 'DATA') clientReceived += p.data.length;
    });
    call.on('error', () => undefined);
    void sendAll(
      (p) => call.write(p),
      () => new Promise((resolve) => call.once('drain', () => resolve())),
    ).then(() => call.end());

    await waitFor(() => serverReceived === EACH_WAY && clientReceived === EACH_WAY, {
      description: 'all bytes both ways',
      timeoutMs: 60_000,
    });
    // The session ran on its native socket and was nudged (readNudge.ts); the wrapper is the fallback.
    expect(fallbacks).toEqual([]);
    expect(readNudgeStats().nudges).toBeGreaterThan(nudgesBefore);
    await scratch.runCleanups();
    // Nothing of the nudge outlives its session (no timer, no place in the sweep).
    await waitFor(() => readNudgeStats().live === 0, { description: 'no nudge left after the close' });
  });

  it('asks the kernel for a backlog of thousands and reports what somaxconn grants', () => {
    expect(listenBacklog(8192, () => '4096\n')).toEqual({
      requested: 8192,
      effective: 4096,
      somaxconn: 4096,
    });
    expect(listenBacklog(8192, () => '65535')).toEqual({
      requested: 8192,
      effective: 8192,
      somaxconn: 65535,
    });
    expect(
      listenBacklog(8192, () => {
        throw new Error('ENOENT');
      }),
    ).toEqual({ requested: 8192, effective: 8192, somaxconn: null });
  });
});

describe('our TLS gRPC server', () => {
  it('still admits a real client while more silent peers than handshake slots hold connections open', async () => {
    const fallbacks: string[] = [];
    const started = await startH2Server({
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      tls: readServerTls({ cert: tls().clusterCert, key: tls().clusterKey }, 'cluster'),
      // Pacing and read-while-writing both hook Node's listeners by name: both must have found them.
      onFallback: (why) => fallbacks.push(why),
      routes: {
        [PROXY_PATH]: (call) => {
          const stream = call.accept();
          stream.attach({ packet: () => {}, malformed: () => {}, drain: () => {}, end: () => {} });
          stream.send(packets.data(1n, Buffer.from('welcome')));
          stream.close();
        },
      },
    });
    scratch.defer(() => started.close());
    expect(fallbacks).toEqual([]);
    // Connected, never a ClientHello: each would hold a slot until Node's 120 s handshake timeout.
    const silent = await Promise.all(
      Array.from(
        { length: HANDSHAKES_IN_FLIGHT * 2 },
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(started.port, '127.0.0.1', () => resolve(s));
            s.on('error', () => undefined);
          }),
      ),
    );
    scratch.defer(() => silent.forEach((s) => s.destroy()));

    const client = new grpc.Client(
      `127.0.0.1:${started.port}`,
      grpc.credentials.createSsl(readFileSync(tls().caCert)),
      {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.ssl_target_name_override': 'localhost',
        'grpc.default_authority': 'localhost',
      },
    );
    scratch.defer(() => client.close());
    const call = client.makeBidiStreamRequest<Packet, Incoming>(
      PROXY_PATH,
      serializePacket,
      deserializeIncoming,
      new grpc.Metadata(),
      {},
    );
    call.on('error', () => undefined);
    const first = new Promise<Incoming>((resolve) => call.once('data', resolve));
    let got: Incoming | undefined;
    void first.then((p) => (got = p));
    await waitFor(() => got !== undefined, { description: 'the real client served', timeoutMs: 60_000 });
    expect(got).toMatchObject({ type: 'DATA', data: Buffer.from('welcome') });
    call.end();
  });
});
describe('ReadWhileWritingSocket', () => {
  it('completes writes at once up to its limit, then only as a peer that stopped reading drains', async () => {
    const socketPath = path.join(scratch.dir(), 'limit.sock');
    const accepted = new Promise<net.Socket>((resolve) => {
      const srv = net.createServer((s) => resolve(s));
      srv.listen(socketPath);
      scratch.defer(() => new Promise<void>((r) => srv.close(() => r())));
    });
    const raw = net.connect(socketPath);
    const peer = await accepted;
    peer.pause();
    scratch.defer(() => {
      raw.destroy();
      peer.destroy();
    });
    const limit = 1024 * 1024;
    const wrapped = new ReadWhileWritingSocket(raw, limit);
    let completed = 0;
    const total = 4 * limit;
    for (let sent = 0; sent < total; sent += CHUNK)
      wrapped.write(Buffer.alloc(CHUNK), () => (completed += CHUNK));
    // Beyond the limit the peer's silence holds the writer back instead of queueing without end.
    await waitFor(() => completed >= limit, { description: 'writes up to the limit completed' });
    expect(completed).toBeLessThan(total);
    expect(wrapped.writableLength).toBeGreaterThan(0);

    let read = 0;
    peer.on('data', (d: Buffer) => (read += d.length));
    peer.resume();
    await waitFor(() => completed === total && read === total, {
      description: 'writes complete as the peer reads',
    });
  });
});
