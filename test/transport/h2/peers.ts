/**
 * The real grpc-js 1.14 peer for the node:http2 transport's interop tests: a grpc-js server whose calls
 * are scripted by request metadata, and grpc-js clients, both on raw bytes (identity serializers) so the
 * tests see exactly what crossed the wire. Plus the transports: TLS on loopback and a Unix socket.
 */
import { mkdtemp, rm } from 'fs/promises';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { encodePacket } from '../../../src/protocol/codec';
import { packets } from '../../../src/protocol/packet';
import { CONNECT_PATH, PROXY_PATH } from '../../../src/transport/grpcServices';
import type { H2ClientTls, H2Target } from '../../../src/transport/h2/h2Client';
import type { H2Listen, H2ServerTls } from '../../../src/transport/h2/h2Server';
import type { TlsDir } from '../../helpers/tls';

export type TransportKind = 'tls' | 'uds';

const identity = (b: Buffer): Buffer => b;

function rawMethod(p: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path: p,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

/** One call as the grpc-js server saw it. */
export interface SeenCall {
  readonly path: string;
  readonly metadata: grpc.Metadata;
  readonly received: Buffer[];
  ended: boolean;
  cancelled: boolean;
  readonly call: grpc.ServerDuplexStream<Buffer, Buffer>;
}

/** Where a peer listens and how to reach it, for both kinds of transport. */
export interface Endpoint {
  readonly grpcTarget: string;
  readonly grpcClientCreds: grpc.ChannelCredentials;
  readonly grpcServerCreds: grpc.ServerCredentials;
  readonly bindTarget: string;
  readonly h2Target: (port: number) => H2Target;
  readonly h2Listen: H2Listen;
  readonly h2ServerTls: H2ServerTls | undefined;
  readonly h2ClientTls: H2ClientTls | undefined;
  /** grpc-js target once the port is known. */
  readonly grpcTargetFor: (port: number) => string;
  cleanup(): Promise<void>;
}

export async function makeEndpoint(kind: TransportKind, tls: TlsDir): Promise<Endpoint> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'h2-interop-'));
  const socket = path.join(dir, 'grpc.sock');
  const ca = fs.readFileSync(tls.caCert);
  const cert = fs.readFileSync(tls.serverCert);
  const key = fs.readFileSync(tls.serverKey);
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  if (kind === 'uds') {
    return {
      grpcTarget: `unix://${socket}`,
      grpcTargetFor: () => `unix://${socket}`,
      grpcClientCreds: grpc.credentials.createInsecure(),
      grpcServerCreds: grpc.ServerCredentials.createInsecure(),
      bindTarget: `unix://${socket}`,
      h2Target: () => ({ kind: 'uds', path: socket }),
      h2Listen: { kind: 'uds', path: socket, deleteExisting: true },
      h2ServerTls: undefined,
      h2ClientTls: undefined,
      cleanup,
    };
  }
  const clientCert = fs.readFileSync(tls.agentCert);
  const clientKey = fs.readFileSync(tls.agentKey);
  return {
    grpcTarget: '',
    grpcTargetFor: (port) => `localhost:${port}`,
    grpcClientCreds: grpc.credentials.createSsl(ca, clientKey, clientCert),
    grpcServerCreds: grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true),
    bindTarget: '127.0.0.1:0',
    h2Target: (port) => ({ kind: 'tcp', host: '127.0.0.1', port }),
    h2Listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    h2ServerTls: { cert, key, ca },
    h2ClientTls: { ca, cert: clientCert, key: clientKey, serverName: 'localhost' },
    cleanup,
  };
}

/**
 * A grpc-js server on both Konnectivity paths. `x-mode` picks what a call does:
 * `echo` (default) echoes each message and ends with OK when the client ends;
 * `status` ends at the first message with `x-code` / `x-message-bin` (UTF-8: text metadata is ASCII);
 * `hold` reads nothing until the test resumes the call;
 * `flood` writes `x-bytes` bytes of DATA payload in 64 KiB packets as fast as the call takes them, then ends with OK.
 * Response headers: every `x-reply-*` key comes back without its prefix.
 */
export class GrpcJsServer {
  readonly calls: SeenCall[] = [];
  port = 0;
  readonly server: grpc.Server;

  constructor(options: grpc.ServerOptions = {}) {
    this.server = new grpc.Server(options);
    const handler = (p: string) => (call: grpc.ServerDuplexStream<Buffer, Buffer>) => this.handle(p, call);
    this.server.addService(
      { Proxy: rawMethod(PROXY_PATH), Connect: rawMethod(CONNECT_PATH) },
      { Proxy: handler(PROXY_PATH), Connect: handler(CONNECT_PATH) },
    );
  }

  async start(endpoint: Endpoint): Promise<void> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(endpoint.bindTarget, endpoint.grpcServerCreds, (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
  }

  /** Graceful then forced, as grpc-js servers are stopped. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.tryShutdown(() => resolve());
      this.server.forceShutdown();
    });
  }

  private handle(p: string, call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
    const seen: SeenCall = {
      path: p,
      metadata: call.metadata,
      received: [],
      ended: false,
      cancelled: false,
      call,
    };
    this.calls.push(seen);
    const md = call.metadata;
    const mode = String(md.get('x-mode')[0] ?? 'echo');
    const reply = new grpc.Metadata();
    for (const [k, v] of Object.entries(md.getMap())) {
      if (k.startsWith('x-reply-')) reply.set(k.slice('x-reply-'.length), v);
    }
    call.sendMetadata(reply);
    call.on('error', () => {});
    call.on('cancelled', () => (seen.cancelled = true));
    call.on('end', () => {
      seen.ended = true;
      if (mode === 'echo') call.end();
    });
    if (mode === 'hold') call.pause();
    call.on('data', (msg: Buffer) => {
      seen.received.push(msg);
      if (mode === 'echo') call.write(msg);
      if (mode === 'status') {
        call.emit('error', {
          code: Number(md.get('x-code')[0]),
          details: (md.get('x-message-bin')[0] as Buffer | undefined)?.toString('utf8') ?? '',
        });
      }
    });
    if (mode === 'flood') {
      const total = Number(md.get('x-bytes')[0]);
      let sent = 0;
      const chunk = encodePacket(packets.data(1n, Buffer.alloc(64 * 1024, 9)));
      const pump = (): void => {
        while (sent < total) {
          sent += 64 * 1024;
          if (!call.write(chunk)) {
            call.once('drain', pump);
            return;
          }
        }
        call.end();
      };
      pump();
    }
  }
}

/** A grpc-js client call on raw bytes; messages and status recorded. */
export interface GrpcJsCall {
  readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  readonly received: Buffer[];
  headers: grpc.Metadata | undefined;
  status: grpc.StatusObject | undefined;
}

export function grpcJsCall(
  client: grpc.Client,
  p: string,
  metadata: Record<string, string | string[] | Buffer> = {},
  options: grpc.CallOptions = {},
): GrpcJsCall {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) {
    if (Array.isArray(v)) for (const one of v) md.add(k, one);
    else md.add(k, v);
  }
  const call = client.makeBidiStreamRequest<Buffer, Buffer>(p, identity, identity, md, options);
  const seen: GrpcJsCall = { call, received: [], headers: undefined, status: undefined };
  call.on('metadata', (h: grpc.Metadata) => (seen.headers = h));
  call.on('status', (s: grpc.StatusObject) => (seen.status = s));
  call.on('error', () => {});
  call.on('data', (m: Buffer) => seen.received.push(m));
  return seen;
}
