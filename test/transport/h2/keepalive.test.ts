/**
 * Keepalive and ping enforcement of the node:http2 transport against real grpc-js peers: our server
 * pings a grpc-js client in its own process and notices when that process is frozen; a grpc-js client
 * that pings too often gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings", as from grpc-go.
 */
import { mkdtemp, rm } from 'fs/promises';
import * as os from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { CONNECT_PATH } from '../../../src/transport/grpcServices';
import { MAX_PING_STRIKES, PingStrikes } from '../../../src/transport/h2/keepalive';
import { startH2Server, type H2Server } from '../../../src/transport/h2/h2Server';
import type { H2ServerCall } from '../../../src/transport/h2/serverCall';
import { startProcess, stopAllProcesses } from '../../helpers/processes';
import { waitFor, waitForStable } from '../../helpers/waitFor';
import { collect, type Collected } from './collect';
import { grpcJsCall } from './peers';

/** A grpc-js client in its own process (so it can be frozen): one Connect call, "headers" when answered. */
const CHILD_CLIENT = `
const grpc = require('@grpc/grpc-js');
const id = (b) => b;
const client = new grpc.Client(process.env.TARGET, grpc.credentials.createInsecure());
const call = client.makeBidiStreamRequest('${CONNECT_PATH}', id, id, new grpc.Metadata());
call.on('metadata', () => process.stdout.write('headers\\n'));
call.on('error', () => {});
call.on('data', () => {});
`;

describe('PingStrikes', () => {
  it('lets pings at the minimum interval through and acts on the strike after the tolerated ones', () => {
    let now = 0;
    const strikes = new PingStrikes(30_000, () => now);
    for (let i = 0; i < 5; i++, now += 30_000) expect(strikes.ping()).toBe(false);
    // The first of these is on time (30 s after the last); each later one is a strike.
    const early = Array.from({ length: MAX_PING_STRIKES + 2 }, () => {
      now += 1_000;
      return strikes.ping();
    });
    expect(early).toEqual([false, ...Array<boolean>(MAX_PING_STRIKES).fill(false), true]);
  });

  it('forgives earlier strikes once the server has sent headers or data, as grpc-go does', () => {
    let now = 0;
    const strikes = new PingStrikes(30_000, () => now);
    const early = (): boolean => {
      now += 1_000;
      return strikes.ping();
    };
    strikes.ping();
    for (let i = 0; i < MAX_PING_STRIKES; i++) expect(early()).toBe(false);
    // The server answered with data: the next ping is not judged, and the count starts over from it.
    strikes.sent();
    expect(early()).toBe(false);
    for (let i = 0; i < MAX_PING_STRIKES; i++) expect(early()).toBe(false);
    expect(early()).toBe(true);
  });
});

describe('keepalive against grpc-js clients', () => {
  let dir: string;
  let socket: string;
  let server: H2Server | undefined;
  let calls: Array<{ call: H2ServerCall; got: Collected }>;
  const sessionErrors: Error[] = [];
  const violations: string[] = [];

  const start = async (opts: Partial<Parameters<typeof startH2Server>[0]>): Promise<H2Server> => {
    server = await startH2Server({
      listen: { kind: 'uds', path: socket, deleteExisting: true },
      routes: {
        [CONNECT_PATH]: (call) => calls.push({ call, got: collect(call.accept({ serverid: 's1' })) }),
      },
      onSessionError: (_peer, err) => sessionErrors.push(err),
      ...opts,
    });
    return server;
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'h2-keepalive-'));
    socket = path.join(dir, 'grpc.sock');
    calls = [];
    sessionErrors.length = 0;
    violations.length = 0;
  });
  afterEach(async () => {
    await stopAllProcesses('SIGKILL');
    await server?.close();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('our server pings a grpc-js client and drops it once its process is frozen', async () => {
    const s = await start({ keepalive: { intervalMs: 100, timeoutMs: 1_000 } });
    const child = startProcess(process.execPath, ['-e', CHILD_CLIENT], {
      name: 'grpc-js-client',
      cwd: path.join(__dirname, '../../..'),
      env: { TARGET: `unix://${socket}` },
    });
    await child.waitForOutput(/headers/);
    await waitFor(() => s.stats().keepaliveAcks >= 3, { description: 'pings answered by the live client' });
    expect(calls[0]!.got.ends).toHaveLength(0);
    child.signal('SIGSTOP');
    // The call's end and the session's error are reported by separate events: wait for both.
    await waitFor(
      () =>
        calls[0]!.got.ends.length === 1 &&
        sessionErrors.some((e) => (e as Error & { reason?: string }).reason === 'keepalive-timeout'),
      { description: 'the frozen client to be dropped, with the session error' },
    );
    expect(calls[0]!.got.ends).toEqual([{ kind: 'cancelled' }]);
    expect(sessionErrors.map((e) => (e as Error & { reason?: string }).reason)).toContain(
      'keepalive-timeout',
    );
    expect(s.stats().sessions).toBe(0);
    child.signal('SIGCONT');
  });

  it('a grpc-js client pinging more often than every 30 s gets GOAWAY too_many_pings', async () => {
    const s = await start({ pingPolicy: { onViolation: (peer) => violations.push(peer) } });
    const client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': 50,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    try {
      const c = grpcJsCall(client, CONNECT_PATH);
      await waitFor(() => violations.length === 1, { description: 'the ping violation' });
      expect(s.stats().pingsReceived).toBeGreaterThan(MAX_PING_STRIKES);
      await waitFor(() => c.status !== undefined, { description: 'the call to end' });
      // grpc-js reads the ENHANCE_YOUR_CALM GOAWAY as RESOURCE_EXHAUSTED; a closed connection is UNAVAILABLE.
      expect([grpc.status.RESOURCE_EXHAUSTED, grpc.status.UNAVAILABLE]).toContain(c.status?.code);
      await waitFor(() => calls[0]!.got.ends.length === 1, { description: 'our side to end too' });
    } finally {
      client.close();
    }
  });

  it('pings no more often than the policy allows are answered and never punished', async () => {
    const s = await start({
      pingPolicy: { minIntervalMs: 10, onViolation: (peer) => violations.push(peer) },
    });
    const client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': 50,
      'grpc.keepalive_permit_without_calls': 1,
    });
    try {
      const c = grpcJsCall(client, CONNECT_PATH);
      await waitFor(() => s.stats().pingsReceived >= 6, { description: 'six pings' });
      await waitForStable(() => violations.length, { stableMs: 100 });
      expect(violations).toEqual([]);
      expect(c.status).toBeUndefined();
      c.call.end();
      await waitFor(() => calls[0]?.got.ends.length === 1);
    } finally {
      client.close();
    }
  });
});
