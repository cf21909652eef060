/**
 * The lifecycle log of a real tunnel: events land on the documented NATS subjects with the right byte
 * counts, survive a NATS outage under steady traffic exactly once, and a SIGKILLed server closes what it
 * left open (`server-restart`) when it comes back.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { LifecycleEvent } from '../../src/events';
import { encodeToken, STREAM_NAME } from '../../src/persistence/subjects';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { stopAllProcesses } from '../helpers/processes';
import { refusedPort, startDownloadServer, startEchoServer, type TargetServer } from '../helpers/targets';
import { download, sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer } from './cluster';

jest.setTimeout(120_000);

const tls = useTlsDir();
let work: string;
let source: TargetServer;
let echo: TargetServer;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-events-'));
  source = await startDownloadServer();
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await source.close();
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

interface StoredMessage {
  subject: string;
  event: LifecycleEvent;
}

/** Every message in the event stream, with its subject, read with an ordered consumer. */
async function readStream(natsUrl: string): Promise<StoredMessage[]> {
  const nc: NatsConnection = await connect({ servers: natsUrl });
  try {
    const js = jetstream(nc);
    const consumer = await js.consumers.get(STREAM_NAME, { filter_subjects: 'konnectivity.events.>' });
    const out: StoredMessage[] = [];
    if ((await consumer.info(true)).num_pending === 0) return out;
    const messages = await consumer.consume({ max_messages: 1000 });
    for await (const m of messages) {
      out.push({ subject: m.subject, event: JSON.parse(m.string()) as LifecycleEvent });
      if (m.info.pending === 0) break;
    }
    await messages.close();
    return out;
  } finally {
    await nc.close();
  }
}

