import * as http from 'node:http';
import * as net from 'node:net';
import { Registry } from 'prom-client';
import {
  startAdminServer,
  startHealthServer,
  type RunningHttpServer,
} from '../../src/observability/httpEndpoints';
import { createLogger } from '../../src/observability/logger';
import { ServerMetrics } from '../../src/observability/serverMetrics';
import { waitFor } from '../helpers/waitFor';

const HOST = '127.0.0.1';
/** Long enough for a loaded CI box to tear sockets down, short enough to fail fast on a real leak. */
const DEADLINE_MS = 2000;

interface Reply {
  status: number;
  contentType: string | undefined;
  body: string;
}

function get(port: number, path: string, agent?: http.Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path, agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, contentType: res.headers['content-type'], body }),
      );
    });
    req.on('error', reject);
  });
}

const tcpHandles = (): number =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'TCPSocketWrap').length;

const logLines: string[] = [];
const logger = createLogger({ verbosity: 5, component: 'test', sink: (l) => logLines.push(l) });
const started: RunningHttpServer[] = [];
let baselineHandles = 0;

beforeEach(() => {
  logLines.length = 0;
  baselineHandles = tcpHandles();
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
  // Every listener and socket a test opened must be gone: a leak here is a failure, not a warning.
  await waitFor(() => tcpHandles() <= baselineHandles, {
    description: 'TCP handles to return to the baseline',
    timeoutMs: DEADLINE_MS,
  });
});

async function health(isReady: () => boolean, notReadyStatus: 500 | 503 = 500, registry = new Registry()) {
  const notReadyBody = notReadyStatus === 500 ? 'no connection to any proxy agent' : 'not ready';
  const s = await startHealthServer({
    host: HOST,
    port: 0,
    isReady,
    notReadyStatus,
    notReadyBody,
    registry,
    logger,
  });
  started.push(s);
  return s;
}

describe('health server', () => {
  it('binds an ephemeral port when asked for port 0 and answers /healthz with 200 ok', async () => {
    const s = await health(() => false);
    expect(s.port).toBeGreaterThan(0);
    expect(await get(s.port, '/healthz')).toEqual({
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      body: 'ok',
    });
  });

  it('answers /readyz and /ready with 200 ok once ready, following the live readiness', async () => {
    let ready = false;
    const s = await health(() => ready);
    expect((await get(s.port, '/readyz')).status).toBe(500);
    ready = true;
    expect(await get(s.port, '/readyz')).toMatchObject({ status: 200, body: 'ok' });
    expect(await get(s.port, '/ready')).toMatchObject({ status: 200, body: 'ok' });
  });

  it('answers not-ready with 500 and the reason, as the reference server does', async () => {
    const s = await health(() => false, 500);
    expect(await get(s.port, '/readyz')).toMatchObject({
      status: 500,
      body: 'no connection to any proxy agent',
    });
    expect(await get(s.port, '/ready')).toMatchObject({
      status: 500,
      body: 'no connection to any proxy agent',
    });
  });

  it('answers not-ready with 503 when configured like the reference agent', async () => {
    const s = await health(() => false, 503);
    expect(await get(s.port, '/readyz')).toMatchObject({ status: 503, body: 'not ready' });
  });

  it('treats a readiness check that throws as not ready and logs it', async () => {
    const s = await health(() => {
      throw new Error('storage gone');
    });
    expect((await get(s.port, '/readyz')).status).toBe(500);
    expect(logLines.some((l) => l.startsWith('E') && l.includes('err="storage gone"'))).toBe(true);
  });

  it('serves /metrics in the Prometheus text format with the registry content type', async () => {
    const metrics = new ServerMetrics();
    metrics.dialFailed('no_agent');
    const s = await health(() => true, 500, metrics.registry);
    const reply = await get(s.port, '/metrics?x=1');
    expect(reply.status).toBe(200);
    expect(reply.contentType).toBe(metrics.registry.contentType);
    expect(reply.body).toContain('konnectivity_network_proxy_server_dial_failure_count{reason="no_agent"} 1');
  });

  it('answers other paths with 404 like Go http.NotFound', async () => {
    const s = await health(() => true);
    expect(await get(s.port, '/debug/pprof')).toMatchObject({ status: 404, body: '404 page not found\n' });
    expect((await get(s.port, '/healthz/extra')).status).toBe(404);
  });
});

describe('admin server', () => {
  it('serves /metrics and nothing else', async () => {
    const metrics = new ServerMetrics();
    const s = await startAdminServer({ host: HOST, port: 0, registry: metrics.registry, logger });
    started.push(s);
    expect((await get(s.port, '/metrics')).body).toContain(
      '# TYPE konnectivity_network_proxy_server_http_connections gauge',
    );
    expect((await get(s.port, '/healthz')).status).toBe(404);
  });
});

describe('bad request targets', () => {
  /** Sends raw request bytes and resolves with the status line of the answer. */
  function rawRequest(port: number, request: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, HOST, () => socket.write(request));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text.split('\r\n')[0] ?? ''));
      socket.on('error', reject);
    });
  }

  it('answers a request target that is not a URL with 400 and keeps serving (no uncaught exception)', async () => {
    const s = await startAdminServer({ host: HOST, port: 0, registry: new Registry(), logger });
    started.push(s);
    const h = await health(() => true);
    for (const port of [s.port, h.port]) {
      const status = await rawRequest(port, 'GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(status).toBe('HTTP/1.1 400 Bad Request');
    }
    expect((await get(s.port, '/metrics')).status).toBe(200);
  });
});

describe('lifecycle', () => {
  it('closes promptly despite an idle keep-alive client, and closing twice is harmless', async () => {
    const s = await health(() => true);
    const agent = new http.Agent({ keepAlive: true });
    try {
      expect((await get(s.port, '/healthz', agent)).status).toBe(200);
      const [socket] = Object.values(agent.freeSockets).flat();
      expect(socket).toBeDefined(); // the connection is parked idle, which plain server.close() would wait on
      const socketClosed = new Promise<void>((resolve) => socket!.once('close', () => resolve()));

      await Promise.all([s.close(), s.close()]);
      await s.close();
      await socketClosed;
      await expect(get(s.port, '/healthz')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      agent.destroy();
    }
  });

  it('rejects with the cause when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, HOST, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const attempt = startHealthServer({
        host: HOST,
        port,
        isReady: () => true,
        notReadyStatus: 500,
        notReadyBody: '',
        registry: new Registry(),
        logger,
      });
      await expect(attempt).rejects.toMatchObject({
        message: expect.stringContaining(`health server could not listen on ${HOST}:${port}`),
        cause: expect.objectContaining({ code: 'EADDRINUSE' }),
      });
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
