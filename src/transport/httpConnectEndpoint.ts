/**
 * The HTTP CONNECT frontend, on a Unix socket (no TLS, as kube-apiserver uses it) or on TCP with mTLS.
 * Node's HTTP parser does the request head; the tunnel bytes never go through it.
 */
import * as http from 'http';
import * as https from 'https';
import type { Socket } from 'net';
import type { Duplex } from 'stream';
import { prepareSocketPath, restrictSocket, type Listen, type StartedServer } from './listen';
import { readPem, tlsPolicyOptions, type ServerTlsFiles } from './tlsFiles';
import { listenBacklog } from './listenBacklog';

export interface ConnectRequest {
  /** The request-line authority (`host:port`), never the Host header. */
  readonly authority: string;
  readonly peer: string;
  readonly socket: Duplex;
  /** Bytes that arrived after the request head: they belong to the tunnel. */
  readonly head: Buffer;
}

export interface HttpConnectOptions {
  listen: Listen;
  tls?: ServerTlsFiles;
  onConnect(req: ConnectRequest): void;
  onBadRequest?(peer: string, reason: string): void;
}

/** What Go's net/http writes for a request it cannot parse. */
const BAD_REQUEST =
  'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request';
const METHOD_NOT_ALLOWED_BODY = 'this proxy only supports CONNECT passthrough\n';

export async function startHttpConnectFrontend(opts: HttpConnectOptions): Promise<StartedServer> {
  const server: http.Server =
    opts.listen.kind === 'tcp' && opts.tls
      ? https.createServer({
          cert: readPem(opts.tls.cert, '--server-cert', 'certificate'),
          key: readPem(opts.tls.key, '--server-key', 'key'),
          ...(opts.tls.ca
            ? {
                ca: readPem(opts.tls.ca, '--server-ca-cert', 'certificate'),
                requestCert: true,
                rejectUnauthorized: true,
              }
            : {}),
          ...tlsPolicyOptions(opts.tls.policy),
        })
      : http.createServer();
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const peer = describePeer(req.socket);
    opts.onConnect({ authority: req.url ?? '', peer, socket, head });
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    opts.onBadRequest?.(describePeer(req.socket), `method ${req.method} is not CONNECT`);
    res.writeHead(405, {
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      'Content-Length': Buffer.byteLength(METHOD_NOT_ALLOWED_BODY),
      Connection: 'close',
    });
    res.end(METHOD_NOT_ALLOWED_BODY);
  });
  server.on('clientError', (err: Error, socket: Duplex) => {
    opts.onBadRequest?.('unknown', `unparseable request: ${err.message}`);
    if ((socket as Socket).writable) socket.end(BAD_REQUEST);
    else socket.destroy();
  });
  prepareSocketPath(opts.listen);
  const backlog = listenBacklog();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const at =
      opts.listen.kind === 'uds'
        ? { path: opts.listen.path }
        : { port: opts.listen.port, ...(opts.listen.host === '' ? {} : { host: opts.listen.host }) };
    server.listen({ ...at, backlog: backlog.requested }, resolve);
  });
  restrictSocket(opts.listen);
  const address = server.address();
  let closing: Promise<void> | null = null;
  let listening = true;
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  const stopAccepting = (): void => {
    if (!listening) return;
    listening = false;
    server.close(); // open tunnels carry on; 'close' fires once they have all ended
  };
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    backlog,
    stopAccepting,
    close: () => {
      closing ??= (async () => {
        stopAccepting();
        for (const s of sockets) s.destroy();
        await closed;
      })();
      return closing;
    },
  };
}

function describePeer(socket: Socket): string {
  return socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
}
