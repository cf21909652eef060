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
    if (!paceHandshakes(http2Server)) {
      onFallback('Node internals changed: TLS handshakes of a connection burst all start at once');
    }
    if (!readWhileWriting(http2Server)) {
      onFallback('Node internals changed: HTTP/2 sessions stop reading while their writes wait');
    }
    return http2Server;
  };
}

/**
 * TLS handshakes a secure listener runs at once. A handshake costs a few milliseconds of CPU on the one
 * thread; 500 agents reconnecting together after a restart would otherwise take the event loop for seconds
 * (the health port stopped answering for over 10 s in a test), long enough for a liveness probe to kill
 * the server. With 16 in flight the loop gets back between batches, and a burst still completes at the
 * CPU's pace; the rest wait, accepted, in WAITING order.
 */
export const HANDSHAKES_IN_FLIGHT = 16;

/**
 * Accepted connections that may wait for a handshake slot; beyond this they are closed at once (the client
 * retries, as agents and kube-apiserver do) rather than holding sockets without bound.
 */
export const HANDSHAKES_WAITING = 16_384;

/**
 * A handshake gives its slot up after this long even if it has not finished (it goes on), so that peers
 * that connect and never send a ClientHello cannot hold every slot until Node's 120 s handshake timeout.
 * A real handshake needs a few milliseconds of CPU; a second covers it on a loaded machine.
 */
export const HANDSHAKE_SLOT_MS = 1_000;

/** Name of Node's listener that starts TLS on an accepted socket (lib/_tls_wrap). */
const TLS_LISTENER = 'tlsConnectionListener';

/** Starts at most HANDSHAKES_IN_FLIGHT TLS handshakes at once on a secure server; false if not possible. */
function paceHandshakes(http2Server: net.Server): boolean {
  const startTls = (http2Server.listeners('connection') as Listener[]).find((l) => l.name === TLS_LISTENER);
  if (!startTls) return !('setSecureContext' in http2Server); // a plain server has nothing to pace
  http2Server.removeListener('connection', startTls);
  const inFlight = new Set<net.Socket>();
  const waiting: net.Socket[] = [];
  const finished = (raw: net.Socket): void => {
    if (!inFlight.delete(raw)) return;
    while (inFlight.size < HANDSHAKES_IN_FLIGHT && waiting.length > 0) {
      const next = waiting.shift()!;
      if (!next.destroyed) begin(next);
    }
  };
  const begin = (raw: net.Socket): void => {
    inFlight.add(raw);
    const slot = setTimeout(() => finished(raw), HANDSHAKE_SLOT_MS);
    slot.unref();
    raw.once('close', () => {
      clearTimeout(slot);
      finished(raw);
    });
    startTls.call(http2Server, raw);
  };
  const done = (tlsSocket: { _parent?: net.Socket }): void => {
    if (tlsSocket._parent) finished(tlsSocket._parent);
  };
  http2Server.on('secureConnection', done);
  http2Server.on('tlsClientError', (_err: Error, tlsSocket: { _parent?: net.Socket }) => done(tlsSocket));
  http2Server.on('connection', (raw: net.Socket) => {
    if (raw.destroyed) return;
    if (inFlight.size < HANDSHAKES_IN_FLIGHT) begin(raw);
    else if (waiting.length < HANDSHAKES_WAITING) waiting.push(raw);
    else raw.destroy();
  });
  return true;
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
