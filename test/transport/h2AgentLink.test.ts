/**
 * The agent's node:http2 link (h2AgentLink.ts, --link-transport=h2) against both servers it must work with: a
 * grpc-js server (today's konnectivity-server, and what grpc-go does on the wire) and our node:http2
 * server, over TLS on loopback. Headers, metadata, packets both ways, one HTTP/2 connection per link, the
 * typed reasons of every failure to connect, --alpn-proto, and a silent server.
 */
import * as fs from 'fs';
import * as tls from 'tls';
import type { AddressInfo } from 'net';
import * as grpc from '@grpc/grpc-js';
import { packets, type DecodedPacket, type Packet } from '../../src/protocol/packet';
import { FLOW_CONTROL_HEADER, FLOW_CONTROL_VERSION } from '../../src/protocol/flowControl';
import type { OpenedLink } from '../../src/transport/agentClient';
import { LinkError } from '../../src/transport/linkError';
import { openH2AgentLink } from '../../src/transport/h2AgentLink';
import { agentServiceDefinition, CONNECT_PATH } from '../../src/transport/grpcServices';
import { GrpcStatus } from '../../src/transport/h2/grpcStatus';
import { startH2Server, type H2Server } from '../../src/transport/h2/h2Server';
import { KEEPALIVE_TIMEOUT } from '../../src/transport/liveness';
import type { PacketStream, StreamEnd } from '../../src/transport/packetStream';
import { generateTlsPems } from '../../src/tools/certs';
import { startRelay, type Relay } from '../helpers/relay';
import { useTlsDir } from '../helpers/tls';
import { waitFor } from '../helpers/waitFor';

const tlsDir = useTlsDir();
const pem = (file: string): Buffer => fs.readFileSync(file);

/** What the scripted server saw of one Connect call. */
interface SeenCall {
  metadata: Record<string, string[]>;
  /** Distinguishes HTTP/2 connections: the client's port. */
  remotePort: number;
  received: DecodedPacket[];
  send(p: Packet): void;
}

/**
 * How a server answers, by the agent id the test sends: `ok` headers (echoing the flow-control offer),
 * `twice` a repeated serverid, `unauth` UNAUTHENTICATED, `silent` nothing at all.
 */
interface ScriptedServer {
  readonly kind: string;
  readonly port: number;
  readonly calls: SeenCall[];
  close(): Promise<void>;
}

function okHeaders(offer: string | undefined): Record<string, string> {
  return {
    serverid: 'server-a',
    servercount: '3',
    ...(offer !== undefined ? { [FLOW_CONTROL_HEADER]: offer } : {}),
  };
}

async function grpcJsServer(): Promise<ScriptedServer> {
  const calls: SeenCall[] = [];
  const server = new grpc.Server();
  server.addService(agentServiceDefinition, {
    Connect: (call: grpc.ServerDuplexStream<Packet, Packet>) => {
      call.on('error', () => {});
      const metadata: Record<string, string[]> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = [String(v)];
      const seen: SeenCall = {
        metadata,
        remotePort: Number(/:(\d+)$/.exec(call.getPeer())?.[1]),
        received: [],
        send: (p) => call.write(p),
      };
      calls.push(seen);
      call.on('data', (p: DecodedPacket) => seen.received.push(p));
      const id = metadata['agentid']?.[0];
      if (id === 'silent') return;
      if (id === 'unauth') {
        call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'token rejected' });
        return;
      }
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(okHeaders(metadata[FLOW_CONTROL_HEADER]?.[0]))) md.set(k, v);
      if (id === 'twice') md.add('serverid', 'server-b');
      call.sendMetadata(md);
    },
  });
  const creds = grpc.ServerCredentials.createSsl(
    pem(tlsDir().caCert),
    [{ cert_chain: pem(tlsDir().clusterCert), private_key: pem(tlsDir().clusterKey) }],
    false,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { kind: 'grpc-js', port, calls, close: async () => server.forceShutdown() };
}

