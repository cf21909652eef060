/**
 * Every reason the real server and agent emit is in the documented set (src/events/reasons.ts, the
 * table in docs/events.md). Both run in this process with their embedded logs, go through the endings
 * that produce reasons (a connection closed by the frontend and by the endpoint, a refused dial, a
 * destination outside the allow-list, no agent, agent and server shutdown), and their stored events are
 * read back raw: a reason outside the set is a malformed record and fails the test.
 */
import { mkdtempSync, rmSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { runAgent, type RunningAgent } from '../../src/agent/runAgent';
import { dialViaGrpc } from '../../src/client/grpcTunnel';
import { parseAllowedDestination } from '../../src/config/addresses';
import { isReason, isReasonedType, type LifecycleEvent } from '../../src/events';
import { createLogger, discardSink } from '../../src/observability/logger';
import { openEventReader } from '../../src/persistence/eventReader';
import type { MalformedRecord } from '../../src/persistence/types';
import { runServer, type RunningServer } from '../../src/server/runServer';
import { generateTlsMaterial } from '../../src/tools/certs';
import { waitFor } from '../helpers/waitFor';

jest.setTimeout(60_000);

const log = createLogger({ verbosity: 0, component: 'test', sink: discardSink });

function listen(onSocket: (s: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer(onSocket);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;

async function readAll(dataDir: string): Promise<{ events: LifecycleEvent[]; malformed: MalformedRecord[] }> {
  const malformed: MalformedRecord[] = [];
  const reader = await openEventReader({ eventLog: '', dataDir, onMalformed: (r) => malformed.push(r) });
  const events: LifecycleEvent[] = [];
  try {
    for await (const e of reader.read({})) events.push(e);
  } finally {
    await reader.close();
  }
  return { events, malformed };
}

it('the real server and agent emit only documented reasons', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'knp-reasons-'));
  const tls = await generateTlsMaterial(dir);
  const echo = await listen((s) => s.pipe(s));
  const hangUp = await listen((s) => s.end());
  const refused = await listen(() => undefined);
  const refusedPort = portOf(refused);
  await new Promise((r) => refused.close(r));
  const socketPath = path.join(dir, 'k.sock');
  const serverData = path.join(dir, 'server-data');
  const agentData = path.join(dir, 'agent-data');
  let server: RunningServer | undefined;
  let agent: RunningAgent | undefined;
  try {
    server = await runServer(
      {
        serverId: 'reasons-server',
        serverCount: 1,
        mode: 'grpc',
        frontend: { listen: { kind: 'uds', path: socketPath } },
        agent: {
          listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
          tls: { cert: tls.clusterCert, key: tls.clusterKey },
        },
        health: { host: '127.0.0.1', port: 0 },
        admin: { host: '127.0.0.1', port: 0 },
        strategies: ['default'],
        backendDialTimeoutMs: 0,
        keepaliveTimeMs: 0,
        frontendKeepaliveTimeMs: 0,
        eventLog: { eventLog: '', dataDir: serverData, explicit: true },
        flowControl: true,
        gracefulShutdownTimeoutMs: 0,
      },
      log,
    );
    const allowed = parseAllowedDestination('127.0.0.1/32');
    if (!allowed.ok) throw new Error(allowed.reason);
    agent = await runAgent(
      {
        agentId: 'reasons-agent',
        identifiers: 'host=localhost',
        primary: `127.0.0.1:${server.agentPort}`,
        extra: [],
        syncForever: false,
        allowedDestinations: [allowed.value],
        tls: { caCert: tls.caCert },
        serviceAccountTokenPath: '',
        syncIntervalMs: 200,
        syncIntervalCapMs: 1000,
        keepaliveTimeMs: 0,
        health: { host: '127.0.0.1', port: 0 },
        admin: { host: '127.0.0.1', port: 0 },
        eventLog: { eventLog: '', dataDir: agentData, explicit: true },
        flowControl: true,
      },
      log,
    );
    const running = { server, agent };
    await waitFor(() => running.server.proxy.isReady() && running.agent.clients.isReady(), {
      description: 'agent connected',
    });
    const dial = (address: string) =>
      dialViaGrpc({ target: `unix://${socketPath}`, address, timeoutMs: 5000 });

    // The frontend closes an echo connection.
    const conn = await dial(`127.0.0.1:${portOf(echo)}`);
    await new Promise<void>((resolve) => {
      conn.once('data', () => resolve());
      conn.write('hello');
    });
    conn.end();
    // The endpoint hangs up.
    const hung = await dial(`127.0.0.1:${portOf(hangUp)}`);
    hung.resume();
    await new Promise((r) => hung.once('close', r));
    // A refused dial, and a destination outside --allowed-destinations.
    await expect(dial(`127.0.0.1:${refusedPort}`)).rejects.toThrow(/refused/);
    await expect(dial('10.255.255.1:80')).rejects.toThrow();
    await waitFor(() => running.agent.clients.openEndpointConnections === 0, {
      description: 'endpoints closed',
    });
    await waitFor(() => running.server.proxy.actors.counts().connection === 0, {
      description: 'server connections closed',
    });

    // The agent goes away, then a dial finds no agent; then the server stops.
    await agent.close();
    agent = undefined;
    await waitFor(() => !running.server.proxy.isReady(), { description: 'agent gone' });
    await expect(dial(`127.0.0.1:${portOf(echo)}`)).rejects.toThrow(/No agent available/);
    await server.close();
    server = undefined;

    const fromServer = await readAll(serverData);
    const fromAgent = await readAll(agentData);
    expect([...fromServer.malformed, ...fromAgent.malformed]).toEqual([]);
    const emitted = new Map<string, Set<string>>();
    for (const e of [...fromServer.events, ...fromAgent.events]) {
      if (!isReasonedType(e.type)) continue;
      const reason = (e as { reason: string }).reason;
      expect([e.type, isReason(e.type, reason)]).toEqual([e.type, true]);
      emitted.set(e.type, (emitted.get(e.type) ?? new Set()).add(reason));
    }
    const seen = Object.fromEntries([...emitted].map(([t, r]) => [t, [...r].sort()]));
    expect(seen).toMatchObject({
      'dial.failed': expect.arrayContaining(['agent-error', 'no-agent']) as unknown,
      'dial.endpoint-failed': expect.arrayContaining(['error', 'not-allowed']) as unknown,
      'conn.endpoint-closed': expect.arrayContaining(['endpoint-closed']) as unknown,
      'server.stopped': ['shutdown'],
      'agent.stopped': ['shutdown'],
    });
  } finally {
    await agent?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    echo.close();
    hangUp.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
