/**
 * A silent peer, made with SIGSTOP (a frozen process keeps its TCP connections open and says nothing, as
 * a node behind a network black hole does): the server ends a frozen agent's tunnel with the reason
 * `keepalive-timeout`, fails its pending dial at once, closes its open connections and routes new dials
 * to a healthy agent; a frozen server makes the agent drop the link and redial. After SIGCONT both come
 * back on their own. Short `--keepalive-time` values keep these tests short; one test runs the defaults.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { Duplex } from 'stream';
import { httpGet } from '../helpers/http';
import { stopAllProcesses, type ManagedProcess } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import {
  OPEN_SERVER_CONNECTIONS,
  READY_BACKENDS,
  startAgent,
  startServer,
  type Mode,
  type RunningTestAgent,
} from './cluster';

jest.setTimeout(150_000);

const PENDING_DIALS = 'konnectivity_network_proxy_server_pending_backend_dials';
const AGENT_DIALS = 'konnectivity_network_proxy_agent_dial_duration_seconds_count';
/** Generous: detection itself takes seconds; the machine running the tests may be busy. */
const DETECTION_DEADLINE_MS = 60_000;
/** Only stops a hung test: agents connecting over TLS on a loaded machine can take more than waitFor's 5 s. */
const CONNECT_DEADLINE_MS = 30_000;

const tls = useTlsDir();
let work: string;
let echo: TargetServer;
const frozen = new Set<ManagedProcess>();

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-liveness-'));
  echo = await startEchoServer();
});
afterEach(() => {
  // A stopped process cannot even exit on SIGTERM: thaw whatever a failed test left frozen.
  for (const p of frozen) p.signal('SIGCONT');
  frozen.clear();
});
afterAll(async () => {
  await stopAllProcesses();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

function freeze(p: ManagedProcess): void {
  frozen.add(p);
  p.signal('SIGSTOP');
}

function thaw(p: ManagedProcess): void {
  p.signal('SIGCONT');
  frozen.delete(p);
}

async function echoWorks(tunnel: Duplex): Promise<boolean> {
  const reply = await sendAndReceive(tunnel, Buffer.from('ping'), 4, 10_000);
  return reply.toString() === 'ping';
}

/** Resolves when the frontend learns its connection is gone, whatever form that takes (end, error, close). */
function endOf(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => resolve();
    stream.once('close', done);
    stream.once('end', done);
    stream.once('error', done);
    stream.resume();
  });
}

const dialsBy = async (agent: RunningTestAgent): Promise<number> => (await agent.metrics()).sum(AGENT_DIALS);

describe.each(['grpc', 'http-connect'] as Mode[])('%s frontend', (mode) => {
  it('ends a frozen agent: keepalive-timeout, pending dial failed, connection closed, dials go elsewhere', async () => {
    // destHost sends `localhost` to the frozen agent while it is heard from; default catches the rest.
    const server = await startServer(tls(), work, {
      mode,
      extraArgs: ['--keepalive-time=3s', '--proxy-strategies=destHost,default'],
    });
    const node = await startAgent(tls(), work, server, {
      agentId: `node-${mode}`,
      identifiers: 'host=localhost',
    });
    const other = await startAgent(tls(), work, server, { agentId: `other-${mode}` });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 2, {
      timeoutMs: CONNECT_DEADLINE_MS,
      description: 'both agents up',
    });
    const target = `localhost:${echo.port}`;
    const open = await server.dial(target);
    expect(await echoWorks(open)).toBe(true);
    expect(await dialsBy(node)).toBe(1);
    const openEnded = endOf(open);

    freeze(node.process);
    // Sent at once, while the server still counts the agent as heard from: the dial goes to it and waits.
    const pending = server.dial(target, DETECTION_DEADLINE_MS).then(
      (t) => {
        t.destroy();
        return new Error('the dial to a frozen agent was established');
      },
      (err: Error) => err,
    );
    await waitFor(async () => (await server.metrics()).value(PENDING_DIALS) === 1, {
      description: 'the dial pending on the frozen agent',
    });

    const failure = await pending;
    expect(failure.message).toMatch(/keepalive-timeout/);
    if (mode === 'http-connect') expect(failure.message).toMatch(/CONNECT \S+ failed: 5\d\d/);
    await openEnded;
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'the frozen agent no longer counted as ready',
    });
    expect(await server.process.waitForOutput(/agent disconnected.*keepalive-timeout/)).toMatch(
      new RegExp(`node-${mode}`),
    );

    // The same destination now goes to the healthy agent.
    const before = await dialsBy(other);
    const rerouted = await server.dial(target);
    expect(await echoWorks(rerouted)).toBe(true);
    rerouted.destroy();
    expect(await dialsBy(other)).toBe(before + 1);

    thaw(node.process);
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 2, {
      timeoutMs: DETECTION_DEADLINE_MS,
      description: 'the thawed agent back',
    });
    const back = await server.dial(target);
    expect(await echoWorks(back)).toBe(true);
    back.destroy();
    // Served by the thawed agent, not the other one. The thawed agent may also have dialed the DIAL_REQ that
    // reached its socket while it was frozen (read after SIGCONT, before the end of that connection), so
    // its own count is at least 2 rather than exactly 2.
    expect(await dialsBy(other)).toBe(before + 1);
    await waitFor(async () => (await dialsBy(node)) >= 2, { description: 'the thawed agent dialing' });
  });
});

