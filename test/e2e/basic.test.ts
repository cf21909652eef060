/**
 * The basic life of a tunnel through the real binaries, in both frontend modes, on a Unix socket and on
 * mTLS TCP: a request goes through, failed dials report the Go error text (gRPC) or status (HTTP), and
 * readiness follows the agent.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { GrpcDialError, HttpConnectError } from '../../src/client/errors';
import { httpGet } from '../helpers/http';
import { stopAllProcesses } from '../helpers/processes';
import { refusedPort, startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import {
  OPEN_SERVER_CONNECTIONS,
  startAgent,
  startServer,
  type Mode,
  type FrontendTransport,
} from './cluster';

jest.setTimeout(60_000);

const tls = useTlsDir();
let work: string;
let echo: TargetServer;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-basic-'));
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

const combos: Array<[Mode, FrontendTransport]> = [
  ['grpc', 'uds'],
  ['http-connect', 'uds'],
  ['grpc', 'mtls'],
  ['http-connect', 'mtls'],
];

describe.each(combos)('%s frontend over %s', (mode, transport) => {
  it('is not ready without an agent, becomes ready with one, carries a request, and fails dials like the reference', async () => {
    const server = await startServer(tls(), work, { mode, transport });
    // Readiness: the server answers 500 until an agent is connected, the agent 503 until it has a server.
    expect((await httpGet(server.healthUrl('/readyz'))).status).toBe(500);
    expect((await httpGet(server.healthUrl('/healthz'))).body).toBe('ok');

    const agent = await startAgent(tls(), work, server, { agentId: `node-${mode}-${transport}` });
    await waitFor(async () => (await httpGet(agent.healthUrl('/readyz'))).status === 200, {
      description: 'agent ready',
    });
    await waitFor(async () => (await httpGet(server.healthUrl('/readyz'))).status === 200, {
      description: 'server ready',
    });
    expect((await httpGet(server.healthUrl('/ready'))).body).toBe('ok');
    expect((await agent.metrics()).value(OPEN_SERVER_CONNECTIONS)).toBe(1);

    // A request through the tunnel, byte-exact.
    const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
    const reply = await sendAndReceive(tunnel, Buffer.from('hello through the tunnel'), 24);
    expect(reply.toString()).toBe('hello through the tunnel');
    tunnel.destroy();

    // A refused dial: the agent's Go error text, and 502 in HTTP mode.
    const port = await refusedPort();
    const refused = server.dial(`127.0.0.1:${port}`);
    if (mode === 'grpc') {
      await expect(refused).rejects.toBeInstanceOf(GrpcDialError);
      await expect(refused).rejects.toThrow(`dial tcp 127.0.0.1:${port}: connect: connection refused`);
    } else {
      await expect(refused).rejects.toMatchObject({ status: 502 });
      await expect(refused).rejects.toBeInstanceOf(HttpConnectError);
      await expect(refused).rejects.toThrow(/connection refused/);
    }

    // An unknown host: `no such host`, 502. The empty label makes the resolver fail without asking any
    // name server, so the answer does not depend on the machine's DNS (offline CI resolvers time out).
    const unknown = server.dial('does-not-exist..invalid:10250');
    if (mode === 'grpc')
      await expect(unknown).rejects.toThrow(/dial tcp: lookup does-not-exist\.\.invalid.*: no such host/);
    else
      await expect(unknown).rejects.toMatchObject({
        status: 502,
        body: expect.stringContaining('no such host'),
      });

    // Without agents: `No agent available`, 500 in HTTP mode.
    await agent.process.stop('SIGKILL');
    await waitFor(async () => (await httpGet(server.healthUrl('/readyz'))).status === 500, {
      description: 'server not ready after the agent died',
    });
    const none = server.dial(`127.0.0.1:${echo.port}`);
    if (mode === 'grpc') await expect(none).rejects.toThrow('No agent available');
    else
      await expect(none).rejects.toMatchObject({
        status: 500,
        body: 'currently no tunnels available: No agent available\n',
      });
    await server.process.stop();
  });
});

describe('--event-log=off', () => {
  it('runs a server and an agent with no lifecycle log and carries a request', async () => {
    const server = await startServer(tls(), work, { mode: 'http-connect', extraArgs: ['--event-log=off'] });
    await startAgent(tls(), work, server, { agentId: 'node-no-log', extraArgs: ['--event-log=off'] });
    await waitFor(async () => (await httpGet(server.healthUrl('/readyz'))).status === 200, {
      description: 'server ready',
    });
    const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
    const reply = await sendAndReceive(tunnel, Buffer.from('no log, still a tunnel'), 22);
    expect(reply.toString()).toBe('no log, still a tunnel');
    tunnel.destroy();
  });
});
