/**
 * The frontend-facing gRPC server (`/ProxyService/Proxy`) on our node:http2 transport, on a Unix socket
 * (mode 0660) or mTLS TCP. With --frontend-keepalive-time the server pings each frontend connection and
 * drops one that stops answering.
 */
import { startH2Server } from './h2/h2Server';
import { DEFAULT_KEEPALIVE_TIMEOUT_MS } from './h2/keepalive';
import { PROXY_PATH } from './grpcServices';
import { prepareSocketPath, SOCKET_MODE, type Listen, type StartedServer } from './listen';
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
  /** Told, as a sentence for a warning, what could not be applied (Node internals changed). */
  onFallback?: (why: string) => void;
  onStream(stream: PacketStream): void;
}

export async function startGrpcFrontend(opts: GrpcFrontendOptions): Promise<StartedServer> {
  const backlog = listenBacklog();
  prepareSocketPath(opts.listen);
  const listen = opts.listen;
  const server = await startH2Server({
    listen: listen.kind === 'uds' ? { ...listen, mode: SOCKET_MODE } : listen,
    ...(listen.kind === 'tcp' && opts.tls ? { tls: readServerTls(opts.tls, 'server') } : {}),
    backlog: backlog.requested,
    maxReceiveMessageBytes: opts.maxReceiveMessageBytes,
    ...(opts.keepaliveMs > 0
      ? { keepalive: { intervalMs: opts.keepaliveMs, timeoutMs: DEFAULT_KEEPALIVE_TIMEOUT_MS } }
      : {}),
    ...(opts.onFallback ? { onFallback: opts.onFallback } : {}),
    routes: { [PROXY_PATH]: (call) => opts.onStream(call.accept()) },
  });
  return {
    port: server.port,
    backlog,
    stopAccepting: () => server.stopAccepting(),
    close: () => server.close(),
  };
}
