/**
 * The agent binary with `--link-transport=h2` (its links to servers on our node:http2 gRPC client) against
 * today's server: it connects, is counted, carries a dial end to end, and by IP sends no IP as TLS name.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { OPEN_SERVER_CONNECTIONS, READY_BACKENDS, startAgent, startServer } from './cluster';

jest.setTimeout(90_000);

const tls = useTlsDir();
let work: string;
let echo: TargetServer;
beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-h2-link-'));
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

it('connects over node:http2 and carries a dial end to end', async () => {
  const server = await startServer(tls(), work, { mode: 'http-connect' });
  const agent = await startAgent(tls(), work, server, {
    agentId: 'h2-agent',
    extraArgs: ['--link-transport=h2', '--proxy-server-host=127.0.0.1', '--alpn-proto=konnectivity'],
  });
  await waitFor(async () => (await agent.metrics()).value(OPEN_SERVER_CONNECTIONS) === 1, {
    description: 'agent connected',
  });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'server sees it',
  });
  const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
  const reply = await sendAndReceive(tunnel, Buffer.from('over h2'), 7, 10_000);
  expect(reply.toString()).toBe('over h2');
  tunnel.destroy();
  expect(agent.process.output()).not.toMatch(/DEP0123|TLS ServerName to an IP/);
});
