/**
 * Many connections at once through the real binaries: concurrent large downloads stay byte-exact,
 * uploads arrive intact, concurrent echoes spread over two agents, and cancelled requests leave nothing
 * behind (no endpoint connection on the agent, no dial or connection actor on either side).
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { stopAllProcesses } from '../helpers/processes';
import {
  startDownloadServer,
  startEchoServer,
  startSinkServer,
  startStallServer,
  verifyPattern,
  type TargetServer,
} from '../helpers/targets';
import { download, sendAndReceive, upload, writeAll } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import {
  OPEN_ENDPOINT_CONNECTIONS,
  READY_BACKENDS,
  startAgent,
  startServer,
  transientActors,
  type Mode,
} from './cluster';

jest.setTimeout(120_000);

const tls = useTlsDir();
let work: string;
const targets: TargetServer[] = [];

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-load-'));
});
afterAll(async () => {
  await stopAllProcesses();
  await Promise.all(targets.map((t) => t.close()));
  rmSync(work, { recursive: true, force: true });
});

const MiB = 1024 * 1024;

describe.each(['grpc', 'http-connect'] as Mode[])('%s frontend', (mode) => {
  it('carries 10 concurrent 10 MiB downloads and 4 MiB uploads byte-exactly', async () => {
    const source = await startDownloadServer();
    const sink = await startSinkServer();
    targets.push(source, sink);
    const server = await startServer(tls(), work, { mode });
    await startAgent(tls(), work, server, { agentId: `load-${mode}` });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent connected',
    });

    const downloads = Array.from({ length: 10 }, async () => {
      const tunnel = await server.dial(`127.0.0.1:${source.port}`);
      const bytes = await download(tunnel, 10 * MiB, 60_000);
      return bytes;
    });
    for (const bytes of await Promise.all(downloads)) {
      expect(bytes.length).toBe(10 * MiB);
      expect(verifyPattern(bytes)).toBe(true);
    }
    const uploads = Array.from({ length: 4 }, async () => {
      const tunnel = await server.dial(`127.0.0.1:${sink.port}`);
      return upload(tunnel, 4 * MiB, 60_000);
    });
    expect(await Promise.all(uploads)).toEqual(Array(4).fill(`OK ${4 * MiB}`));
  });

  it('spreads 100 concurrent echoes over two agents, and all complete', async () => {
    const echo = await startEchoServer();
    targets.push(echo);
    const server = await startServer(tls(), work, { mode });
    await startAgent(tls(), work, server, { agentId: `echo-a-${mode}` });
    await startAgent(tls(), work, server, { agentId: `echo-b-${mode}` });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 2, {
      description: 'two agents',
    });

    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const tunnel = await server.dial(`127.0.0.1:${echo.port}`);
        const payload = Buffer.from(`echo number ${i} `.repeat(50));
        const reply = await sendAndReceive(tunnel, payload, payload.length, 30_000);
        tunnel.destroy();
        return reply.equals(payload);
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(echo.accepted).toBe(100);
  });

  it('leaves no endpoint connection and no dial or connection actor after 50 requests are cancelled mid-flight', async () => {
    const stall = await startStallServer();
    targets.push(stall);
    const server = await startServer(tls(), work, { mode });
    const agent = await startAgent(tls(), work, server, { agentId: `cancel-${mode}` });
    await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
      description: 'agent connected',
    });

    const tunnels = await Promise.all(
      Array.from({ length: 50 }, () => server.dial(`127.0.0.1:${stall.port}`)),
    );
    // Each request is in flight: bytes written, no answer coming.
    await Promise.all(tunnels.map((t) => writeAll(t, Buffer.alloc(1024, 1))));
    await waitFor(async () => (await agent.metrics()).value(OPEN_ENDPOINT_CONNECTIONS) === 50, {
      description: '50 endpoint connections open',
    });
    for (const t of tunnels) t.destroy();

    await waitFor(async () => (await agent.metrics()).value(OPEN_ENDPOINT_CONNECTIONS) === 0, {
      description: 'agent endpoint connections back to 0',
      timeoutMs: 15_000,
    });
    await waitFor(async () => transientActors(await server.metrics()) === 0, {
      description: 'no dial/connection actor left on the server',
      timeoutMs: 15_000,
    });
    await waitFor(async () => transientActors(await agent.metrics()) === 0, {
      description: 'no dial/connection actor left on the agent',
      timeoutMs: 15_000,
    });
  });
});
