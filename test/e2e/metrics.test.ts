/**
 * The reference's metric names and labels move as they do in the reference, so existing dashboards and
 * alerts work unchanged.
 */
import { mkdtempSync, rmSync } from 'fs';
import { Socket } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { stopAllProcesses } from '../helpers/processes';
import { refusedPort, startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer } from './cluster';

jest.setTimeout(60_000);
const tls = useTlsDir();
let work: string;
let echo: TargetServer;
beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-metrics-'));
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

const P = 'konnectivity_network_proxy_';

it('counts a connection and a failed dial under the reference names and labels', async () => {
  const server = await startServer(tls(), work, { mode: 'grpc' });
  const agent = await startAgent(tls(), work, server, { agentId: 'metered' });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'agent up',
  });

  const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
  await sendAndReceive(tunnel, Buffer.from('count me'), 8);
  const open = await server.metrics();
  expect(open.value(`${P}server_established_connections`)).toBe(1);
  expect((await agent.metrics()).value(`${P}agent_open_endpoint_connections`)).toBe(1);
  await (tunnel as { close(): Promise<void> }).close(); // CLOSE_REQ from the frontend
  const port = await refusedPort();
  await expect(server.dial(`127.0.0.1:${port}`)).rejects.toThrow(/connection refused/);

  await waitFor(async () => (await server.metrics()).value(`${P}server_established_connections`) === 0, {
    description: 'connection closed',
  });
  const s = await server.metrics();
  expect(s.value(`${P}server_dial_duration_seconds_count`)).toBe(1);
  expect(s.value(`${P}server_pending_backend_dials`)).toBe(0);
  expect(s.value(`${P}server_dial_failure_count`, { reason: 'error_response' })).toBe(1);
  expect(s.value(`${P}server_connection_close_total`, { reason: 'frontend_close' })).toBe(1);
  expect(s.value(`${P}server_connection_duration_seconds_count`)).toBe(1);
  expect(s.value(`${P}server_grpc_connections`, { service_method: 'Connect' })).toBe(1);
  expect(s.value(`${P}server_ready_backends`, { proxy_strategy: 'default' })).toBe(1);
  expect(s.value(`${P}server_ready_backend_connections`)).toBe(1);
  expect(
    s.value(`${P}server_stream_packets_total`, { segment: 'from_client', packet_type: 'DIAL_REQ' }),
  ).toBe(2);
  expect(s.value(`${P}server_stream_packets_total`, { segment: 'to_agent', packet_type: 'CLOSE_REQ' })).toBe(
    1,
  );

  // The agent counts on its own schedule: the close and the refused dial reach it after the server is done.
  const a = await waitFor(
    async () => {
      const m = await agent.metrics();
      const settled =
        m.value(`${P}agent_open_endpoint_connections`) === 0 &&
        m.value(`${P}agent_endpoint_dial_failure_total`, { reason: 'unknown' }) === 1 &&
        m.value(`${P}agent_endpoint_connection_close_total`, { reason: 'server_close' }) === 1;
      return settled ? m : undefined;
    },
    { description: 'the agent to count the close and the refused dial' },
  );
  expect(a.value(`${P}agent_open_server_connections`)).toBe(1);
  expect(a.value(`${P}agent_known_server_count`)).toBe(1);
  expect(a.value(`${P}agent_open_endpoint_connections`)).toBe(0);
  expect(a.value(`${P}agent_dial_duration_seconds_count`)).toBe(1);
  expect(a.value(`${P}agent_endpoint_dial_failure_total`, { reason: 'unknown' })).toBe(1);
  expect(a.value(`${P}agent_endpoint_connection_close_total`, { reason: 'server_close' })).toBe(1);
});

it.each(['grpc', 'http-connect'] as const)(
  'counts a %s frontend connection as open while it lasts, and as closed once its client is gone',
  async (mode) => {
    const server = await startServer(tls(), work, { mode });
    await startAgent(tls(), work, server, { agentId: `gauged-${mode}` });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });
    const gauge = async (): Promise<number | undefined> => {
      const m = await server.metrics();
      return mode === 'grpc'
        ? m.value(`${P}server_grpc_connections`, { service_method: 'Proxy' })
        : m.value(`${P}server_http_connections`);
    };

    const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
    await sendAndReceive(tunnel, Buffer.from('gauge me'), 8);
    expect(await gauge()).toBe(1);
    if (tunnel instanceof Socket) tunnel.end();
    else await tunnel.close();
    await waitFor(async () => (await gauge()) === 0, {
      description: 'the frontend connection counted closed',
    });
  },
);
