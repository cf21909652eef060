/**
 * HTTP/2 flow-control windows sized for throughput. grpc-js reads `grpc-node.flow_control_window` on
 * channels (clients) only; a server keeps HTTP/2's 64 KiB default, which pins client-to-server streams
 * (agent -> server, the download direction of every kubelet request) at a fraction of what the link can do
 * (measured: 430-546 MB/s on loopback, ~64 MB/s at 1 ms RTT). Until grpc-node#3058 lands, the server
 * side is set through two private fields of grpc-js 1.14; this file is the only place that touches them,
 * and when they are missing the server runs with the defaults and says so.
 */
import type * as http2 from 'http2';
import type * as grpc from '@grpc/grpc-js';

/**
 * Per-stream receive window. One agent stream carries every connection of the agent, so it is the shared
 * pipe; 4 MiB keeps a 1 ms RTT link at ~4 GB/s in theory and costs memory only when a reader lags.
 */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/** Per-connection (session) receive window: room for several busy streams at once. */
export const SESSION_WINDOW_BYTES = 16 * 1024 * 1024;

/** Channel options for clients (the agent's links, frontend clients). */
export const CLIENT_WINDOW_OPTIONS: grpc.ChannelOptions = {
  'grpc-node.flow_control_window': STREAM_WINDOW_BYTES,
};

interface GrpcServerInternals {
  commonServerOptions?: http2.ServerOptions;
  http2Servers?: Map<http2.Http2Server, unknown>;
}

/** Call before binding: raises the stream window the server announces. Returns false if not possible. */
export function raiseServerStreamWindow(server: grpc.Server): boolean {
  const internals = server as unknown as GrpcServerInternals;
  const options = internals.commonServerOptions;
  if (options === undefined || typeof options !== 'object') return false;
  options.settings = { ...(options.settings ?? {}), initialWindowSize: STREAM_WINDOW_BYTES };
  return true;
}

/**
 * Call after binding: runs `onSession` for every new HTTP/2 session of the server. Returns false when
 * grpc-js's internals are not where this version keeps them.
 */
export function forEachNewSession(
  server: grpc.Server,
  onSession: (session: http2.ServerHttp2Session) => void,
): boolean {
  const servers = (server as unknown as GrpcServerInternals).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) return false;
  for (const http2Server of servers.keys()) http2Server.on('session', onSession);
  return true;
}

/** Call after binding: raises each new session's connection-level window. Returns false if not possible. */
export function raiseServerSessionWindow(server: grpc.Server): boolean {
  return forEachNewSession(server, (session) => {
    // As grpc-js does for channels: once the peer's settings arrive, the session can take a WINDOW_UPDATE.
    session.once('remoteSettings', () => {
      try {
        session.setLocalWindowSize(SESSION_WINDOW_BYTES);
      } catch {
        // A session torn down before its settings exchange finished keeps the default window.
      }
    });
  });
}
