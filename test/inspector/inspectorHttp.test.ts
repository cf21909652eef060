/** `/inspector/` over HTTP, in-process: only the shipped files, read-only, the CSP on everything, the stream. */
import * as http from 'node:http';
import { ActorHost } from '../../src/actors/actorHost';
import { EventFeed } from '../../src/inspector/eventFeed';
import { CONTENT_SECURITY_POLICY } from '../../src/inspector/http/inspectorHandler';
import { LiveInspector } from '../../src/inspector/liveInspector';
import type { RunningHttpServer } from '../../src/observability/httpEndpoints';
import { serveInspector } from './inspectorServer';

let server: RunningHttpServer;

beforeAll(async () => {
  const inspector = new LiveInspector(new ActorHost(), { kind: 'agent', id: 'node-1' }, new EventFeed());
  server = await serveInspector(inspector);
});
afterAll(() => server.close());

function request(
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/inspector/', () => {
  it('serves the page and its files with the CSP, and nothing else from the disk', async () => {
    const page = await request('/inspector/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(page.body).toContain('<script type="module" src="app.js"></script>');
    expect((await request('/inspector/app.js')).headers['content-type']).toBe(
      'text/javascript; charset=utf-8',
    );
    expect((await request('/inspector')).status).toBe(301);
    for (const path of [
      '/inspector/%2e%2e/package.json',
      '/inspector/..%2fpackage.json',
      '/inspector/nope.js',
    ]) {
      expect((await request(path)).status).toBe(404);
    }
  });

  it('is read-only', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const res = await request('/inspector/api/summary', method);
      expect(res.status).toBe(405);
      expect(res.headers['allow']).toBe('GET, HEAD');
    }
  });

  it('answers the JSON API with the CSP, and 404 for what does not exist', async () => {
    const info = await request('/inspector/api/info');
    expect(JSON.parse(info.body)).toEqual({
      mode: 'process',
      process: { kind: 'agent', id: 'node-1' },
      frameIntervalMs: 500,
    });
    expect(info.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    const machines = JSON.parse((await request('/inspector/api/machines')).body) as { machine: string }[];
    expect(machines.map((m) => m.machine)).toEqual(['connection', 'serverLink', 'syncLoop']);
    expect((await request('/inspector/api/actors/x:999')).status).toBe(404);
    expect((await request('/inspector/api/nothing')).status).toBe(404);
  });

  it('answers HEAD on the stream without holding it open, and GET with frames', async () => {
    const head = await request('/inspector/api/stream', 'HEAD');
    expect(head.status).toBe(200);
    const frame = await new Promise<string>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port: server.port, path: '/inspector/api/stream', agent: false },
        (res) => {
          expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
          res.setEncoding('utf8');
          let text = '';
          res.on('data', (c: string) => {
            text += c;
            if (text.includes('\n\n')) {
              req.destroy();
              resolve(text);
            }
          });
        },
      );
      req.on('error', reject);
    });
    expect(frame.startsWith('data: ')).toBe(true);
    const parsed = JSON.parse(frame.slice('data: '.length)) as {
      summary: { process: unknown };
      skipped: number;
    };
    expect(parsed.summary.process).toEqual({ kind: 'agent', id: 'node-1' });
    expect(parsed.skipped).toBe(0);
  });
});
