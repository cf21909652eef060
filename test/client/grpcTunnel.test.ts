import { mkdtemp, rm } from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { DialError, dialViaGrpc, GrpcDialError, TunnelError, type TunnelConnection } from '../../src/client';
import { generateTlsPems } from '../../src/tools/certs';
import { verifyPattern } from '../helpers/pattern';
import { readExactly, readUntilEnd, sendAndReceive, waitForClose } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor, waitForStable } from '../helpers/waitFor';
import { CONNECT_ID, FakeProxyServer, REFUSED_ERROR } from './fakeProxyServer';

describe('dialViaGrpc against a scripted Proxy server on a Unix socket', () => {
  let dir: string;
  let target: string;
  let server: FakeProxyServer;
  const open: TunnelConnection[] = [];

  /** Dials and remembers the connection so afterEach can make sure it is gone. */
  async function dial(address: string, timeoutMs = 5_000): Promise<TunnelConnection> {
    const conn = await dialViaGrpc({ target, address, timeoutMs });
    open.push(conn);
    return conn;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'grpc-tunnel-'));
    target = `unix://${path.join(dir, 'proxy.sock')}`;
    server = new FakeProxyServer();
    await server.listen(target);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => (c.destroy(), waitForClose(c))));
    // Every stream must have been finished by the client: ended or cancelled, never left open.
    await waitFor(() => server.streams.every((s) => s.ended || s.cancelled || s.finished), {
      description: 'all streams finished',
    });
    server.streams.length = 0;
  });
  afterAll(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends DIAL_REQ{tcp, address, random in [1, 2^63)} and resolves with the connectID of the DIAL_RSP', async () => {
    const conn = await dial('echo:1');
    expect(conn.connectID).toBe(CONNECT_ID);
    expect(conn.address).toBe('echo:1');
    const [req] = server.dialRequests();
    expect(req).toMatchObject({ type: 'DIAL_REQ', protocol: 'tcp', address: 'echo:1' });
    expect(typeof req!.random).toBe('bigint');
    expect(req!.random).toBeGreaterThanOrEqual(1n);
    expect(req!.random).toBeLessThan(1n << 63n);
  });

  it('draws a different random for every dial', async () => {
    await dial('echo:1');
    await dial('echo:1');
    const [a, b] = server.dialRequests();
    expect(a!.random).not.toBe(b!.random);
  });

  it('carries bytes both ways as DATA with the connectID (echo, split at 64 KiB)', async () => {
    const conn = await dial('echo:1');
    const payload = Buffer.alloc(300 * 1024, 7);
    const back = await sendAndReceive(conn, payload);
    expect(back.equals(payload)).toBe(true);
    const data = server.streams[0]!.received.filter((p) => p.type === 'DATA');
    expect(
      data.every((p) => p.type === 'DATA' && p.connectID === CONNECT_ID && p.data.length <= 64 * 1024),
    ).toBe(true);
  });

  it('ignores a DIAL_RSP for another random and waits for its own', async () => {
    const conn = await dial('wrong-random:1');
    expect(conn.connectID).toBe(CONNECT_ID);
  });

  it('rejects with a GrpcDialError carrying the server error text verbatim', async () => {
    const err = await dialViaGrpc({ target, address: 'refused:1', timeoutMs: 5_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GrpcDialError);
    expect(err).toMatchObject({ reason: 'error-response', serverError: REFUSED_ERROR, address: 'refused:1' });
    expect((err as Error).message).toContain('connection refused');
  });

  it('rejects with reason dial-closed when the server sends DIAL_CLS for the dial', async () => {
    await expect(dialViaGrpc({ target, address: 'dial-cls:1', timeoutMs: 5_000 })).rejects.toMatchObject({
      reason: 'dial-closed',
    });
  });

  it('on timeout sends DIAL_CLS with the same random, ends the stream and rejects with reason timeout', async () => {
    const err = await dialViaGrpc({ target, address: 'silent:1', timeoutMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DialError);
    expect(err).toMatchObject({ reason: 'timeout' });
    const stream = server.streams[0]!;
    await waitFor(() => stream.received.some((p) => p.type === 'DIAL_CLS'), {
      description: 'DIAL_CLS at the server',
    });
    const [req, cls] = stream.received;
    expect(cls).toEqual({ type: 'DIAL_CLS', random: req!.type === 'DIAL_REQ' ? req!.random : -1n });
    await waitFor(() => stream.ended, { description: 'the client to half-close the stream' });
  });

  it('rejects with reason transport when nothing listens at the target', async () => {
    const missing = `unix://${path.join(dir, 'nobody.sock')}`;
    await expect(dialViaGrpc({ target: missing, address: 'echo:1', timeoutMs: 5_000 })).rejects.toMatchObject(
      {
        reason: 'transport',
      },
    );
  });

  it('close() sends CLOSE_REQ and resolves once CLOSE_RSP arrived and the stream is finished', async () => {
    const conn = await dial('echo:1');
    await conn.close();
    expect(conn.destroyed).toBe(true);
    const stream = server.streams[0]!;
    expect(stream.received.at(-1)).toEqual({ type: 'CLOSE_REQ', connectID: CONNECT_ID });
    // A graceful end: the server finished the stream itself; the client did not cancel it first.
    expect(stream.finished).toBe(true);
    expect(stream.cancelled).toBe(false);
    await conn.close(); // a second close is a no-op
  });

  it('ends the readable side when the server sends CLOSE_RSP, after delivering the DATA before it', async () => {
    const conn = await dial('remote-close:1');
    const all = await readUntilEnd(conn);
    expect(all.toString()).toBe('bye');
    await waitForClose(conn);
    // The endpoint closed first, so the client must not answer with a CLOSE_REQ of its own.
    expect(server.streams[0]!.received.some((p) => p.type === 'CLOSE_REQ')).toBe(false);
  });

  it('destroy() cancels the stream', async () => {
    const conn = await dial('echo:1');
    conn.destroy();
    await waitForClose(conn);
    await waitFor(() => server.streams[0]!.cancelled, { description: 'the server to see the cancel' });
  });

  it('emits a TunnelError when the stream fails after the dial', async () => {
    const conn = await dial('fail:1');
    const failed = new Promise<unknown>((resolve) => conn.once('error', resolve));
    conn.write('boom');
    const err = await failed;
    expect(err).toBeInstanceOf(TunnelError);
    expect(err).toMatchObject({ reason: 'stream-error', connectID: CONNECT_ID });
    expect((err as Error).message).toContain('scripted failure');
  });

  it('stops the server through flow control while the reader is slow, then delivers every byte in order', async () => {
    const total = 16 * 1024 * 1024;
    const conn = await dial(`download:${total}`);
    const stream = server.streams[0]!;
    // Nobody reads yet: the server must get stuck well before it has sent everything.
    const sent = await waitForStable(() => stream.sent, { description: 'server bytes sent' });
    expect(stream.blocked).toBe(true);
    expect(sent).toBeLessThan(total / 2);
    const data = await readExactly(conn, total, 20_000);
    expect(verifyPattern(data)).toBe(true);
  });

  it('holds writes back while the server does not read, then sends them all', async () => {
    const total = 16 * 1024 * 1024;
    const conn = await dial('stall:1');
    const stream = server.streams[0]!;
    let refused = false;
    for (let offset = 0; offset < total; offset += 64 * 1024) {
      if (!conn.write(Buffer.alloc(64 * 1024, 1))) refused = true;
    }
    expect(refused).toBe(true);
    // The bytes must wait in the connection, not pile up inside gRPC.
    const buffered = await waitForStable(() => conn.writableLength, {
      description: 'client writable buffer',
    });
    expect(buffered).toBeGreaterThan(total / 2);
    expect(stream.dataBytes).toBe(0);
    stream.resumeReading();
    await waitFor(() => stream.dataBytes === total, {
      timeoutMs: 20_000,
      description: 'all bytes at the server',
    });
    await waitFor(() => conn.writableLength === 0, { description: 'client buffer drained' });
  });
});

