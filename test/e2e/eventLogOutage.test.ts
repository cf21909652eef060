/**
 * The event log never stops the tunnel: with NATS down, or the embedded log's disk read-only or full,
 * the real server and agent start, become ready and carry requests at once; events wait (outbox) or are
 * counted as dropped (full disk), and recovery runs once the log is reachable again.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { LifecycleEvent } from '../../src/events';
import { STREAM_NAME } from '../../src/persistence/subjects';
import { startNatsServer, type NatsServerHandle } from '../helpers/natsServer';
import { stopAllProcesses } from '../helpers/processes';
import { startEchoServer, type TargetServer } from '../helpers/targets';
import { sendAndReceive } from '../helpers/tcpClient';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer, type RunningTestServer } from './cluster';

jest.setTimeout(120_000);

const tls = useTlsDir();
const CLI = path.join(__dirname, '../../bin/konnectivity-events');
const DROPPED = 'konnectivity_ts_event_log_dropped_total';
let work: string;
let echo: TargetServer;
const mounts: Tmpfs[] = [];

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-log-outage-'));
  echo = await startEchoServer();
});
afterEach(async () => {
  await stopAllProcesses();
  for (const m of mounts.splice(0)) m.unmount();
});
afterAll(async () => {
  await echo.close();
  rmSync(work, { recursive: true, force: true });
});

/** One request through the tunnel, end to end. */
async function roundTrip(server: RunningTestServer): Promise<void> {
  const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
  expect((await sendAndReceive(tunnel, Buffer.from('ping'), 4)).toString()).toBe('ping');
  tunnel.destroy();
}

async function streamEvents(url: string): Promise<LifecycleEvent[]> {
  const nc: NatsConnection = await connect({ servers: url });
  try {
    const consumer = await jetstream(nc).consumers.get(STREAM_NAME, {
      filter_subjects: 'konnectivity.events.>',
    });
    const out: LifecycleEvent[] = [];
    if ((await consumer.info(true)).num_pending === 0) return out;
    const messages = await consumer.consume({ max_messages: 1000 });
    for await (const m of messages) {
      out.push(JSON.parse(m.string()) as LifecycleEvent);
      if (m.info.pending === 0) break;
    }
    await messages.close();
    return out;
  } finally {
    await nc.close();
  }
}

function tail(dataDir: string): LifecycleEvent[] {
  const r = spawnSync(CLI, ['tail', `--data-dir=${dataDir}`, '--json'], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LifecycleEvent);
}

describe('with --event-log=nats://... and NATS down', () => {
  let nats: NatsServerHandle;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats.dispose();
  });

  it('server and agent start ready and carry requests at once; NATS started later gets the events and recovery closes what a crash left open', async () => {
    const serverId = 'nats-outage-server';
    const natsArg = `--event-log=${nats.url}`;
    const first = await startServer(tls(), work, { mode: 'grpc', serverId, extraArgs: [natsArg] });
    await startAgent(tls(), work, first, { agentId: 'steady-agent', extraArgs: [natsArg] });
    await waitFor(async () => (await first.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });
    const held = await first.dial(`127.0.0.1:${echo.port}`);
    await sendAndReceive(held, Buffer.from('open'), 4);
    held.on('error', () => {}); // the server is about to die under it
    await waitFor(async () => (await streamEvents(nats.url)).some((e) => e.type === 'conn.opened'), {
      description: 'the open connection in the stream',
      timeoutMs: 20_000,
    });
    await first.process.stop('SIGKILL');
    held.destroy();
    await nats.stop();

    // NATS is down: a restarted server and a new agent must not wait for it.
    const server = await startServer(tls(), work, {
      mode: 'grpc',
      serverId,
      ports: first.ports,
      extraArgs: [natsArg],
    });
    const agent = await startAgent(tls(), work, server, { agentId: 'late-agent', extraArgs: [natsArg] });
    await agent.process.waitForHttp(agent.healthUrl('/readyz'), { timeoutMs: 20_000 });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 2, {
      description: 'both agents up',
    });
    await roundTrip(server);
    expect(server.process.output()).not.toMatch(/event log recovered/);

    await nats.restart();
    await server.process.waitForOutput(/event log recovered/, 30_000);
    await agent.process.waitForOutput(/event log recovered/, 30_000);
    let stored: LifecycleEvent[] = [];
    await waitFor(
      async () => {
        stored = await streamEvents(nats.url);
        return (
          stored.some((e) => e.type === 'conn.closed' && e.reason === 'server-restart') &&
          stored.filter((e) => e.type === 'conn.closed' && e.reason !== 'server-restart').length >= 1 &&
          stored.some((e) => e.type === 'agent.started' && e.agentId === 'late-agent')
        );
      },
      { description: 'the outage run and the recovery in the stream', timeoutMs: 30_000 },
    );
    const ids = stored.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(stored.filter((e) => e.type === 'server.stopped' && e.reason === 'server-restart')).toHaveLength(
      1,
    );
  });
});

