/**
 * Clients of HttpConnectSession over real loopback TCP connections: the test holds the client socket, as
 * kube-apiserver would, and the session runs on the accepted one against a ServerUnderTest.
 */
import * as net from 'net';
import { HttpConnectSession } from '../../../src/actors/server/httpConnectSession';
import { TARGET_HOST } from '../../helpers/targets';
import type { ServerUnderTest } from './serverHarness';

export interface ConnectClient {
  readonly socket: net.Socket;
  /** The server's end, which the session writes to. */
  readonly serverSide: net.Socket;
  received(): string;
  readonly closed: () => boolean;
}

export class HttpConnectClients {
  private listener: net.Server | null = null;
  private readonly sockets: net.Socket[] = [];

  /** A client connected to a fresh session for `address`, with `head` already read past the request head. */
  async open(sut: ServerUnderTest, address: string, head: Buffer = Buffer.alloc(0)): Promise<ConnectClient> {
    const listener = await this.listening();
    const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
    const socket = net.connect((listener.address() as net.AddressInfo).port, TARGET_HOST);
    this.sockets.push(socket);
    const chunks: Buffer[] = [];
    let closed = false;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    const serverSide = await accepted;
    this.sockets.push(serverSide);
    new HttpConnectSession(serverSide, 'test-client', address, head, sut.server, sut.logs.log);
    return {
      socket,
      serverSide,
      received: () => Buffer.concat(chunks).toString('latin1'),
      closed: () => closed,
    };
  }

  /** Destroys every socket and stops listening. */
  async close(): Promise<void> {
    for (const s of this.sockets.splice(0)) s.destroy();
    const listener = this.listener;
    this.listener = null;
    if (listener) await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  private async listening(): Promise<net.Server> {
    if (!this.listener) {
      const listener = net.createServer();
      this.listener = listener;
      await new Promise<void>((resolve) => listener.listen(0, TARGET_HOST, resolve));
    }
    return this.listener;
  }
}
