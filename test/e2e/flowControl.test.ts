/**
 * Flow control through the real binaries: a reader that stops reading fills only its own connection's
 * buffer, whether the peers speak the credit extension (it slows its own sender, nothing else) or not (a
 * reference agent: the stalled connection is evicted after the grace period and its neighbours move on).
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { Duplex } from 'stream';
import { packets } from '../../src/protocol/packet';
import { FLOW_CONTROL_HEADER, INITIAL_WINDOW_BYTES, MAX_WINDOW_BYTES } from '../../src/protocol/flowControl';
import type { Metrics } from '../helpers/metrics';
import { stopAllProcesses } from '../helpers/processes';
import {
  startDownloadServer,
  startEchoServer,
  startSinkServer,
  verifyPattern,
  type TargetServer,
} from '../helpers/targets';
import { download, readExactly, upload, writeAll } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer, type Mode, type RunningTestServer } from './cluster';
import { fakeProxyServer, rawAgent } from './rawPeers';
import { startAgentAt } from './cluster';

jest.setTimeout(120_000);

const tls = useTlsDir();
let work: string;
let source: TargetServer;
let sink: TargetServer;
let echo: TargetServer;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-flow-'));
  source = await startDownloadServer();
  sink = await startSinkServer();
  echo = await startEchoServer();
});
afterAll(async () => {
  await stopAllProcesses();
  await Promise.all([source.close(), sink.close(), echo.close()]);
  rmSync(work, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
const BUFFERED = 'konnectivity_ts_connection_buffered_bytes';
const CREDITS_FROM_AGENT = (m: Metrics): number =>
  m.value('konnectivity_network_proxy_server_stream_packets_total', {
    segment: 'from_agent',
    packet_type: 'CREDIT',
  }) ?? 0;

async function cluster(
  mode: Mode,
  agentFlowControl: boolean,
): Promise<{ server: RunningTestServer; agentMetrics: () => Promise<Metrics> }> {
  const server = await startServer(tls(), work, { mode });
  const agent = await startAgent(tls(), work, server, {
    agentId: `flow-${mode}-${agentFlowControl}`,
    extraArgs: [`--flow-control=${agentFlowControl}`],
  });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'agent up',
  });
  return { server, agentMetrics: () => agent.metrics() };
}

/** Opens a download and reads its first MiB, then stops reading for good. */
async function stalledDownload(server: RunningTestServer, total: number): Promise<Duplex> {
  const stalled = await server.dial(`127.0.0.1:${source.port}`);
  stalled.on('error', () => {});
  await writeAll(stalled, `GET ${total}\n`);
  await readExactly(stalled, MiB, 10_000);
  stalled.pause();
  return stalled;
}