describe('with NATS JetStream as the event log', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats.dispose();
  });

  it('publishes the events of a real tunnel on the documented subjects, with correct byte counts', async () => {
    const serverId = 'events-server';
    const agentId = 'node-1.example.com';
    const server = await startServer(tls(), work, {
      mode: 'grpc',
      serverId,
      extraArgs: [`--event-log=${nats.url}`],
    });
    await startAgent(tls(), work, server, { agentId, extraArgs: [`--event-log=${nats.url}`] });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });

    const tunnel = await server.dial(`127.0.0.1:${source.port}`);
    expect((await download(tunnel, 100_000)).length).toBe(100_000);
    const port = await refusedPort();
    await expect(server.dial(`127.0.0.1:${port}`)).rejects.toThrow(/connection refused/);

    const agentToken = encodeToken(agentId);
    expect(agentToken).toBe('node-1%2Eexample%2Ecom'); // dots cannot split a subject token
    let stored: StoredMessage[] = [];
    await waitFor(
      async () => {
        stored = await readStream(nats.url);
        // Each process publishes on its own schedule: wait for every event asserted below, not just some.
        return (
          stored.some((m) => m.event.type === 'conn.endpoint-closed') &&
          stored.some((m) => m.event.type === 'conn.closed') &&
          stored.some((m) => m.event.type === 'dial.failed')
        );
      },
      { description: 'connection and failed-dial events in the stream', timeoutMs: 20_000 },
    );
    const subjects = stored.map((m) => m.subject);
    expect(subjects).toContain(`konnectivity.events.${serverId}.server.${serverId}.started`);
    expect(subjects).toContain(`konnectivity.events.${serverId}.agent.${agentToken}.connected`);
    expect(subjects).toContain(`konnectivity.events.agent-${agentToken}.agent.${agentToken}.started`);

    const requested = stored.find(
      (m) => m.event.type === 'dial.requested' && m.event.destination === `127.0.0.1:${source.port}`,
    )!;
    const random = (requested.event as { random: string }).random;
    for (const type of ['requested', 'established']) {
      expect(subjects).toContain(`konnectivity.events.${serverId}.dial.${random}.${type}`);
    }
    const closed = stored.find((m) => m.subject === `konnectivity.events.${serverId}.conn.${random}.closed`);
    expect(closed?.event).toMatchObject({
      type: 'conn.closed',
      agentId,
      bytesFromAgent: 100_000,
      bytesToAgent: 'GET 100000\n'.length,
    });
    const endpointClosed = stored.find(
      (m) => m.subject === `konnectivity.events.agent-${agentToken}.conn.${random}.endpoint-closed`,
    );
    expect(endpointClosed?.event).toMatchObject({ bytesFromEndpoint: 100_000, serverId });
    const failed = stored.find((m) => m.event.type === 'dial.failed');
    expect(failed?.event).toMatchObject({ reason: 'agent-error', agentId });
    expect((failed?.event as { error: string }).error).toMatch(
      `dial tcp 127.0.0.1:${port}: connect: connection refused`,
    );
    // Every event is stored once (ids are the JetStream message ids).
    const ids = stored.map((m) => m.event.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('loses nothing and duplicates nothing when NATS is down for 10 s under steady traffic', async () => {
    const serverId = 'outage-server';
    const server = await startServer(tls(), work, {
      mode: 'http-connect',
      serverId,
      extraArgs: [`--event-log=${nats.url}`],
    });
    await startAgent(tls(), work, server, {
      agentId: 'outage-agent',
      extraArgs: [`--event-log=${nats.url}`],
    });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });

    let dials = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
        await sendAndReceive(tunnel, Buffer.from('tick'), 4);
        tunnel.destroy();
        dials++;
        // Deliberately paced: a steady trickle of dials across the outage, not a flood.
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    await waitFor(() => dials >= 20, { description: 'dials before the outage', timeoutMs: 30_000 });
    await nats.stop();
    const dialsAtStop = dials;
    // The tunnel keeps working without its log.
    await waitFor(() => dials - dialsAtStop > 50, {
      description: 'dials during the outage',
      timeoutMs: 60_000,
    });
    await nats.restart();
    const dialsAtRestart = dials;
    await waitFor(() => dials >= dialsAtRestart + 20, {
      description: 'dials after the outage',
      timeoutMs: 30_000,
    });
    running = false;
    await traffic;

    let stored: StoredMessage[] = [];
    const fromServer = (type: string): StoredMessage[] =>
      stored.filter((m) => m.event.type === type && (m.event as { serverId?: string }).serverId === serverId);
    await waitFor(
      async () => {
        stored = await readStream(nats.url);
        return fromServer('conn.closed').length >= dials;
      },
      { description: `all ${dials} connections closed in the stream`, timeoutMs: 30_000 },
    );
    expect(fromServer('dial.requested')).toHaveLength(dials);
    expect(fromServer('dial.established')).toHaveLength(dials);
    expect(fromServer('conn.closed')).toHaveLength(dials);
    const ids = stored.map((m) => m.event.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('with the embedded log', () => {
  it('closes the connections a SIGKILLed server left open with reason server-restart', async () => {
    const server = await startServer(tls(), work, { mode: 'grpc', serverId: 'crashing-server' });
    await startAgent(tls(), work, server, { agentId: 'crash-agent' });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });
    const tunnels = await Promise.all([1, 2, 3].map(() => server.dial(`127.0.0.1:${echo.port}`)));
    for (const t of tunnels) {
      await sendAndReceive(t, Buffer.from('open'), 4);
      t.on('error', () => {}); // the server is about to die under them
    }
    // Lets the file log's batched fsync run before the crash; no metric says which events it made durable.
    await new Promise((r) => setTimeout(r, 500));
    await server.process.stop('SIGKILL');
    for (const t of tunnels) t.destroy();

    const restarted = await startServer(tls(), work, {
      mode: 'grpc',
      serverId: 'crashing-server',
      ports: server.ports,
    });
    await waitFor(async () => (await restarted.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent back',
    });
    const dataDir = path.join(work, `server-data-${server.ports.agent}`);
    const cli = path.join(__dirname, '../../bin/konnectivity-events');
    let closed: Array<{ reason: string; closedBy: string }> = [];
    await waitFor(
      () => {
        const r = spawnSync(cli, ['tail', `--data-dir=${dataDir}`, '--type=conn.closed', '--json'], {
          encoding: 'utf8',
        });
        closed = r.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { reason: string; closedBy: string });
        return closed.length >= 3;
      },
      { description: 'three conn.closed events', timeoutMs: 10_000 },
    );
    expect(closed).toHaveLength(3);
    for (const c of closed) expect(c).toMatchObject({ reason: 'server-restart', closedBy: 'server' });
    const stopped = spawnSync(cli, ['tail', `--data-dir=${dataDir}`, '--type=server.stopped', '--json'], {
      encoding: 'utf8',
    });
    expect(stopped.stdout).toMatch(/server-restart/);
  });
});
