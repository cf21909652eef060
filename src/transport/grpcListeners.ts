/**
 * How a grpc-js server listens and hands connections to HTTP/2: a deep accept queue (listenBacklog.ts) and
 * sessions that keep reading while their output waits (readWhileWritingSocket.ts). grpc-js has no option for
 * either, so this wraps its private `createHttp2Server` (grpc-js 1.14) for one server instance; when the
 * method is missing the server keeps grpc-js's defaults and the caller is told.
 */
import type * as http2 from 'http2';
import type * as net from 'net';
import type { TLSSocket } from 'tls';
import type * as grpc from '@grpc/grpc-js';
import { ReadWhileWritingSocket } from './readWhileWritingSocket';

interface GrpcServerInternals {
  createHttp2Server?: (credentials: unknown) => http2.Http2Server | http2.Http2SecureServer;
}

/** The name Node gives the listener that turns a connection into an HTTP/2 session (lib/internal/http2). */
const SESSION_LISTENER = 'connectionListener';

type Listener = (socket: net.Socket) => void;

/** Call before binding; `onFallback` hears, as a sentence for a warning, what could not be applied. */
export function prepareGrpcListeners(
  server: grpc.Server,
  backlog: number,
  onFallback: (why: string) => void,
): void {
  const internals = server as unknown as GrpcServerInternals;
  const create = internals.createHttp2Server;
  if (typeof create !== 'function') {
    onFallback('grpc-js internals changed: default listen backlog, and sessions stop reading while writing');
    return;
  }
  internals.createHttp2Server = function (this: unknown, credentials: unknown) {
    const http2Server = create.call(this, credentials);
    deepenBacklog(http2Server, backlog);
    if (!readWhileWriting(http2Server)) {
      onFallback('Node internals changed: HTTP/2 sessions stop reading while their writes wait');
    }
    return http2Server;
  };
}

/** grpc-js listens with an address object and no backlog; add ours to it. */
function deepenBacklog(http2Server: net.Server, backlog: number): void {
  const listen = http2Server.listen.bind(http2Server) as (address: object, cb: () => void) => net.Server;
  http2Server.listen = ((address: object, cb: () => void) =>
    listen({ ...address, backlog }, cb)) as typeof http2Server.listen;
}

/**
 * Puts a ReadWhileWritingSocket between each connection and its HTTP/2 session: the plain socket for an
 * insecure server, the TLS socket (after the handshake) for a secure one, so TLS stays native.
 */
function readWhileWriting(http2Server: http2.Http2Server | http2.Http2SecureServer): boolean {
  const event = (['secureConnection', 'connection'] as const).find((e) =>
    http2Server.listeners(e).some((l) => l.name === SESSION_LISTENER),
  );
  if (!event) return false;
  const sessionListener = (http2Server.listeners(event) as Listener[]).find(
    (l) => l.name === SESSION_LISTENER,
  )!;
  http2Server.removeListener(event, sessionListener);
  http2Server.on(event, (socket: net.Socket & { alpnProtocol?: string | false }) => {
    if (socket.alpnProtocol === false || socket.alpnProtocol === 'http/1.1') {
      // Not HTTP/2: Node's own listener refuses it, as before.
      sessionListener.call(http2Server, socket);
      return;
    }
    // Node's session would do this on the TLS socket itself; it only sees our Duplex now.
    (socket as Partial<TLSSocket>).disableRenegotiation?.();
    // The session wraps our Duplex once more and loses the peer address; give it back before grpc-js reads it.
    const restorePeer = (session: http2.ServerHttp2Session): void => {
      const inner = session.socket as unknown as { _peername?: object };
      inner._peername = {
        address: socket.remoteAddress,
        port: socket.remotePort,
        family: socket.remoteFamily,
      };
    };
    http2Server.prependOnceListener('session', restorePeer);
    try {
      sessionListener.call(http2Server, new ReadWhileWritingSocket(socket) as unknown as net.Socket);
    } finally {
      http2Server.removeListener('session', restorePeer);
    }
  });
  return true;
}
