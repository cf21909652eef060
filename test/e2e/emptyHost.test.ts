/**
 * A dial address with an empty host (`:80`, `[]:80`, `:0`) once made the agent exit (dns.lookup('') calls
 * back with neither an error nor an address), so one request from a frontend took every tunnel down. It
 * must be a DIAL_RSP error in Go's wording, with or without --allowed-destinations, through either
 * frontend, and the agent must keep serving.
 */
import { mkdtempSync, rmSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { GrpcDialError } from '../../src/client/errors';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import {
  READY_BACKENDS,
  startAgent,
  startServer,
  type Mode,
  type RunningTestAgent,
  type RunningTestServer,
} from './cluster';

jest.setTimeout(90_000);

const tls = useTlsDir();
let work: string;
let echo: TargetServer;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-empty-host-'));
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

/** The raw CONNECT reply (a client library might refuse to send such a request line). */
function rawConnect(server: RunningTestServer, authority: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path: server.socketPath });
    let reply = '';
    socket.on('data', (c: Buffer) => (reply += c.toString('latin1')));
    socket.on('close', () => resolve(reply));
    socket.on('error', reject);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

async function dialError(server: RunningTestServer, authority: string): Promise<string> {
  if (server.mode === 'http-connect') {
    const reply = await rawConnect(server, authority);
    expect(reply).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    return reply.slice(reply.indexOf('\r\n\r\n') + 4).trimEnd();
  }
  const err: unknown = await server.dial(authority).then(
    () => new Error('the dial succeeded'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GrpcDialError);
  return (err as GrpcDialError).serverError;
}

const cases: Array<[Mode, boolean]> = [
  ['http-connect', true],
  ['grpc', true],
  ['http-connect', false],
  ['grpc', false],
];

describe.each(cases)('%s frontend, agent with --allowed-destinations: %s', (mode, withPolicy) => {
  let server: RunningTestServer;
  let agent: RunningTestAgent;
  beforeAll(async () => {
    server = await startServer(tls(), work, { mode });
    agent = await startAgent(tls(), work, server, {
      agentId: `empty-host-${mode}-${withPolicy}`,
      extraArgs: withPolicy ? [`--allowed-destinations=127.0.0.1/32:${echo.port}`] : [],
    });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });
  });
  afterAll(async () => {
    await agent.process.stop('SIGKILL');
    await server.process.stop();
  });

  it.each([
    [':80', 'dial tcp :80: missing address'],
    ['[]:80', 'dial tcp []:80: missing address'],
    [':0', 'dial tcp :0: missing address'],
  ])('%s gets %j and the agent keeps serving', async (authority, expected) => {
    expect(await dialError(server, authority)).toBe(expected);
    agent.process.assertRunning();
    const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
    expect((await sendAndReceive(tunnel, Buffer.from('alive'), 5)).toString()).toBe('alive');
    tunnel.destroy();
  });
});
