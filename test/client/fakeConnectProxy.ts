/**
 * A scripted HTTP-CONNECT proxy (Node's http 'connect' event) for testing the client, not a Konnectivity
 * server. A `127.0.0.1:<port>` address is really dialed and piped, with `greeting` written in the same
 * write as the 200 head (the bytes the client must not lose). Other addresses script a reply:
 * `bad-gateway:1` 502 with Content-Length (connection kept open), `no-agent:1` 500 read to close,
 * `chunked:1` 503 chunked, `extra-header:1` a 200 with a header, `split-head:1` a 200 head in three
 * writes, `silent:1` no reply at all.
 */
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import type { Duplex } from 'stream';

export const ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';
export const BAD_GATEWAY_BODY = 'dial tcp 10.0.0.1:1: connect: connection refused';
export const NO_AGENT_BODY = 'currently no tunnels available: No agent available';

export interface ConnectRequestRecord {
  readonly method: string;
  readonly url: string;
  readonly host: string | undefined;
  /** Bytes the client sent after the request head, delivered with it. */
  readonly head: Buffer;
}

export class FakeConnectProxy {
  readonly requests: ConnectRequestRecord[] = [];
  /** Written right after a real target's 200 head, in the same write. */
  greeting = Buffer.alloc(0);
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly server: http.Server | https.Server) {
    server.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      // http.Server sockets allow half-open; without this a scripted reply would outlive its client.
      socket.on('end', () => socket.end());
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host, head });
      this.answer(req.url ?? '', socket, head);
    });
    server.on('tlsClientError', () => undefined);
  }

  static plain(): FakeConnectProxy {
    return new FakeConnectProxy(http.createServer());
  }

  static mtls(options: { ca: string; cert: string; key: string }): FakeConnectProxy {
    return new FakeConnectProxy(
      https.createServer({ ...options, requestCert: true, rejectUnauthorized: true }),
    );
  }

  listen(where: { path: string } | { port: 0; host: '127.0.0.1' }): Promise<void> {
    return new Promise((resolve) => this.server.listen(where, resolve));
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Connections the proxy still holds. */
  get open(): number {
    return this.sockets.size;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(address: string, socket: Duplex, head: Buffer): void {
    // Scripted replies ignore what the client sends but must read it to see the client's end.
    if (!/^127\.0\.0\.1:\d+$/.test(address) && address !== 'extra-header:1') socket.resume();
    switch (address) {
      case 'bad-gateway:1':
        socket.write(
          `HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: ${BAD_GATEWAY_BODY.length}\r\n\r\n${BAD_GATEWAY_BODY}`,
        );
        return;
      case 'no-agent:1':
        socket.end(`HTTP/1.1 500 Internal Server Error\r\n\r\n${NO_AGENT_BODY}`);
        return;
      case 'chunked:1':
        socket.write('HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n');
        socket.write('9\r\ntoo many \r\n');
        socket.write('a\r\nopen files\r\n0\r\n\r\n');
        return;
      case 'extra-header:1':
        socket.write('HTTP/1.1 200 Connection Established\r\nX-Extra: 1\r\n\r\n');
        socket.pipe(socket);
        return;
      case 'split-head:1':
        socket.write('HTTP/1.1 200 Conn');
        setImmediate(() => socket.write('ection Established\r\n\r'));
        setTimeout(() => socket.write('\nafter-split'), 20);
        return;
      case 'silent:1':
        return;
      default:
        this.tunnel(address, socket, head);
    }
  }

  private tunnel(address: string, socket: Duplex, head: Buffer): void {
    const [host, port] = address.split(':');
    const upstream = net.connect({ host, port: Number(port) });
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.on('error', () => socket.destroy());
    upstream.on('connect', () => {
      socket.write(Buffer.concat([Buffer.from(ESTABLISHED), this.greeting]));
      upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
    socket.on('close', () => upstream.destroy());
  }
}
