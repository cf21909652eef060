/**
 * Operating the server as a deployment does: graceful shutdown lets open connections finish (up to
 * --graceful-shutdown-timeout), the frontend socket is usable by owner and group only, every TLS listener
 * honours --tls-min-version and --cipher-suites, and agents that ping too often are cut off.
 */
import { statSync, mkdtempSync, rmSync } from 'fs';
import * as http2 from 'http2';
import { tmpdir } from 'os';
import * as path from 'path';
import * as tls from 'tls';
import type { Duplex } from 'stream';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer, type Mode, type RunningTestServer } from './cluster';

jest.setTimeout(60_000);

const tlsDir = useTlsDir();
let work: string;
let echo: TargetServer;
beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-ops-'));
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

async function withAgent(server: RunningTestServer, id: string): Promise<void> {
  await startAgent(tlsDir(), work, server, { agentId: id });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'agent up',
  });
}

async function echoes(tunnel: Duplex): Promise<boolean> {
  const reply = await sendAndReceive(tunnel, Buffer.from('still'), 5);
  return reply.toString() === 'still';
}

describe.each(['grpc', 'http-connect'] as Mode[])('%s frontend', (mode) => {
  it('creates the frontend socket for owner and group only', async () => {
    const server = await startServer(tlsDir(), work, { mode });
    expect(statSync(server.socketPath).mode & 0o777).toBe(0o660);
    await server.process.stop();
  });

  it('graceful shutdown: refuses new frontends, lets open connections finish, then exits', async () => {
    const server = await startServer(tlsDir(), work, {
      mode,
      extraArgs: ['--graceful-shutdown-timeout=20s'],
    });
    await withAgent(server, `graceful-${mode}`);
    const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
    expect(await echoes(tunnel)).toBe(true);

    server.process.signal('SIGTERM');
    await server.process.waitForOutput(/graceful shutdown/);
    await expect(server.dial(`127.0.0.1:${echo.port}`, 3000)).rejects.toBeDefined();
    expect(await echoes(tunnel)).toBe(true); // the open connection still works
    tunnel.destroy();
    const exit = await server.process.exited;
    expect(exit.code).toBe(0);
    // It exited because the last connection closed, not because the 20 s timeout ran out.
    expect(server.process.output()).not.toMatch(/graceful shutdown timeout reached/);
  });

  it('graceful shutdown: closes what is still open when the timeout runs out', async () => {
    const server = await startServer(tlsDir(), work, { mode, extraArgs: ['--graceful-shutdown-timeout=1s'] });
    await withAgent(server, `timeout-${mode}`);
    const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
    tunnel.on('error', () => {});
    expect(await echoes(tunnel)).toBe(true);
    // However the frontend learns it (end, error, close); reading lets an end arrive.
    const ended = new Promise<void>((resolve) => {
      for (const e of ['end', 'error', 'close']) tunnel.once(e, () => resolve());
      tunnel.resume();
    });
    server.process.signal('SIGTERM');
    const exit = await server.process.exited;
    expect(exit.code).toBe(0);
    // It waited for the open connection until the timeout said otherwise, then closed it.
    await server.process.waitForOutput(/graceful shutdown timeout reached/);
    await ended;
  });
});

function handshake(port: number, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: tlsDir().pems.ca.cert,
      ...options,
    });
    socket.once('secureConnect', () => {
      resolve(`ok ${socket.getProtocol()} ${socket.getCipher().name}`);
      socket.destroy();
    });
    socket.once('error', (err) => resolve(`refused ${err.message}`));
  });
}

it('honours --tls-min-version and --cipher-suites on the agent port and the mTLS frontend port', async () => {
  const server = await startServer(tlsDir(), work, {
    mode: 'http-connect',
    transport: 'mtls',
    extraArgs: ['--tls-min-version=VersionTLS12', '--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
  });
  const client = {
    cert: tlsDir().pems.frontendClient.cert,
    key: tlsDir().pems.frontendClient.key,
    ALPNProtocols: ['h2', 'http/1.1'],
  };
  for (const port of [server.ports.agent, server.ports.frontend]) {
    expect(await handshake(port, { ...client, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).toMatch(
      /^refused/,
    );
    expect(
      await handshake(port, { ...client, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' }),
    ).toMatch(/^refused/);
    expect(
      await handshake(port, { ...client, maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }),
    ).toBe('ok TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256');
  }
  const tls13 = await startServer(tlsDir(), work, {
    mode: 'grpc',
    extraArgs: ['--tls-min-version=VersionTLS13'],
  });
  expect(await handshake(tls13.ports.agent, { maxVersion: 'TLSv1.2', ALPNProtocols: ['h2'] })).toMatch(
    /^refused/,
  );
  expect(await handshake(tls13.ports.agent, { ALPNProtocols: ['h2'] })).toMatch(/^ok TLSv1\.3/);
});

it('closes the connection of an agent that pings more often than every 30 s (too_many_pings)', async () => {
  const server = await startServer(tlsDir(), work, { mode: 'grpc' });
  const session = http2.connect(`https://localhost:${server.ports.agent}`, { ca: tlsDir().pems.ca.cert });
  const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
  session.on('error', () => {});
  await new Promise<void>((resolve) => session.once('connect', () => resolve()));
  for (let i = 0; i < 4 && !session.closed; i++) {
    await new Promise<void>((resolve) => {
      if (!session.ping(() => resolve())) resolve();
    });
  }
  expect(await goaway).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  await server.process.waitForOutput(/too_many_pings/);
  session.destroy();
});
