/**
 * The agent's pings against a server that enforces a minimum ping interval the way the reference's gRPC
 * server does (pingPolicy.ts: GOAWAY too_many_pings after more than two early pings) and that never pings
 * the agent itself (the reference server pings only after an hour of silence). The intervals are scaled
 * down from 30 s; livenessTiming.test.ts holds the real values to the same rule.
 */
import * as grpc from '@grpc/grpc-js';
import type { Packet } from '../../src/protocol/packet';
import { openAgentLink, type OpenedLink } from '../../src/transport/agentClient';
import { agentServiceDefinition } from '../../src/transport/grpcServices';
import { forEachNewSession } from '../../src/transport/grpcWindows';
import type { LivenessTiming } from '../../src/transport/livenessTiming';
import { enforcePingPolicy } from '../../src/transport/pingPolicy';
import type { StreamEnd } from '../../src/transport/packetStream';
import { waitFor } from '../helpers/waitFor';

const MIN_INTERVAL_MS = 600;

let server: grpc.Server;
let port: number;
let pings: number;
let violations: string[];
const links: OpenedLink[] = [];

beforeEach(async () => {
  pings = 0;
  violations = [];
  server = new grpc.Server();
  server.addService(agentServiceDefinition, {
    Connect: (call: grpc.ServerDuplexStream<Packet, Packet>) => {
      const md = new grpc.Metadata();
      md.set('serverid', 'strict');
      md.set('servercount', '1');
      call.sendMetadata(md);
      call.on('data', () => {});
      call.on('error', () => {});
    },
  });
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  expect(forEachNewSession(server, (s) => s.on('ping', () => pings++))).toBe(true);
  expect(enforcePingPolicy(server, (peer) => violations.push(peer), MIN_INTERVAL_MS)).toBe(true);
});
afterEach(() => {
  for (const link of links.splice(0)) link.close();
  server.forceShutdown();
});

async function open(liveness: LivenessTiming): Promise<{ link: OpenedLink; ended: StreamEnd[] }> {
  const link = await openAgentLink({
    target: `127.0.0.1:${port}`,
    tls: null,
    metadata: { agentid: 'pinger' },
    headerTimeoutMs: 5_000,
    liveness,
  });
  links.push(link);
  const ended: StreamEnd[] = [];
  link.stream.attach({ packet: () => {}, malformed: () => {}, drain: () => {}, end: (e) => ended.push(e) });
  return { link, ended };
}

/** Pings whenever 50 ms pass without hearing from the server: only the spacing holds them back. */
const eager = (minSpacingMs: number): LivenessTiming => ({
  idleMs: 50,
  timeoutMs: 5_000,
  minSpacingMs,
  silentAfterMs: 5_050,
});

it('keeps its pings at least the minimum interval apart, so the server never sends GOAWAY', async () => {
  const { ended } = await open(eager(MIN_INTERVAL_MS));
  await waitFor(() => pings >= 5, { description: 'five pings from the agent' });
  expect(violations).toEqual([]);
  expect(ended).toEqual([]);
});

it('(control) a pinger that ignores the interval is sent GOAWAY too_many_pings', async () => {
  const { ended } = await open(eager(0));
  await waitFor(() => violations.length > 0, { description: 'the server to enforce its policy' });
  await waitFor(() => ended.length > 0, { description: 'the link to end' });
});
