/**
 * Failures of real processes: a SIGKILLed agent, restarts of either side, a second agent with the same id,
 * and a draining agent. In each case the frontend learns at once, and traffic resumes on its own.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { Duplex } from 'stream';
import { stopAllProcesses } from '../helpers/processes';
import { startDownloadServer, startEchoServer, verifyPattern, type TargetServer } from '../helpers/targets';
import { readExactly, sendAndReceive, writeAll } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { OPEN_SERVER_CONNECTIONS, READY_BACKENDS, startAgent, startServer, type Mode } from './cluster';

jest.setTimeout(120_000);

const tls = useTlsDir();
let work: string;
let source: TargetServer;
let echo: TargetServer;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-faults-'));
  source = await startDownloadServer();
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await source.close();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

const MiB = 1024 * 1024;

async function echoWorks(dial: () => Promise<Duplex>): Promise<boolean> {
  const tunnel = await dial();
  const reply = await sendAndReceive(tunnel, Buffer.from('ping'), 4, 10_000);
  tunnel.destroy();
  return reply.toString() === 'ping';
}

/** Resolves when the stream reports its end, whatever form the end took. */
function endOf(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => resolve();
    stream.once('close', done);
    stream.once('end', done);
    stream.once('error', done);
  });
}

describe.each(['grpc', 'http-connect'] as Mode[])('%s frontend', (mode) => {
  it('tells the frontend when its agent is SIGKILLed mid-transfer, with no keepalive to rely on', async () => {
    const server = await startServer(tls(), work, { mode });
    const agent = await startAgent(tls(), work, server, { agentId: `kill-${mode}` });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });

    const tunnel = await server.dial(`127.0.0.1:${source.port}`);
    const ended = endOf(tunnel);
    await writeAll(tunnel, `GET ${1024 * MiB}\n`);
    await readExactly(tunnel, MiB, 10_000); // the transfer is under way
    tunnel.resume(); // keep draining so the frontend is not the one stalling
    void agent.process.kill();
    // No keepalive is configured: only the server noticing the dead stream can end the frontend's tunnel.
    await ended;
  });

  it('recovers from an agent restart and from a server restart with the same ports', async () => {
    const server = await startServer(tls(), work, { mode });
    const agent = await startAgent(tls(), work, server, { agentId: `restart-${mode}` });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });
    expect(await echoWorks(() => server.dial(`127.0.0.1:${echo.port}`))).toBe(true);

    await agent.process.stop('SIGKILL');
    const agent2 = await startAgent(tls(), work, server, { agentId: `restart-${mode}` });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent back',
    });
    expect(await echoWorks(() => server.dial(`127.0.0.1:${echo.port}`))).toBe(true);

    await server.process.stop('SIGKILL');
    await waitFor(async () => (await agent2.metrics()).value(OPEN_SERVER_CONNECTIONS) === 0, {
      description: 'agent noticed the server is gone',
    });
    const server2 = await startServer(tls(), work, { mode, ports: server.ports, serverId: 'restarted' });
    await waitFor(async () => (await agent2.metrics()).value(OPEN_SERVER_CONNECTIONS) === 1, {
      description: 'agent reconnected to the restarted server',
      timeoutMs: 15_000,
    });
    await waitFor(async () => (await server2.metrics()).value(READY_BACKENDS) === 1, {
      description: 'server sees agent',
    });
    expect(await echoWorks(() => server2.dial(`127.0.0.1:${echo.port}`))).toBe(true);
  });

  it('completes a request when a second agent with the same id connects in the middle of it', async () => {
    const server = await startServer(tls(), work, { mode });
    await startAgent(tls(), work, server, { agentId: `twin-${mode}` });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'first twin up',
    });

    const tunnel = await server.dial(`127.0.0.1:${source.port}`);
    await writeAll(tunnel, `GET ${8 * MiB}\n`);
    const first = await readExactly(tunnel, MiB, 10_000);
    const twin = await startAgent(tls(), work, server, { agentId: `twin-${mode}` });
    await waitFor(async () => (await twin.metrics()).value(OPEN_SERVER_CONNECTIONS) === 1, {
      description: 'second twin connected',
    });
    const rest = await readExactly(tunnel, 7 * MiB, 30_000);
    expect(verifyPattern(Buffer.concat([first, rest]))).toBe(true);
    tunnel.destroy();
    // Both streams of the same agent id count as one agent.
    expect((await server.metrics()).value(READY_BACKENDS)).toBe(1);
    expect(await echoWorks(() => server.dial(`127.0.0.1:${echo.port}`))).toBe(true);
  });

  it('uses a draining agent only when no other agent is left', async () => {
    const server = await startServer(tls(), work, { mode });
    const draining = await startAgent(tls(), work, server, { agentId: `drain-a-${mode}` });
    const other = await startAgent(tls(), work, server, { agentId: `drain-b-${mode}` });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 2, {
      description: 'two agents',
    });

    const dials = async (agentMetrics: () => Promise<{ sum(name: string): number }>): Promise<number> =>
      (await agentMetrics()).sum('konnectivity_network_proxy_agent_dial_duration_seconds_count');
    draining.process.signal('SIGTERM'); // first SIGTERM: DRAIN, keep serving
    await draining.process.waitForOutput(/draining/i);
    await server.process.waitForOutput(/agent is draining/); // the DRAIN packet reached the server
    const before = await dials(() => draining.metrics());
    for (let i = 0; i < 20; i++)
      expect(await echoWorks(() => server.dial(`127.0.0.1:${echo.port}`))).toBe(true);
    expect(await dials(() => draining.metrics())).toBe(before);
    expect(await dials(() => other.metrics())).toBe(20);

    await other.process.stop('SIGKILL');
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'one agent left',
    });
    expect(await echoWorks(() => server.dial(`127.0.0.1:${echo.port}`))).toBe(true);
    expect(await dials(() => draining.metrics())).toBe(before + 1);
    expect(draining.process.isRunning).toBe(true);
  });
});
