/**
 * Bursts on the frontend, through the real binaries: thousands of tunnels opened at once, in gRPC mode as
 * streams multiplexed on one HTTP/2 connection, in HTTP-CONNECT mode as connections on the Unix socket.
 * Every tunnel must complete with its own bytes echoed back exactly; none may be refused or left hanging.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { dialViaGrpc } from '../../src/client/grpcTunnel';
import { TunnelConnection } from '../../src/client/tunnelConnection';
import type { Socket } from 'net';
import { stopAllProcesses } from '../helpers/processes';
import { startDownloadServer, startEchoServer, verifyPattern, type TargetServer } from '../helpers/targets';
import { download, sendAndReceive } from '../helpers/tcpClient';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';
import { READY_BACKENDS, startAgent, startServer, transientActors, type RunningTestServer } from './cluster';

/** Only stops a hung run; thousands of tunnels on a shared 2-core machine take a while. */
jest.setTimeout(600_000);
/** Per dial and per exchange: long enough for a loaded machine, short of the jest timeout. */
const STEP_TIMEOUT_MS = 240_000;

const tls = useTlsDir();
let work: string;
const targets: TargetServer[] = [];

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'knp-e2e-burst-'));
});
afterAll(async () => {
  await stopAllProcesses();
  await Promise.all(targets.map((t) => t.close()));
  rmSync(work, { recursive: true, force: true });
});

const MiB = 1024 * 1024;

/** Channel options under which every dial of a test shares one HTTP/2 connection to the server. */
const ONE_CONNECTION = { 'grpc.use_local_subchannel_pool': 0 };

function payloadFor(i: number, size: number): Buffer {
  const tag = Buffer.from(`tunnel ${i} `);
  return Buffer.alloc(size, tag);
}

async function serverWithAgent(
  mode: 'grpc' | 'http-connect',
  name: string,
  agentArgs: string[] = [],
): Promise<RunningTestServer> {
  const server = await startServer(tls(), work, { mode });
  await startAgent(tls(), work, server, { agentId: name, extraArgs: agentArgs });
  await waitFor(async () => (await server.metrics()).value(READY_BACKENDS) === 1, {
    description: 'agent connected',
  });
  return server;
}

/** Opens `n` tunnels at once, echoes a distinct payload on each, closes it; returns how many matched. */
async function echoBurst(
  n: number,
  size: number,
  dial: () => Promise<TunnelConnection | Socket>,
): Promise<{ matched: number; errors: string[] }> {
  const errors: string[] = [];
  const outcomes = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      let tunnel: TunnelConnection | Socket | undefined;
      try {
        tunnel = await dial();
        // A failure shows in the exchange below; this only keeps a late stream error from going unhandled.
        tunnel.on('error', () => undefined);
        const payload = payloadFor(i, size);
        const reply = await sendAndReceive(tunnel, payload, payload.length, STEP_TIMEOUT_MS);
        if (tunnel instanceof TunnelConnection) await tunnel.close();
        else tunnel.destroy();
        return reply.equals(payload);
      } catch (err) {
        errors.push((err as Error).message);
        tunnel?.destroy();
        return false;
      }
    }),
  );
  return { matched: outcomes.filter(Boolean).length, errors: [...new Set(errors)].slice(0, 5) };
}

function grpcDialer(server: RunningTestServer, address: string): () => Promise<TunnelConnection> {
  return () =>
    dialViaGrpc({
      target: `unix://${server.socketPath}`,
      address,
      timeoutMs: STEP_TIMEOUT_MS,
      channelOptions: ONE_CONNECTION,
    });
}

describe('gRPC frontend, many streams on one HTTP/2 connection', () => {
  it('after a 64 MiB download, 1,000 concurrent echoes on one channel all complete', async () => {
    const source = await startDownloadServer();
    const echo = await startEchoServer();
    targets.push(source, echo);
    const server = await serverWithAgent('grpc', 'mux-after-download');

    const big = await dialViaGrpc({
      target: `unix://${server.socketPath}`,
      address: `127.0.0.1:${source.port}`,
      timeoutMs: STEP_TIMEOUT_MS,
    });
    const bytes = await download(big, 64 * MiB, STEP_TIMEOUT_MS);
    expect(bytes.length).toBe(64 * MiB);
    expect(verifyPattern(bytes)).toBe(true);
    big.destroy();

    const result = await echoBurst(1000, 4096, grpcDialer(server, `127.0.0.1:${echo.port}`));
    expect(result).toEqual({ matched: 1000, errors: [] });
    expect(echo.accepted).toBe(1000);
    await waitFor(async () => transientActors(await server.metrics()) === 0, {
      description: 'no dial or connection actor left on the server',
      timeoutMs: 60_000,
    });
  });

  it('2,000 concurrent streams on one channel each echo their own bytes', async () => {
    const echo = await startEchoServer();
    targets.push(echo);
    const server = await serverWithAgent('grpc', 'mux-burst');
    const result = await echoBurst(2000, 1024, grpcDialer(server, `127.0.0.1:${echo.port}`));
    expect(result).toEqual({ matched: 2000, errors: [] });
    expect(echo.accepted).toBe(2000);
  });

  // The agent's links run on node:http2 by default; the grpc-js link is still a choice and must carry a burst
  // as well (it hands the agent its DIAL_REQs more slowly, so the connects reach the target spread out more).
  it('2,000 concurrent streams, agent link on grpc-js (--link-transport=grpc-js)', async () => {
    const echo = await startEchoServer();
    targets.push(echo);
    const server = await serverWithAgent('grpc', 'mux-burst-grpcjs', ['--link-transport=grpc-js']);
    const result = await echoBurst(2000, 1024, grpcDialer(server, `127.0.0.1:${echo.port}`));
    expect(result).toEqual({ matched: 2000, errors: [] });
    expect(echo.accepted).toBe(2000);
  });
});

describe('HTTP-CONNECT frontend on the Unix socket', () => {
  it('2,000 concurrent CONNECTs are all accepted and each echoes its own bytes', async () => {
    const echo = await startEchoServer();
    targets.push(echo);
    const server = await serverWithAgent('http-connect', 'connect-burst');
    const address = `127.0.0.1:${echo.port}`;
    const result = await echoBurst(2000, 1024, () => server.dial(address, STEP_TIMEOUT_MS));
    expect(result).toEqual({ matched: 2000, errors: [] });
    expect(echo.accepted).toBe(2000);
  });
});
