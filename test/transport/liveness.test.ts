/**
 * The session watcher on real HTTP/2 sessions over loopback, with a relay that can swallow everything
 * (a black hole) in between. Timings are scaled down from the defaults (livenessTiming.test.ts holds those).
 */
import * as http2 from 'http2';
import type { AddressInfo } from 'net';
import { KEEPALIVE_TIMEOUT, PeerSilentError, watchPeer } from '../../src/transport/liveness';
import type { LivenessTiming } from '../../src/transport/livenessTiming';
import { startRelay, type Relay } from '../helpers/relay';
import { waitFor } from '../helpers/waitFor';

let server: http2.Http2Server;
let relay: Relay;
/** When the server side received each PING of the client under test. */
let pingsAt: number[];
let serverSessions: http2.ServerHttp2Session[];
const clients: http2.ClientHttp2Session[] = [];

beforeEach(async () => {
  pingsAt = [];
  serverSessions = [];
  server = http2.createServer();
  server.on('session', (s) => {
    serverSessions.push(s);
    s.on('ping', () => pingsAt.push(performance.now()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay = await startRelay((server.address() as AddressInfo).port);
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await relay.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function connect(): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`http://127.0.0.1:${relay.port}`);
  session.on('error', () => {});
  clients.push(session);
  await new Promise<void>((resolve) => session.once('connect', () => resolve()));
  return session;
}

const FAST: LivenessTiming = { idleMs: 150, timeoutMs: 600, minSpacingMs: 0, silentAfterMs: 600 };

it('keeps pinging a peer that answers, and never calls it silent or dead', async () => {
  const session = await connect();
  const deaths: PeerSilentError[] = [];
  const liveness = watchPeer(session, FAST, (err) => deaths.push(err));
  await waitFor(() => pingsAt.length >= 5, { description: 'five pings answered' });
  expect(liveness.silent).toBe(false);
  expect(deaths).toEqual([]);
  expect(session.destroyed).toBe(false);
  liveness.release();
});

it('calls a peer behind a black hole silent, then dead with keepalive-timeout, and destroys the session', async () => {
  const session = await connect();
  const deaths: PeerSilentError[] = [];
  const released: PeerSilentError[] = [];
  const liveness = watchPeer(session, FAST, (err) => deaths.push(err));
  // A second stream on the same session shares the watch; one that ended before is not told.
  const other = watchPeer(session, FAST, (err) => released.push(err));
  other.release();
  relay.blackHole();
  await waitFor(() => liveness.silent, { description: 'the peer to turn silent' });
  await waitFor(() => deaths.length === 1, { description: 'the peer declared dead' });
  expect(deaths[0]).toBeInstanceOf(PeerSilentError);
  expect(deaths[0]!.reason).toBe(KEEPALIVE_TIMEOUT);
  expect(deaths[0]!.message).toMatch(/no answer to a keepalive ping within \d+ ms/);
  expect(released).toEqual([]);
  await waitFor(() => session.destroyed, { description: 'the session destroyed' });
  expect(liveness.silent).toBe(true);
});

it('never pings sooner than minSpacingMs after the previous answer, however short the idle time', async () => {
  const session = await connect();
  const spacing = 700;
  const liveness = watchPeer(session, { ...FAST, idleMs: 50, minSpacingMs: spacing }, () => {});
  await waitFor(() => pingsAt.length >= 4, { description: 'four pings' });
  liveness.release();
  for (let i = 1; i < pingsAt.length; i++) {
    expect(pingsAt[i]! - pingsAt[i - 1]!).toBeGreaterThanOrEqual(spacing);
  }
});

it('counts a ping from the peer as hearing from it, and then has no need to ping', async () => {
  const session = await connect();
  const peer = await waitFor(() => serverSessions[0], { description: 'the server side of the session' });
  let answered = 0;
  const liveness = watchPeer(session, { ...FAST, idleMs: 400 }, () => {});
  const peerPings = setInterval(() => {
    if (!peer.destroyed) peer.ping(() => answered++);
  }, 50);
  try {
    // 30 answered pings span several of the watcher's idle periods.
    await waitFor(() => answered >= 30, { description: 'the peer pinging us' });
    expect(pingsAt).toEqual([]);
    expect(liveness.silent).toBe(false);
  } finally {
    clearInterval(peerPings);
    liveness.release();
  }
});

it('leaves no listener on a session it stopped watching, and watches it again when asked', async () => {
  const session = await connect();
  const before = { ping: session.listenerCount('ping'), close: session.listenerCount('close') };
  const first = watchPeer(session, FAST, () => {});
  first.release();
  expect({ ping: session.listenerCount('ping'), close: session.listenerCount('close') }).toEqual(before);
  // A new subscriber on the same session gets a live watcher again: it pings once the session is idle.
  const second = watchPeer(session, FAST, () => {});
  try {
    await waitFor(() => pingsAt.length >= 2, { description: 'the second watcher pinging' });
    expect(second.silent).toBe(false);
  } finally {
    second.release();
  }
  expect({ ping: session.listenerCount('ping'), close: session.listenerCount('close') }).toEqual(before);
});