describe.each(['grpc', 'http-connect'] as Mode[])('%s frontend', (mode) => {
  it('with credits: a stalled reader slows only itself, its buffers stay bounded, and it can resume', async () => {
    const { server, agentMetrics } = await cluster(mode, true);
    const stalled = await stalledDownload(server, 64 * MiB);

    // The neighbour on the same agent downloads at full speed while the stalled one holds its window.
    const neighbour = await server.dial(`127.0.0.1:${source.port}`);
    const bytes = await download(neighbour, 32 * MiB, 30_000);
    expect(verifyPattern(bytes)).toBe(true);

    // Whatever the source offers, each side holds at most about one window for the stalled reader (grown
    // while it read its first MiB at full speed, so up to the largest window).
    const bound = MAX_WINDOW_BYTES + INITIAL_WINDOW_BYTES;
    for (let i = 0; i < 5; i++) {
      // Deliberately lets time pass: the bound must hold however long the reader stays stalled.
      await new Promise((r) => setTimeout(r, 200));
      expect((await server.metrics()).value(BUFFERED) ?? 0).toBeLessThanOrEqual(bound);
      expect((await agentMetrics()).value(BUFFERED) ?? 0).toBeLessThanOrEqual(bound);
    }
    expect(CREDITS_FROM_AGENT(await server.metrics())).toBe(0); // nothing flows towards the agent
    // The stalled reader was only slowed down: it resumes and gets every byte, in order.
    const rest = await readExactly(stalled, 63 * MiB, 60_000);
    expect(verifyPattern(rest, MiB)).toBe(true);
  });

  it('without credits (a reference agent): the stalled connection is evicted after the grace period and the neighbour completes', async () => {
    const { server } = await cluster(mode, false);
    const stalled = await stalledDownload(server, 256 * MiB);
    const neighbour = await server.dial(`127.0.0.1:${source.port}`);
    const bytes = await download(neighbour, 16 * MiB, 30_000);
    expect(verifyPattern(bytes)).toBe(true);
    // Evicted, not left to pin memory: the server logged why and holds nothing for it any more.
    await server.process.waitForOutput(/buffer overflowed/);
    expect((await server.metrics()).value(BUFFERED) ?? 0).toBe(0);
    // A reader that comes back finds its connection ended before the 256 MiB it asked for.
    let received = 0;
    stalled.on('data', (c: Buffer) => (received += c.length));
    await new Promise<void>((resolve) => {
      stalled.once('close', () => resolve());
      stalled.once('end', () => resolve());
      stalled.once('error', () => resolve());
      stalled.resume();
    });
    expect(received).toBeLessThan(255 * MiB);
  });

  it('keeps large transfers byte-exact under backpressure in both directions', async () => {
    const { server } = await cluster(mode, true);
    // A slow reader: reads in bursts with pauses, so both sides keep running out of credit.
    const tunnel = await server.dial(`127.0.0.1:${source.port}`);
    await writeAll(tunnel, `GET ${24 * MiB}\n`);
    const chunks: Buffer[] = [];
    let got = 0;
    while (got < 24 * MiB) {
      const piece = await readExactly(tunnel, Math.min(3 * MiB, 24 * MiB - got), 30_000);
      chunks.push(piece);
      got += piece.length;
      // Deliberately slow: a reader that takes its bytes in pauses is what the credits must pace.
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(verifyPattern(Buffer.concat(chunks))).toBe(true);
    const up = await server.dial(`127.0.0.1:${sink.port}`);
    expect(await upload(up, 24 * MiB, 60_000)).toBe(`OK ${24 * MiB}`);
    expect(CREDITS_FROM_AGENT(await server.metrics())).toBeGreaterThan(0);
  });
});

describe('negotiation', () => {
  it('the server never sends CREDIT (nor its header) to an agent that did not offer the extension', async () => {
    const server = await startServer(tls(), work, { mode: 'grpc' });
    const fake = rawAgent(tls(), server.ports.agent, { agentid: 'reference-like-agent' });
    const headers = await fake.headers;
    expect(headers.get(FLOW_CONTROL_HEADER)).toEqual([]);
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'fake agent up',
    });

    const dialing = server.dial('10.0.0.5:10250');
    await waitFor(() => fake.received.some((p) => p.type === 'DIAL_REQ'), { description: 'DIAL_REQ' });
    const req = fake.received.find((p) => p.type === 'DIAL_REQ');
    if (req?.type !== 'DIAL_REQ') throw new Error('no DIAL_REQ');
    fake.write(packets.dialResponse(req.random, 1n));
    const tunnel = await dialing;
    for (let i = 0; i < 64; i++) fake.write(packets.data(1n, Buffer.alloc(16 * 1024, i)));
    await readExactly(tunnel, 64 * 16 * 1024, 10_000);
    await writeAll(tunnel, Buffer.alloc(MiB, 1));
    await waitFor(() => fake.received.filter((p) => p.type === 'DATA').length > 0, {
      description: 'DATA to agent',
    });
    // Deliberately lets time pass: a CREDIT the server should not send has no event to wait for.
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.received.filter((p) => p.type === 'CREDIT')).toEqual([]);
    tunnel.destroy();
    fake.close();
  });

  it('the agent offers it, and never sends CREDIT to a server that did not accept it', async () => {
    const fake = await fakeProxyServer(tls());
    const agent = await startAgentAt(tls(), work, fake.port, 'offering-agent');
    try {
      const stream = await fake.nextAgent();
      expect(stream.metadata.get(FLOW_CONTROL_HEADER)).toEqual(['v1']); // offered...
      stream.write(packets.dialRequest(`127.0.0.1:${echo.port}`, 7n));
      await waitFor(() => stream.received.some((p) => p.type === 'DIAL_RSP'), { description: 'DIAL_RSP' });
      for (let i = 0; i < 64; i++) stream.write(packets.data(1n, Buffer.alloc(16 * 1024, i)));
      await waitFor(
        () =>
          stream.received
            .filter((p) => p.type === 'DATA')
            .reduce((n, p) => n + (p.type === 'DATA' ? p.data.length : 0), 0) >=
          64 * 16 * 1024,
        { description: 'the echo of 1 MiB' },
      );
      expect(stream.received.filter((p) => p.type === 'CREDIT')).toEqual([]); // ...but not used
    } finally {
      await agent.stop('SIGKILL');
      await fake.close();
    }
  });

  it('our agent and server agree on it: credits flow', async () => {
    const { server } = await cluster('grpc', true);
    const tunnel = await server.dial(`127.0.0.1:${sink.port}`);
    expect(await upload(tunnel, 8 * MiB, 30_000)).toBe(`OK ${8 * MiB}`);
    expect(CREDITS_FROM_AGENT(await server.metrics())).toBeGreaterThan(0);
  });
});
