import { mkdtemp, rm } from 'fs/promises';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { DialError, dialViaHttpConnect, HttpConnectError } from '../../src/client';
import { startDownloadServer, startEchoServer, verifyPattern, type TargetServer } from '../helpers/targets';
import { download, readExactly, sendAndReceive, waitForClose } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { BAD_GATEWAY_BODY, FakeConnectProxy, NO_AGENT_BODY } from './fakeConnectProxy';

describe('dialViaHttpConnect over a Unix socket', () => {
  let dir: string;
  let socketPath: string;
  let proxy: FakeConnectProxy;
  let echo: TargetServer;
  const sockets: net.Socket[] = [];

  async function dial(
    address: string,
    extra: { initialData?: Buffer; strict?: boolean } = {},
  ): Promise<net.Socket> {
    const socket = await dialViaHttpConnect({ socketPath, address, timeoutMs: 5_000, ...extra });
    sockets.push(socket);
    return socket;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'http-connect-'));
    socketPath = path.join(dir, 'proxy.sock');
    proxy = FakeConnectProxy.plain();
    await proxy.listen({ path: socketPath });
    echo = await startEchoServer();
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => (s.destroy(), waitForClose(s))));
    // Whatever the outcome, the client must not leave a connection to the proxy behind.
    await waitFor(() => proxy.open === 0, { description: 'the proxy to have no open connections' });
    proxy.requests.length = 0;
    proxy.greeting = Buffer.alloc(0);
  });
  afterAll(async () => {
    await Promise.all([proxy.close(), echo.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('sends CONNECT <address> with Host: 127.0.0.1, like kube-apiserver, and tunnels bytes', async () => {
    const socket = await dial(echo.address);
    expect(proxy.requests).toEqual([
      expect.objectContaining({ method: 'CONNECT', url: echo.address, host: '127.0.0.1' }),
    ]);
    expect((await sendAndReceive(socket, Buffer.from('ping'))).toString()).toBe('ping');
  });

  it('loses no byte: pipelined bytes reach the target, bytes sent with the 200 head reach the caller', async () => {
    proxy.greeting = Buffer.from('greeting|');
    const socket = await dial(echo.address, { initialData: Buffer.from('early') });
    // The proxy got "early" together with the request head, as a server must accept.
    expect(proxy.requests[0]!.head.toString()).toBe('early');
    // The greeting arrived in the same read as the head: the client must have put it back.
    expect((await readExactly(socket, 'greeting|early'.length)).toString()).toBe('greeting|early');
    expect((await sendAndReceive(socket, Buffer.from('more'))).toString()).toBe('more');
  });

  it("hands over a socket that flows as soon as the caller adds a 'data' listener", async () => {
    proxy.greeting = Buffer.from('hello');
    const socket = await dial(echo.address);
    const got = await new Promise<string>((resolve) =>
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString())),
    );
    expect(got).toBe('hello');
  }, 5_000);

  it('assembles a success head that arrives in pieces', async () => {
    const socket = await dial('split-head:1');
    expect((await readExactly(socket, 'after-split'.length)).toString()).toBe('after-split');
  });

  it('rejects a 502 with HttpConnectError, reading the body by Content-Length while the proxy keeps the connection open', async () => {
    const err = await dial('bad-gateway:1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpConnectError);
    expect(err).toMatchObject({
      reason: 'error-response',
      status: 502,
      statusText: 'Bad Gateway',
      body: BAD_GATEWAY_BODY,
    });
    expect((err as HttpConnectError).headers['content-type']).toBe('text/plain');
  });

  it('reads an error body without Content-Length up to the close (the reference server style)', async () => {
    await expect(dial('no-agent:1')).rejects.toMatchObject({ status: 500, body: NO_AGENT_BODY });
  });

  it('decodes a chunked error body', async () => {
    await expect(dial('chunked:1')).rejects.toMatchObject({ status: 503, body: 'too many open files' });
  });

  it('by default accepts only the exact success head the reference writes', async () => {
    const err = await dial('extra-header:1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DialError);
    expect(err).toMatchObject({ reason: 'protocol' });
  });

  it('with strict: false accepts any 200 head, as kube-apiserver does', async () => {
    const socket = await dial('extra-header:1', { strict: false });
    expect((await sendAndReceive(socket, Buffer.from('x'))).toString()).toBe('x');
  });

  it('rejects with reason timeout when the proxy never answers', async () => {
    await expect(
      dialViaHttpConnect({ socketPath, address: 'silent:1', timeoutMs: 100 }),
    ).rejects.toMatchObject({
      reason: 'timeout',
    });
  });

  it('rejects with reason transport when nothing listens on the socket path', async () => {
    await expect(
      dialViaHttpConnect({
        socketPath: path.join(dir, 'nobody.sock'),
        address: echo.address,
        timeoutMs: 5_000,
      }),
    ).rejects.toMatchObject({ reason: 'transport', message: expect.stringContaining('ENOENT') });
  });
});

describe('dialViaHttpConnect over TCP with mTLS', () => {
  const tls = useTlsDir();
  let proxy: FakeConnectProxy;
  let downloads: TargetServer;

  beforeAll(async () => {
    const { pems } = tls();
    proxy = FakeConnectProxy.mtls({ ca: pems.ca.cert, cert: pems.server.cert, key: pems.server.key });
    await proxy.listen({ port: 0, host: '127.0.0.1' });
    downloads = await startDownloadServer();
  });
  afterAll(async () => {
    await Promise.all([proxy.close(), downloads.close()]);
  });

  it('tunnels a 4 MiB download intact with the frontend client certificate', async () => {
    const { pems } = tls();
    const socket = await dialViaHttpConnect({
      host: '127.0.0.1',
      port: proxy.port,
      tls: { ca: pems.ca.cert, cert: pems.frontendClient.cert, key: pems.frontendClient.key },
      address: downloads.address,
      timeoutMs: 5_000,
    });
    const data = await download(socket, 4 * 1024 * 1024);
    expect(data.length).toBe(4 * 1024 * 1024);
    expect(verifyPattern(data)).toBe(true);
    await waitForClose(socket);
  });

  it('rejects with reason transport when no client certificate is presented', async () => {
    const { pems } = tls();
    await expect(
      dialViaHttpConnect({
        host: '127.0.0.1',
        port: proxy.port,
        tls: { ca: pems.ca.cert },
        address: downloads.address,
        timeoutMs: 5_000,
      }),
    ).rejects.toMatchObject({ reason: 'transport' });
  });
});
