/** The frontend-facing gRPC server (`/ProxyService/Proxy`), on a Unix socket or mTLS TCP. */
import * as grpc from '@grpc/grpc-js';
import type { Packet } from '../protocol/packet';
import { GrpcPacketStream } from './grpcPacketStream';
import { proxyServiceDefinition } from './grpcServices';
import { bindGrpcServer, serverCredentials, type Listen, type StartedServer } from './grpcServer';
import type { PacketStream } from './packetStream';
import type { ServerTlsFiles } from './tlsFiles';

export interface GrpcFrontendOptions {
  listen: Listen;
  tls?: ServerTlsFiles;
  grpcOptions?: grpc.ServerOptions;
  /** Told when the HTTP/2 windows could not be raised (see grpcWindows.ts). */
  onWindowFallback?: (why: string) => void;
  onStream(stream: PacketStream): void;
}

export async function startGrpcFrontend(opts: GrpcFrontendOptions): Promise<StartedServer> {
  const server = new grpc.Server(opts.grpcOptions);
  server.addService(proxyServiceDefinition, {
    Proxy: (call: grpc.ServerDuplexStream<Packet, Packet>) => {
      // grpc-js has no peer address for a Unix socket; name the socket instead.
      const peer = opts.listen.kind === 'uds' ? `unix:${opts.listen.path}` : call.getPeer();
      opts.onStream(new GrpcPacketStream(call, peer, 'server'));
    },
  });
  return bindGrpcServer(
    server,
    opts.listen,
    opts.listen.kind === 'uds'
      ? grpc.ServerCredentials.createInsecure()
      : serverCredentials(opts.tls, 'server'),
    opts.onWindowFallback,
  );
}
