/**
 * Several servers, as the reference tests HA: three servers behind a TCP load balancer advertise
 * servercount=3, and the agent keeps dialing the one address until it holds all three; it drops to two when
 * one dies (frontends on the others keep working) and comes back to three when a fourth server appears.
 * Beyond the reference, servers can also be listed to the agent directly.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { startLoadBalancer, type LoadBalancer } from '../helpers/loadBalancer';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import {
  OPEN_SERVER_CONNECTIONS,
  READY_BACKENDS,
  startAgent,
  startServer,
  type RunningTestServer,
} from './cluster';

jest.setTimeout(90_000);

const tls = useTlsDir();
let work: string;
let echo: TargetServer;
let lb: LoadBalancer | undefined;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-ha-'));
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await lb?.close();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

async function echoes(server: RunningTestServer): Promise<boolean> {
  const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
  const reply = await sendAndReceive(tunnel, Buffer.from('ha'), 2);
  tunnel.destroy();
  return reply.toString() === 'ha';
}

const agentsOn = async (s: RunningTestServer): Promise<number | undefined> =>
  (await s.metrics()).value(READY_BACKENDS);

it('reaches every server behind a load balancer, survives losing one, and picks up a new one', async () => {
  const servers = await Promise.all(
    ['one', 'two', 'three'].map((id) =>
      startServer(tls(), work, { mode: 'grpc', serverId: `ha-${id}`, extraArgs: ['--server-count=3'] }),
    ),
  );
  lb = await startLoadBalancer(servers.map((s) => s.ports.agent));
  const agent = await startAgent(tls(), work, servers[0]!, { agentId: 'ha-agent', proxyPort: lb.port });
  await waitFor(async () => (await agent.metrics()).value(OPEN_SERVER_CONNECTIONS) === 3, {
    description: 'agent connected to all three servers',
    timeoutMs: 20_000,
  });
  for (const s of servers) expect(await agentsOn(s)).toBe(1);
  expect((await agent.metrics()).value('konnectivity_network_proxy_agent_known_server_count')).toBe(3);

  const [one, two, three] = servers as [RunningTestServer, RunningTestServer, RunningTestServer];
  await two.process.stop('SIGKILL');
  await waitFor(async () => (await agent.metrics()).value(OPEN_SERVER_CONNECTIONS) === 2, {
    description: 'agent down to two servers',
  });
  expect(await echoes(one)).toBe(true);
  expect(await echoes(three)).toBe(true);

  const four = await startServer(tls(), work, {
    mode: 'grpc',
    serverId: 'ha-four',
    extraArgs: ['--server-count=3'],
  });
  lb.setBackends([one.ports.agent, three.ports.agent, four.ports.agent]);
  await waitFor(async () => (await agent.metrics()).value(OPEN_SERVER_CONNECTIONS) === 3, {
    description: 'agent back to three servers',
    timeoutMs: 20_000,
  });
  await waitFor(async () => (await agentsOn(four)) === 1, {
    description: 'the fourth server sees the agent',
  });
  expect(await echoes(four)).toBe(true);
});

it('with --sync-forever notices a server beyond the advertised count', async () => {
  const servers = await Promise.all(
    ['a', 'b'].map((id) =>
      startServer(tls(), work, { mode: 'grpc', serverId: `forever-${id}`, extraArgs: ['--server-count=1'] }),
    ),
  );
  const balancer = await startLoadBalancer(servers.map((s) => s.ports.agent));
  try {
    const agent = await startAgent(tls(), work, servers[0]!, {
      agentId: 'forever-agent',
      proxyPort: balancer.port,
      extraArgs: ['--sync-forever=true'],
    });
    await waitFor(async () => (await agent.metrics()).value(OPEN_SERVER_CONNECTIONS) === 2, {
      description: 'both servers held although each says servercount=1',
      timeoutMs: 20_000,
    });
    for (const s of servers) expect(await echoes(s)).toBe(true);
  } finally {
    await balancer.close();
  }
});

it('connects to servers listed directly with --proxy-server-addresses, without a load balancer', async () => {
  const servers = await Promise.all(
    ['x', 'y'].map((id) =>
      startServer(tls(), work, { mode: 'grpc', serverId: `direct-${id}`, extraArgs: ['--server-count=2'] }),
    ),
  );
  const agent = await startAgent(tls(), work, servers[0]!, {
    agentId: 'direct-agent',
    extraArgs: [`--proxy-server-addresses=localhost:${servers[1]!.ports.agent}`],
  });
  await waitFor(async () => (await agent.metrics()).value(OPEN_SERVER_CONNECTIONS) === 2, {
    description: 'agent holds both listed servers',
  });
  for (const s of servers) expect(await echoes(s)).toBe(true);
});