describe('with the embedded log', () => {
  it('starts ready and carries requests when the data dir is read-only, and opens the log once it is writable', async () => {
    const fs = mountTmpfs(path.join(work, 'ro-data'), 4 * 1024 * 1024, 'ro');
    mounts.push(fs);
    const server = await startServer(tls(), work, {
      mode: 'grpc',
      serverId: 'ro-server',
      extraArgs: [`--data-dir=${fs.path}`],
    });
    await startAgent(tls(), work, server, { agentId: 'ro-agent' });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });
    await roundTrip(server);

    fs.remount('rw');
    await server.process.waitForOutput(/event log recovered/, 30_000);
    await waitFor(() => tail(fs.path).some((e) => e.type === 'conn.closed'), {
      description: 'the events of the read-only time written once the disk is writable',
      timeoutMs: 10_000,
    });
  });

  it("starts ready and carries requests with the agent's data dir read-only and the server's disk full from the start", async () => {
    const agentFs = mountTmpfs(path.join(work, 'ro-agent-data'), 4 * 1024 * 1024, 'ro');
    const serverFs = mountTmpfs(path.join(work, 'full-server-data'), 1024 * 1024);
    mounts.push(agentFs, serverFs);
    const filler = path.join(serverFs.path, 'filler');
    expect(() => writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024))).toThrow(/ENOSPC/);

    const server = await startServer(tls(), work, {
      mode: 'grpc',
      serverId: 'full-at-start-server',
      extraArgs: [`--data-dir=${serverFs.path}`],
    });
    const agent = await startAgent(tls(), work, server, {
      agentId: 'ro-at-start-agent',
      extraArgs: [`--data-dir=${agentFs.path}`], // the last --data-dir wins
    });
    await agent.process.waitForHttp(agent.healthUrl('/readyz'), { timeoutMs: 20_000 });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });
    await roundTrip(server);

    // Room again: both logs take events from then on.
    rmSync(filler);
    agentFs.remount('rw');
    await agent.process.waitForOutput(/event log recovered/, 30_000);
    await roundTrip(server);
    await waitFor(() => tail(serverFs.path).some((e) => e.type === 'conn.closed'), {
      description: 'the server writing events once its disk has room',
      timeoutMs: 20_000,
    });
    await waitFor(() => tail(agentFs.path).some((e) => e.type === 'conn.endpoint-closed'), {
      description: 'the agent writing events once its data dir is writable',
      timeoutMs: 20_000,
    });
  });

  it('keeps serving when the disk fills up mid-run, counts what it drops, and writes again once there is room', async () => {
    const fs = mountTmpfs(path.join(work, 'small-data'), 2 * 1024 * 1024);
    mounts.push(fs);
    const server = await startServer(tls(), work, {
      mode: 'grpc',
      serverId: 'full-disk-server',
      extraArgs: [`--data-dir=${fs.path}`],
    });
    await startAgent(tls(), work, server, { agentId: 'full-disk-agent' });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent up',
    });
    await server.process.waitForOutput(/event log recovered/);
    const filler = path.join(fs.path, 'filler');
    expect(() => writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024))).toThrow(/ENOSPC/);

    // Enough events that their batch cannot fit in what the full filesystem still holds at the end of the
    // segment's last page, however the log groups them into writes.
    for (let i = 0; i < 20; i++) await roundTrip(server);
    await waitFor(
      async () =>
        ((await server.metrics()).value(DROPPED, { backend: 'file', reason: 'write-failed' }) ?? 0) > 0,
      {
        description: 'events dropped as write-failed',
        timeoutMs: 20_000,
      },
    );
    expect(server.process.output()).toMatch(/event log write failed/);

    rmSync(filler);
    const closedBefore = tail(fs.path).filter((e) => e.type === 'conn.closed').length;
    await roundTrip(server);
    await waitFor(() => tail(fs.path).filter((e) => e.type === 'conn.closed').length > closedBefore, {
      description: 'a connection closed after the disk had room again',
      timeoutMs: 10_000,
    });
  });
});
