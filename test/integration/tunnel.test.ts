/**
 * Server and agent in this process, talking real gRPC over TLS on loopback, with real frontends (the
 * client library) and real TCP targets. The same scenarios run against the binaries in test/e2e.
 */
import { mkdtempSync, rmSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { runAgent, type RunningAgent } from '../../src/agent/runAgent';
import { dialViaGrpc } from '../../src/client/grpcTunnel';
import { dialViaHttpConnect } from '../../src/client/httpConnectTunnel';
import { createLogger, discardSink } from '../../src/observability/logger';
import { runServer, type RunningServer } from '../../src/server/runServer';
import { generateTlsMaterial, type TlsFiles } from '../../src/tools/certs';
import type { InspectionEvent } from 'xstate';
import { waitFor } from '../helpers/waitFor';

const log = createLogger({
  verbosity: 0,
  component: 'test',
  sink: process.env.TEST_LOGS ? undefined : discardSink,
});

function echoServer(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.pipe(s);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    ),
  );
}

function roundTrip(sock: NodeJS.ReadWriteStream & { end(): void }, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= payload.length) resolve(Buffer.concat(chunks));
    });
    sock.on('error', reject);
    sock.write(payload);
  });
}

describe.each(['grpc', 'http-connect'] as const)(
  'tunnel in process, %s frontend on a Unix socket',
  (mode) => {
    let dir: string;
    let tls: TlsFiles;
    let server: RunningServer;
    let agent: RunningAgent;
    let echo: { port: number; close(): void };
    const socketPath = (): string => path.join(dir, 'konnectivity.sock');

    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'knp-int-'));
      tls = await generateTlsMaterial(dir);
      echo = await echoServer();
      server = await runServer(
        {
          serverId: 'server-1',
          serverCount: 1,
          mode,
          frontend: { listen: { kind: 'uds', path: socketPath() } },
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
          eventLog: { eventLog: '', dataDir: path.join(dir, 'server-data'), explicit: true },
          flowControl: true,
          gracefulShutdownTimeoutMs: 0,
        },
        log,
      );
      agent = await runAgent(
        {
          agentId: 'agent-1',
          identifiers: 'host=localhost&ipv4=127.0.0.1',
          primary: `127.0.0.1:${server.agentPort}`,
          extra: [],
          syncForever: false,
          allowedDestinations: [],
          tls: { caCert: tls.caCert },
          serviceAccountTokenPath: '',
          syncIntervalMs: 200,
          syncIntervalCapMs: 1000,
          keepaliveTimeMs: 0,
          health: { host: '127.0.0.1', port: 0 },
          admin: { host: '127.0.0.1', port: 0 },
          eventLog: { eventLog: '', dataDir: path.join(dir, 'agent-data'), explicit: true },
          flowControl: true,
        },
        log,
      );
      await waitFor(() => server.proxy.isReady() && agent.clients.isReady(), {
        description: 'agent connected',
      });
    });

    afterAll(async () => {
      await agent?.close().catch((e: unknown) => console.log('agent close failed', e));
      await server?.close().catch((e: unknown) => console.log('server close failed', e));
      echo?.close();
      rmSync(dir, { recursive: true, force: true });
      if (process.env.SHOW_HANDLES) {
        // Deliberately lets time pass: a debugging aid that lists what is still open after close settles.
        await new Promise((r) => setTimeout(r, 500));
        const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
        console.log(
          handles.map(
            (h) =>
              (h as object).constructor.name +
              ' ' +
              JSON.stringify((h as { address?: () => unknown }).address?.() ?? '') +
              ' ' +
              String((h as { listenerCount?: (e: string) => number }).listenerCount?.('request')),
          ),
        );
      }
    });

    const open = async (
      address: string,
    ): Promise<net.Socket | import('../../src/client/tunnelConnection').TunnelConnection> =>
      mode === 'grpc'
        ? dialViaGrpc({ target: `unix://${socketPath()}`, address, timeoutMs: 5000 })
        : dialViaHttpConnect({ socketPath: socketPath(), address, timeoutMs: 5000 });

    it('carries an echo round trip byte-exactly, and closes cleanly', async () => {
      const conn = await open(`127.0.0.1:${echo.port}`);
      const payload = Buffer.alloc(256 * 1024, 7);
      const back = await roundTrip(conn, payload);
      expect(back.equals(payload)).toBe(true);
      conn.end();
      await waitFor(() => agent.clients.openEndpointConnections === 0, { description: 'endpoint closed' });
      await waitFor(() => server.proxy.actors.counts().connection === 0, {
        description: 'server connection actor gone',
      });
    });

    it('lets an inspector observe every actor of both processes through the supervisors’ inspect hook', async () => {
      const seen = new Map<string, Set<string>>();
      const record =
        (side: string) =>
        (event: InspectionEvent): void => {
          const id = (event.actorRef as unknown as { logic: { id?: string } }).logic.id ?? '?';
          const key = `${side}:${id}`;
          if (!seen.has(key)) seen.set(key, new Set());
          seen.get(key)!.add(event.type);
        };
      const stopServer = server.proxy.actors.observe(record('server'));
      const stopAgent = agent.clients.actors.observe(record('agent'));
      const conn = await open(`127.0.0.1:${echo.port}`);
      await roundTrip(conn, Buffer.from('inspect me'));
      conn.end();
      await waitFor(() => server.proxy.actors.counts().connection === 0, { description: 'connection ended' });
      stopServer();
      stopAgent();
      for (const key of ['server:connection', 'agent:connection']) {
        expect(seen.get(key)).toEqual(
          new Set([
            '@xstate.actor',
            '@xstate.event',
            '@xstate.snapshot',
            '@xstate.microstep',
            '@xstate.action',
          ]),
        );
      }
    });

    it('reports a refused dial with Go wording', async () => {
      const refused = net.createServer();
      await new Promise<void>((r) => refused.listen(0, '127.0.0.1', r));
      const port = (refused.address() as net.AddressInfo).port;
      await new Promise<void>((r) => refused.close(() => r()));
      await expect(open(`127.0.0.1:${port}`)).rejects.toThrow(
        `dial tcp 127.0.0.1:${port}: connect: connection refused`,
      );
    });
  },
);
