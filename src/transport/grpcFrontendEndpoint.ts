/**
 * The frontend-facing gRPC server (`/ProxyService/Proxy`) on our own HTTP/2 (h2/wire/), on a Unix socket
 * (mode 0660) or mTLS TCP. kube-apiserver opens an HTTP/2 connection per tunnel, which node:http2 makes
 * costly (docs/benchmarks.md, "gRPC frontend on our own HTTP/2"). With --frontend-keepalive-time the server
 * pings each frontend connection and drops one that stops answering.
 */
import { DEFAULT_KEEPALIVE_TIMEOUT_MS } from './h2/keepalive';
import { PROXY_PATH } from './grpcServices';
import { prepareSocketPath, SOCKET_MODE, type Listen, type StartedServer } from './listen';
import { startWireServer } from './h2/wire/server';
import { listenBacklog } from './listenBacklog';
import type { PacketStream } from './packetStream';
import { readServerTls, type ServerTlsFiles } from './tlsFiles';

export interface GrpcFrontendOptions {
  listen: Listen;
  tls?: ServerTlsFiles;
  /** Largest message accepted from a frontend. */
  maxReceiveMessageBytes: number;
  /** Ping each frontend connection this often (0: never), as grpc-go's ServerParameters.Time. */
  keepaliveMs: number;
  /** Told when a frontend connection failed (it broke the protocol, stopped answering pings). */
  onSessionError?: (peer: string, error: Error) => void;
  onStream(stream: PacketStream): void;
}

export async function startGrpcFrontend(opts: GrpcFrontendOptions): Promise<StartedServer> {
  const backlog = listenBacklog();
  prepareSocketPath(opts.listen);
  const listen = opts.listen;
  const server = await startWireServer({
    listen: listen.kind === 'uds' ? { ...listen, mode: SOCKET_MODE } : listen,
    ...(listen.kind === 'tcp' && opts.tls ? { tls: readServerTls(opts.tls, 'server') } : {}),
    backlog: backlog.requested,
    maxReceiveMessageBytes: opts.maxReceiveMessageBytes,
    ...(opts.keepaliveMs > 0
      ? { keepalive: { intervalMs: opts.keepaliveMs, timeoutMs: DEFAULT_KEEPALIVE_TIMEOUT_MS } }
      : {}),
    ...(opts.onSessionError ? { onSessionError: opts.onSessionError } : {}),
    routes: { [PROXY_PATH]: (call) => opts.onStream(call.accept()) },
  });
  return {
    port: server.port,
    backlog,
    stopAccepting: () => server.stopAccepting(),
    close: () => server.close(),
  };
}
