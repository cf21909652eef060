/**
 * The agent's pings against a server that enforces a minimum ping interval the way the reference's gRPC
 * server does (GOAWAY too_many_pings after more than two early pings): our own node:http2 server with its
 * ping policy, which never pings the agent itself (the reference server pings only after an hour of
 * silence). The intervals are scaled down from 30 s; livenessTiming.test.ts holds the real values to the
 * same rule.
 */
import { openAgentLink, type OpenedLink } from '../../src/transport/agentClient';
import { CONNECT_PATH } from '../../src/transport/grpcServices';
import { startH2Server, type H2Server } from '../../src/transport/h2/h2Server';
import type { LivenessTiming } from '../../src/transport/livenessTiming';
import type { PacketStream, StreamEnd } from '../../src/transport/packetStream';
import { waitFor } from '../helpers/waitFor';

const MIN_INTERVAL_MS = 600;

let server: H2Server;
let port: number;
let violations: string[];
const links: OpenedLink[] = [];
const serverStreams: PacketStream[] = [];
const pings = (): number => server.stats().pingsReceived;

beforeEach(async () => {
  violations = [];
  server = await startH2Server({
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    pingPolicy: { minIntervalMs: MIN_INTERVAL_MS, onViolation: (peer) => violations.push(peer) },
    routes: {
      [CONNECT_PATH]: (call) => {
        const stream = call.accept({ serverid: 'strict', servercount: '1' });
        stream.attach({ packet: () => {}, malformed: () => {}, drain: () => {}, end: () => {} });
        serverStreams.push(stream);
      },
    },
  });
  port = server.port;
});
afterEach(async () => {
  for (const link of links.splice(0)) link.close();
  serverStreams.length = 0;
  await server.close();
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
  await waitFor(() => pings() >= 5, { description: 'five pings from the agent' });
  expect(violations).toEqual([]);
  expect(ended).toEqual([]);
});

it('(control) a pinger that ignores the interval is sent GOAWAY too_many_pings', async () => {
  const { ended } = await open(eager(0));
  await waitFor(() => violations.length > 0, { description: 'the server to enforce its policy' });
  await waitFor(() => ended.length > 0, { description: 'the link to end' });
});
