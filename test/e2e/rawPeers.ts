/**
 * gRPC peers that speak raw bytes, so tests can send what a correct codec never produces: a fake agent,
 * a fake frontend, and a fake proxy server for testing the agent binary.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'fs';
import { decodePacket, encodePacket } from '../../src/protocol/codec';
import type { DecodedPacket, Packet } from '../../src/protocol/packet';
import type { TlsDir } from '../helpers/tls';

const identity = (b: Buffer): Buffer => b;

export interface RawCall {
  readonly received: DecodedPacket[];
  readonly status: Promise<grpc.StatusObject>;
  readonly headers: Promise<grpc.Metadata>;
  write(bytes: Buffer | Packet): void;
  close(): void;
}

function wrapClientCall(client: grpc.Client, call: grpc.ClientDuplexStream<Buffer, Buffer>): RawCall {
  const received: DecodedPacket[] = [];
  call.on('data', (b: Buffer) => received.push(decodePacket(b)));
  call.on('error', () => {});
  return {
    received,
    status: new Promise((resolve) => call.on('status', resolve)),
    headers: new Promise((resolve) => call.on('metadata', resolve)),
    write: (bytes) => call.write(Buffer.isBuffer(bytes) ? bytes : encodePacket(bytes)),
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

/** A fake agent on the server's agent port (TLS), with the given metadata. */
export function rawAgent(tls: TlsDir, port: number, metadata: Record<string, string>): RawCall {
  const client = new grpc.Client(`localhost:${port}`, grpc.credentials.createSsl(readFileSync(tls.caCert)), {
    'grpc.use_local_subchannel_pool': 1,
  });
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return wrapClientCall(
    client,
    client.makeBidiStreamRequest('/AgentService/Connect', identity, identity, md, {}),
  );
}

/** A fake frontend on the server's Unix socket (gRPC mode). */
export function rawFrontend(socketPath: string): RawCall {
  const client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  return wrapClientCall(
    client,
    client.makeBidiStreamRequest('/ProxyService/Proxy', identity, identity, new grpc.Metadata(), {}),
  );
}

export interface FakeProxyServer {
  readonly port: number;
  /** Resolves with the next agent stream that connects. */
  nextAgent(): Promise<FakeAgentStream>;
  close(): Promise<void>;
}

export interface FakeAgentStream {
  readonly metadata: grpc.Metadata;
  readonly received: DecodedPacket[];
  readonly ended: Promise<void>;
  write(bytes: Buffer | Packet): void;
}

/** A proxy server that only accepts agents, sends the headers, and lets the test drive the stream. */
export async function fakeProxyServer(
  tls: TlsDir,
  serverId = 'fake-server',
  serverCount = 1,
): Promise<FakeProxyServer> {
  const server = new grpc.Server();
  const waiting: Array<(s: FakeAgentStream) => void> = [];
  const ready: FakeAgentStream[] = [];
  server.addService(
    {
      Connect: {
        path: '/AgentService/Connect',
        requestStream: true,
        responseStream: true,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      Connect: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        const md = new grpc.Metadata();
        md.set('serverid', serverId);
        md.set('servercount', String(serverCount));
        call.sendMetadata(md);
        const received: DecodedPacket[] = [];
        call.on('data', (b: Buffer) => received.push(decodePacket(b)));
        call.on('error', () => {});
        const stream: FakeAgentStream = {
          metadata: call.metadata,
          received,
          ended: new Promise((resolve) => {
            call.on('end', () => resolve());
            call.on('cancelled', () => resolve());
          }),
          write: (bytes) => call.write(Buffer.isBuffer(bytes) ? bytes : encodePacket(bytes)),
        };
        const waiter = waiting.shift();
        if (waiter) waiter(stream);
        else ready.push(stream);
      },
    },
  );
  const creds = grpc.ServerCredentials.createSsl(null, [
    { cert_chain: readFileSync(tls.clusterCert), private_key: readFileSync(tls.clusterKey) },
  ]);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    nextAgent: () => {
      const s = ready.shift();
      return s ? Promise.resolve(s) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () => {
      server.forceShutdown();
      return Promise.resolve();
    },
  };
}