describe('dialViaGrpc over TCP with mTLS', () => {
  const tls = useTlsDir();
  let server: FakeProxyServer;
  let port: number;

  beforeAll(async () => {
    const { pems } = tls();
    server = new FakeProxyServer();
    const credentials = grpc.ServerCredentials.createSsl(
      Buffer.from(pems.ca.cert),
      [{ private_key: Buffer.from(pems.server.key), cert_chain: Buffer.from(pems.server.cert) }],
      true,
    );
    port = await server.listen('127.0.0.1:0', credentials);
  });
  afterAll(() => server.close());

  it.each(['localhost', '127.0.0.1'])(
    'dials through the mTLS frontend port at %s and echoes',
    async (host) => {
      const { pems } = tls();
      const conn = await dialViaGrpc({
        target: `${host}:${port}`,
        // For the IP target, verify against the DNS SAN so grpc-js does not send an IP as SNI (DEP0123).
        tls: {
          ca: pems.ca.cert,
          cert: pems.frontendClient.cert,
          key: pems.frontendClient.key,
          servername: 'localhost',
        },
        address: 'echo:1',
        timeoutMs: 5_000,
      });
      const back = await sendAndReceive(conn, Buffer.from('over tls'));
      expect(back.toString()).toBe('over tls');
      await conn.close();
    },
  );

  it('fails with reason transport when the server certificate is not trusted', async () => {
    const { pems } = tls();
    const other = generateTlsPems();
    await expect(
      dialViaGrpc({
        target: `localhost:${port}`,
        tls: { ca: other.ca.cert, cert: pems.frontendClient.cert, key: pems.frontendClient.key },
        address: 'echo:1',
        timeoutMs: 5_000,
      }),
    ).rejects.toMatchObject({ reason: 'transport' });
  });
});
