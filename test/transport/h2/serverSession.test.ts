/**
 * What every session of our node:http2 gRPC server gets from its first write, on both listeners: the
 * connection-level receive window, and the peer that calls on it report.
 */
import { mkdtempSync, rmSync } from 'fs';
import * as http2 from 'http2';
import * as net from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { PROXY_PATH } from '../../../src/transport/grpcServices';
import { startH2Server, type H2Listen, type H2Server } from '../../../src/transport/h2/h2Server';
import type { H2ServerCall } from '../../../src/transport/h2/serverCall';
import { SESSION_WINDOW_BYTES } from '../../../src/transport/h2/settings';
import { waitFor } from '../../helpers/waitFor';

/** Only stops a hung test. */
jest.setTimeout(30_000);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'knp-server-session-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['uds', 'tcp'] as const)('a session of our gRPC server on %s', (kind) => {
  let server: H2Server;
  let listen: H2Listen;
  const calls: H2ServerCall[] = [];
  beforeAll(async () => {
    listen =
      kind === 'uds'
        ? { kind: 'uds', path: path.join(dir, 'session.sock') }
        : { kind: 'tcp', host: '127.0.0.1', port: 0 };
    server = await startH2Server({
      listen,
      routes: { [PROXY_PATH]: (call) => (calls.push(call), call.refuse(0, '')) },
    });
  });
  afterAll(() => server.close());

  function connect(): http2.ClientHttp2Session {
    return kind === 'uds'
      ? http2.connect('http://localhost', {
          createConnection: () => net.connect((listen as { path: string }).path),
        })
      : http2.connect(`http://127.0.0.1:${server.port}`);
  }

  it('opens its connection-level window to SESSION_WINDOW_BYTES without waiting for the client', async () => {
    const client = connect();
    try {
      // The client has sent nothing but its preface: the server's window must still grow.
      await waitFor(() => client.state.remoteWindowSize === SESSION_WINDOW_BYTES, {
        description: `client sees the server's session window of ${SESSION_WINDOW_BYTES} bytes`,
      });
    } finally {
      client.close();
    }
  });

  it('names the peer of each call: the socket path on a Unix socket, address:port on TCP', async () => {
    const clients = [connect(), connect()];
    try {
      for (const client of clients) {
        const req = client.request({
          ':method': 'POST',
          ':path': PROXY_PATH,
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        req.resume();
        req.end();
        await new Promise((resolve) => req.once('close', resolve));
      }
      const peers = calls.slice(-2).map((c) => c.peer);
      if (listen.kind === 'uds') expect(peers).toEqual([`unix:${listen.path}`, `unix:${listen.path}`]);
      else for (const peer of peers) expect(peer).toMatch(/^127\.0\.0\.1:[1-9][0-9]*$/);
      if (listen.kind === 'tcp') expect(peers[0]).not.toEqual(peers[1]);
    } finally {
      for (const client of clients) client.close();
    }
  });
});
