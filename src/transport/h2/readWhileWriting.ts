/**
 * Keeps every HTTP/2 session of a server reading while its writes wait (readWhileWritingSocket.ts says why:
 * two Node peers whose writes both wait would otherwise both stop reading, and every stream on the
 * connection hangs). A session on a native socket is nudged (readNudge.ts); where the socket's handle is
 * not what a nudge needs, a ReadWhileWritingSocket is put between the connection and its session instead.
 * Node has no option for the wrapper, so its listener that turns a connection into a session is taken by
 * its name and called with the wrapper: on the plain socket for an insecure server, on the TLS socket
 * (after the handshake) for a secure one, so TLS stays native.
 */
import type * as http2 from 'http2';
import type * as net from 'net';
import type { TLSSocket } from 'tls';
import { nudgeable, ReadNudge } from './readNudge';
import { ReadWhileWritingSocket } from './readWhileWritingSocket';

/** The name Node gives the listener that turns a connection into an HTTP/2 session (lib/internal/http2). */
const SESSION_LISTENER = 'connectionListener';

type Listener = (socket: net.Socket) => void;

/** Call before listening; false when Node's listener was not found (sessions then use the socket). */
export function readWhileWriting(http2Server: http2.Http2Server | http2.Http2SecureServer): boolean {
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
    if (nudgeable(socket)) {
      const nudge = (session: http2.ServerHttp2Session): void => void ReadNudge.attach(session, socket);
      http2Server.prependOnceListener('session', nudge);
      try {
        sessionListener.call(http2Server, socket);
      } finally {
        http2Server.removeListener('session', nudge);
      }
      return;
    }
    // Node's session would do this on the TLS socket itself; it only sees our Duplex now.
    (socket as Partial<TLSSocket>).disableRenegotiation?.();
    // The session wraps our Duplex once more and loses the peer address; give it back before it is read.
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