async function h2Server(clientCa = false): Promise<ScriptedServer & { server: H2Server }> {
  const calls: SeenCall[] = [];
  const server = await startH2Server({
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    tls: {
      cert: pem(tlsDir().clusterCert),
      key: pem(tlsDir().clusterKey),
      ...(clientCa ? { ca: pem(tlsDir().caCert) } : {}),
    },
    routes: {
      [CONNECT_PATH]: (call) => {
        const metadata = call.metadata.text;
        const id = metadata['agentid']?.[0];
        if (id === 'unauth') {
          call.refuse(GrpcStatus.UNAUTHENTICATED, 'token rejected');
          return;
        }
        if (id === 'silent') {
          calls.push({
            metadata,
            remotePort: Number(/:(\d+)$/.exec(call.peer)?.[1]),
            received: [],
            send: () => {},
          });
          return;
        }
        const headers: Record<string, string | string[]> = okHeaders(metadata[FLOW_CONTROL_HEADER]?.[0]);
        if (id === 'twice') headers['serverid'] = ['server-a', 'server-b'];
        const stream = call.accept(headers);
        const seen: SeenCall = {
          metadata,
          remotePort: Number(/:(\d+)$/.exec(call.peer)?.[1]),
          received: [],
          send: (p) => stream.send(p),
        };
        calls.push(seen);
        stream.attach({
          packet: (p) => seen.received.push(p),
          malformed: () => {},
          drain: () => {},
          end: () => {},
        });
      },
    },
  });
  return { kind: 'node:http2', port: server.port, calls, server, close: () => server.close(0) };
}

const links: OpenedLink[] = [];
afterEach(() => {
  for (const link of links.splice(0)) link.close();
});

interface Attached {
  packets: DecodedPacket[];
  ended: StreamEnd[];
}

function attach(stream: PacketStream): Attached {
  const seen: Attached = { packets: [], ended: [] };
  stream.attach({
    packet: (p) => seen.packets.push(p),
    malformed: () => {},
    drain: () => {},
    end: (e) => seen.ended.push(e),
  });
  return seen;
}

async function open(
  port: number,
  agentId: string,
  extra: Partial<Parameters<typeof openH2AgentLink>[0]> = {},
): Promise<OpenedLink> {
  const link = await openH2AgentLink({
    target: `localhost:${port}`,
    tls: { ca: pem(tlsDir().caCert) },
    metadata: { agentid: agentId, agentidentifiers: 'host=node-1', authorization: 'Bearer t0ken' },
    headerTimeoutMs: 10_000,
    ...extra,
  });
  links.push(link);
  return link;
}