it('makes the agent drop a frozen server, redial, and serve again after SIGCONT', async () => {
  // The server pings every 3 s, so the agent (5 s) never needs to ping it while it answers.
  const server = await startServer(tls(), work, { mode: 'grpc', extraArgs: ['--keepalive-time=3s'] });
  const agent = await startAgent(tls(), work, server, {
    agentId: 'watcher',
    extraArgs: ['--keepalive-time=5s'],
  });
  await waitFor(async () => (await agent.metrics()).value(OPEN_SERVER_CONNECTIONS) === 1, {
    timeoutMs: CONNECT_DEADLINE_MS,
    description: 'agent connected',
  });

  freeze(server.process);
  await waitFor(async () => (await agent.metrics()).value(OPEN_SERVER_CONNECTIONS) === 0, {
    timeoutMs: DETECTION_DEADLINE_MS,
    description: 'the agent to drop the frozen server',
  });
  expect((await httpGet(agent.healthUrl('/readyz'))).status).toBe(503);
  await agent.process.waitForOutput(/proxy server connection ended.*keepalive-timeout/);

  thaw(server.process);
  await waitFor(async () => (await httpGet(agent.healthUrl('/readyz'))).status === 200, {
    timeoutMs: DETECTION_DEADLINE_MS,
    description: 'the agent reconnected',
  });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    timeoutMs: CONNECT_DEADLINE_MS,
    description: 'the server counts the agent again',
  });
  const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
  expect(await echoWorks(tunnel)).toBe(true);
  tunnel.destroy();
});

it('with the default keepalive, stops routing to a frozen agent, then ends it (the reference does neither)', async () => {
  const server = await startServer(tls(), work, {
    mode: 'http-connect',
    extraArgs: ['--proxy-strategies=destHost,default'],
  });
  const node = await startAgent(tls(), work, server, { agentId: 'defaults', identifiers: 'host=localhost' });
  const other = await startAgent(tls(), work, server, { agentId: 'defaults-other' });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 2, {
    timeoutMs: CONNECT_DEADLINE_MS,
    description: 'both agents up',
  });
  const target = `localhost:${echo.port}`;
  const before = await dialsBy(other);
  freeze(node.process);
  // Dials made before the agent counts as silent wait on it and are given up after a second; once it is
  // silent (20 s of no answer by default), the healthy agent takes them while the tunnel is still open
  // (it ends 10 s later, at the keepalive timeout).
  const rerouted = await waitFor(
    async () => {
      try {
        return await server.dial(target, 1_000);
      } catch {
        return undefined;
      }
    },
    { timeoutMs: DETECTION_DEADLINE_MS, description: 'a dial to reach the healthy agent' },
  );
  expect(await echoWorks(rerouted)).toBe(true);
  rerouted.destroy();
  expect(await dialsBy(other)).toBe(before + 1);
  expect(server.process.output()).not.toMatch(/agent disconnected.*keepalive-timeout/);
  expect((await server.metrics()).value(READY_BACKENDS)).toBe(2);

  // The defaults bound detection by 30 s (livenessTiming.test.ts); the deadline only stops a hung test.
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    timeoutMs: DETECTION_DEADLINE_MS,
    description: 'the frozen agent to be ended',
  });
  await server.process.waitForOutput(/agent disconnected.*keepalive-timeout/);
  thaw(node.process);
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 2, {
    timeoutMs: DETECTION_DEADLINE_MS,
    description: 'the thawed agent back',
  });
});
