/**
 * `--proxy-server-host` given as an IP: the agent must not send the IP as TLS server name (Node prints its
 * DEP0123 warning for that), and must still verify the server's certificate against that IP.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { stopAllProcesses } from '../helpers/processes';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { OPEN_SERVER_CONNECTIONS, READY_BACKENDS, startAgent, startServer } from './cluster';

jest.setTimeout(60_000);

const tls = useTlsDir();
let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-server-name-'));
});
afterAll(async () => {
  await stopAllProcesses();
  rmSync(work, { recursive: true, force: true });
});

it.each(['h2', 'grpc-js'])(
  'connects to 127.0.0.1 (an IP SAN of the test certificate) without a DEP0123 warning, link on %s',
  async (link) => {
    const server = await startServer(tls(), work, { mode: 'grpc' });
    const agent = await startAgent(tls(), work, server, {
      agentId: `ip-host-agent-${link}`,
      // The last --proxy-server-host wins over the helper's localhost.
      extraArgs: ['--proxy-server-host=127.0.0.1', `--link-transport=${link}`],
    });
    await waitFor(async () => (await agent.metrics()).value(OPEN_SERVER_CONNECTIONS) === 1, {
      description: 'agent connected',
    });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'server sees it',
    });
    expect(agent.process.output()).not.toMatch(/DEP0123|TLS ServerName to an IP/);
  },
);

it('still verifies the certificate against the IP: 127.0.0.2 is not in it, so the agent is refused', async () => {
  const server = await startServer(tls(), work, {
    mode: 'grpc',
    extraArgs: ['--agent-bind-address=127.0.0.2'],
  });
  const agent = await startAgent(tls(), work, server, {
    agentId: 'wrong-ip-agent',
    extraArgs: ['--proxy-server-host=127.0.0.2'],
  });
  await agent.process.waitForOutput(/cannot connect to proxy server.*127\.0\.0\.2.*not in the cert/);
  expect((await agent.metrics()).value(OPEN_SERVER_CONNECTIONS)).toBe(0);
  expect((await server.metrics()).value(READY_BACKENDS)).toBe(0);
  expect(agent.process.output()).not.toMatch(/DEP0123/);
});