async function failure(promise: Promise<OpenedLink>): Promise<LinkError> {
  const err = await promise.then(
    (link) => {
      links.push(link);
      return new Error('the link opened');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LinkError);
  return err as LinkError;
}

describe.each([
  ['grpc-js', grpcJsServer],
  ['node:http2', () => h2Server()],
])('against a %s server', (_kind, start) => {
  let server: ScriptedServer;
  beforeEach(async () => {
    server = await start();
  });
  afterEach(() => server.close());

  it('reads serverid and servercount, sends the metadata, carries packets both ways', async () => {
    const link = await open(server.port, 'ok', {
      metadata: {
        agentid: 'ok',
        agentidentifiers: 'host=node-1',
        authorization: 'Bearer t0ken',
        [FLOW_CONTROL_HEADER]: FLOW_CONTROL_VERSION,
      },
    });
    expect([link.serverId, link.serverCount, link.credits]).toEqual(['server-a', 3, true]);
    const call = server.calls[0]!;
    expect(call.metadata['agentid']).toEqual(['ok']);
    expect(call.metadata['agentidentifiers']).toEqual(['host=node-1']);
    expect(call.metadata['authorization']).toEqual(['Bearer t0ken']);
    const seen = attach(link.stream);
    call.send(packets.dialRequest('127.0.0.1:80', 2n ** 62n + 7n));
    await waitFor(() => seen.packets.length === 1, { description: 'the DIAL_REQ at the agent' });
    expect(seen.packets[0]).toMatchObject({ type: 'DIAL_REQ', random: 2n ** 62n + 7n });
    link.stream.send(packets.data(1n, Buffer.from('hello')));
    await waitFor(() => call.received.length === 1, { description: 'the DATA at the server' });
    expect(Buffer.from((call.received[0] as { data: Buffer }).data).toString()).toBe('hello');
  });

  it('gives each link its own HTTP/2 connection, as a Go agent holds one per server', async () => {
    await open(server.port, 'ok');
    await open(server.port, 'ok');
    expect(server.calls).toHaveLength(2);
    expect(server.calls[0]!.remotePort).not.toBe(server.calls[1]!.remotePort);
  });

  it('does not claim credits the server did not echo', async () => {
    const link = await open(server.port, 'ok');
    expect(link.credits).toBe(false);
  });

  it('fails with reason unauthenticated when the server refuses the token', async () => {
    const err = await failure(open(server.port, 'unauth'));
    expect(err.reason).toBe('unauthenticated');
    expect(err.message).toMatch(/token rejected/);
  });

  it('fails with reason bad-headers on a repeated serverid', async () => {
    const err = await failure(open(server.port, 'twice'));
    expect(err.reason).toBe('bad-headers');
  });

  it('fails with reason timeout when no headers come', async () => {
    const err = await failure(open(server.port, 'silent', { headerTimeoutMs: 300 }));
    expect(err.reason).toBe('timeout');
  });
});

describe('failures before any call', () => {
  it('refused: nothing listens', async () => {
    const probe = tls.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const err = await failure(open(port, 'ok'));
    expect(err.reason).toBe('refused');
  });

  it('tls: a server certificate from another CA', async () => {
    const server = await h2Server();
    try {
      const err = await failure(
        open(server.port, 'ok', { tls: { ca: Buffer.from(generateTlsPems().ca.cert) } }),
      );
      expect(err.reason).toBe('tls');
    } finally {
      await server.close();
    }
  });

  it('tls: no client certificate for a server that requires one, told at once', async () => {
    const server = await h2Server(true);
    try {
      // The bound is far beyond the test's own timeout: only the server's alert can end this in time.
      const err = await failure(open(server.port, 'ok', { headerTimeoutMs: 600_000 }));
      expect(err.reason).toBe('tls');
      const withCert = await open(server.port, 'ok', {
        tls: { ca: pem(tlsDir().caCert), cert: pem(tlsDir().agentCert), key: pem(tlsDir().agentKey) },
      });
      expect(withCert.serverId).toBe('server-a');
    } finally {
      await server.close();
    }
  });

  it('offers --alpn-proto protocols before h2', async () => {
    const offered: string[][] = [];
    const probe = tls.createServer({
      cert: pem(tlsDir().clusterCert),
      key: pem(tlsDir().clusterKey),
      ALPNCallback: ({ protocols }) => {
        offered.push(protocols);
        return undefined;
      },
    });
    probe.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    try {
      const port = (probe.address() as AddressInfo).port;
      await failure(open(port, 'ok', { alpnProtocols: ['konnectivity'], headerTimeoutMs: 2_000 }));
      expect(offered).toEqual([['konnectivity', 'h2']]);
    } finally {
      await new Promise<void>((resolve) => probe.close(() => resolve()));
    }
  });
});

describe('a server that goes away', () => {
  it('ends the stream when the server shuts down (GOAWAY), so the link redials', async () => {
    const server = await h2Server();
    const link = await open(server.port, 'ok');
    const seen = attach(link.stream);
    await server.server.close(0);
    await waitFor(() => seen.ended.length === 1, { description: 'the stream to end' });
    expect(seen.ended[0]!.kind).toBe('error');
  });

  it('ends the stream with keepalive-timeout when the server stops answering pings', async () => {
    const server = await h2Server();
    let relay: Relay | undefined;
    try {
      relay = await startRelay(server.port);
      const silent: Error[] = [];
      const link = await open(relay.port, 'ok', {
        liveness: { idleMs: 100, timeoutMs: 500, minSpacingMs: 0, silentAfterMs: 600 },
        onPeerSilent: (err) => silent.push(err),
      });
      const seen = attach(link.stream);
      relay.blackHole();
      await waitFor(() => seen.ended.length === 1, { description: 'the stream to end' });
      expect(seen.ended[0]).toEqual({ kind: 'local', reason: KEEPALIVE_TIMEOUT });
      expect(silent).toHaveLength(1);
    } finally {
      await relay?.close();
      await server.close();
    }
  });
});
