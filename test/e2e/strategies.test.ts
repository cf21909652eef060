/**
 * --proxy-strategies with real agents: destHost sends a dial to the agent that named the destination host,
 * defaultRoute catches the rest, an address nothing matches gets `No agent available`, and readiness
 * follows the first strategy.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { httpGet } from '../helpers/http';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { startAgent, startServer, type RunningTestAgent } from './cluster';

jest.setTimeout(60_000);

const tls = useTlsDir();
let work: string;
let echo: TargetServer;
beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-strategies-'));
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

const dials = async (agent: RunningTestAgent): Promise<number> =>
  (await agent.metrics()).sum('konnectivity_network_proxy_agent_dial_duration_seconds_count');

it('routes by destination host first, then to the default-route agent', async () => {
  const server = await startServer(tls(), work, {
    mode: 'http-connect',
    extraArgs: ['--proxy-strategies=destHost,defaultRoute'],
  });
  // Readiness follows the first strategy: an agent without identifiers does not make destHost ready.
  const plain = await startAgent(tls(), work, server, { agentId: 'plain' });
  await waitFor(async () => (await httpGet(plain.healthUrl('/readyz'))).status === 200, {
    description: 'plain agent up',
  });
  expect((await httpGet(server.healthUrl('/readyz'))).status).toBe(500);

  // The echo target listens on 127.0.0.1; the node agent names it, the gateway agent takes the rest.
  const node = await startAgent(tls(), work, server, {
    agentId: 'node',
    identifiers: 'host=localhost&ipv4=127.0.0.1',
  });
  const gateway = await startAgent(tls(), work, server, {
    agentId: 'gateway',
    identifiers: 'default-route=true',
  });
  await waitFor(async () => (await httpGet(server.healthUrl('/readyz'))).status === 200, {
    description: 'server ready',
  });

  for (let i = 0; i < 5; i++) {
    const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
    expect((await sendAndReceive(tunnel, Buffer.from('node'), 4)).toString()).toBe('node');
    tunnel.destroy();
  }
  expect(await dials(node)).toBe(5);
  expect(await dials(gateway)).toBe(0);

  // No agent names 127.0.0.2: the gateway (default route) takes the dial; nothing listens there.
  await expect(server.dial(`127.0.0.2:${echo.port}`)).rejects.toMatchObject({ status: 502 });
  const failures = async (a: RunningTestAgent): Promise<number> =>
    (await a.metrics()).sum('konnectivity_network_proxy_agent_endpoint_dial_failure_total');
  expect(await failures(gateway)).toBe(1);
  expect(await failures(node)).toBe(0);
  expect(await dials(plain)).toBe(0);
  expect(await failures(plain)).toBe(0);
});

it('answers No agent available when no strategy finds an agent', async () => {
  const server = await startServer(tls(), work, {
    mode: 'http-connect',
    extraArgs: ['--proxy-strategies=destHost'],
  });
  const node = await startAgent(tls(), work, server, { agentId: 'only-node', identifiers: 'ipv4=10.1.2.3' });
  await waitFor(async () => (await httpGet(server.healthUrl('/readyz'))).status === 200, {
    description: 'ready',
  });
  await expect(server.dial(`127.0.0.1:${echo.port}`)).rejects.toMatchObject({
    status: 500,
    body: 'currently no tunnels available: No agent available\n',
  });
  expect(await dials(node)).toBe(0);
});
