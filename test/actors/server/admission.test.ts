/**
 * Dial admission through the real ProxyServer, frontends and agent tunnels over in-memory streams (and a
 * real loopback socket for HTTP CONNECT): dials beyond the in-flight bound wait and reach the agent in
 * order as slots free, whatever ended the dial before them; beyond the waiting bound they are refused at
 * once; a waiting dial given up by its frontend never reaches the agent; the wait counts against the dial
 * timeout. The queue's clock is moved by hand; the connection machines' own dial timers are real.
 */
import type { AdmissionClock } from '../../../src/actors/server/dialAdmission';
import type { ProxyServerConfig } from '../../../src/actors/server/proxyServer';
import { packets } from '../../../src/protocol/packet';
import { ManualClock } from '../../auth/manualClock';
import { waitFor } from '../../helpers/waitFor';
import { HttpConnectClients, type ConnectClient } from './httpConnectClients';
import { nth, ServerUnderTest, type AgentPeer, type FrontendPeer } from './serverHarness';

let sut: ServerUnderTest;
let manual: ManualClock;
const clients = new HttpConnectClients();

/** Deadlines on the manual clock; admission deferred to the event loop, as in production. */
function queueClock(): AdmissionClock {
  manual = new ManualClock(0);
  return {
    now: () => manual.now(),
    setTimer: (fn, ms) => manual.setTimer(fn, ms),
    defer: (fn) => {
      setImmediate(fn);
    },
  };
}

function serverWith(maxInFlight: number, maxWaiting: number, config: Partial<ProxyServerConfig> = {}): void {
  sut = new ServerUnderTest(
    { ...config, admission: { maxInFlight, maxWaiting } },
    { admissionClock: queueClock() },
  );
}

afterEach(async () => {
  sut.shutdown();
  await clients.close();
});

function dialFrom(random: bigint, address = '10.0.0.5:10250'): FrontendPeer {
  const frontend = sut.openFrontend();
  frontend.end.send(packets.dialRequest(address, random));
  return frontend;
}

const dialReqs = (agent: AgentPeer): bigint[] => agent.log.ofType('DIAL_REQ').map((p) => p.random);

async function waitingCount(n: number): Promise<void> {
  await waitFor(() => sut.server.waitingDials() === n, { description: `${n} dials waiting` });
}

describe('dial admission (gRPC frontend)', () => {
  it('sends dials up to the bound, queues the next ones, refuses beyond the queue at once', async () => {
    serverWith(1, 1);
    const agent = sut.addAgent();
    const a = dialFrom(1n);
    await nth(agent, 'DIAL_REQ');
    dialFrom(2n);
    await waitingCount(1);
    const c = dialFrom(3n);
    expect(await nth(c, 'DIAL_RSP')).toEqual(
      packets.dialResponse(3n, 0n, 'too many dials waiting (1): try again'),
    );
    await waitFor(() => c.finished(), { description: 'the refused session to finish' });
    const d = dialFrom(4n);
    expect((await nth(d, 'DIAL_RSP')).error).toBe('too many dials waiting (1): try again');
    expect(await sut.dialFailures('too_many_dials')).toBe(2);
    // One warning for the spell of refusals, not one per refused dial.
    expect(sut.logs.with('admission queue full: refusing dials')).toHaveLength(1);
    expect(sut.recorded.events.find((e) => e.type === 'dial.failed')).toMatchObject({
      random: '3',
      reason: 'too-many-dials',
      error: 'too many dials waiting (1): try again',
    });
    expect(dialReqs(agent)).toEqual([1n]);

    agent.end.send(packets.dialResponse(1n, 11n));
    await nth(a, 'DIAL_RSP');
    await waitFor(() => dialReqs(agent).length === 2, { description: 'the waiting dial at the agent' });
    expect(dialReqs(agent)).toEqual([1n, 2n]);
    expect(sut.server.waitingDials()).toBe(0);
    // dial.requested once per dial, the queued one included.
    expect(sut.recorded.events.filter((e) => e.type === 'dial.requested')).toHaveLength(4);
  });

  it.each([
    ['established', (agent: AgentPeer) => agent.end.send(packets.dialResponse(1n, 11n))],
    [
      'refused by the agent',
      (agent: AgentPeer) => agent.end.send(packets.dialResponse(1n, 0n, 'connection refused')),
    ],
    ['cancelled with DIAL_CLS', (_: AgentPeer, first: FrontendPeer) => first.end.send(packets.closeDial(1n))],
    ['given up by its frontend', (_: AgentPeer, first: FrontendPeer) => first.end.close()],
    ['lost with its agent', (agent: AgentPeer) => agent.end.abort('agent killed')],
  ] as const)('frees the slot of a dial %s for the next waiting one', async (_outcome, end) => {
    serverWith(1, 10);
    const agent = sut.addAgent('agent-1');
    const other = sut.addAgent('agent-2');
    const first = dialFrom(1n);
    await nth(agent, 'DIAL_REQ'); // random 0 picks the first agent
    dialFrom(2n);
    await waitingCount(1);
    end(agent, first);
    await waitFor(() => [...dialReqs(agent), ...dialReqs(other)].includes(2n), {
      description: 'the waiting dial at an agent',
    });
    expect(sut.server.admission.inFlightCount).toBe(1);
  });

  it('frees the slot of a dial that timed out for the next waiting one', async () => {
    // The connection machine's dial timer is real; the queue's deadlines (manual clock) do not move meanwhile.
    serverWith(1, 10, { backendDialTimeoutMs: 200 });
    const agent = sut.addAgent();
    const first = dialFrom(1n);
    await nth(agent, 'DIAL_REQ');
    dialFrom(2n);
    await waitingCount(1);
    expect((await nth(first, 'DIAL_RSP')).error).toBe('dial timeout');
    await waitFor(() => dialReqs(agent).includes(2n), { description: 'the waiting dial at the agent' });
  });

  it('a waiting dial cancelled with DIAL_CLS leaves the queue and never reaches the agent', async () => {
    serverWith(1, 10);
    const agent = sut.addAgent();
    dialFrom(1n);
    await nth(agent, 'DIAL_REQ');
    const b = dialFrom(2n);
    dialFrom(3n);
    await waitingCount(2);
    b.end.send(packets.closeDial(2n));
    await waitingCount(1);
    expect(sut.recorded.events.find((e) => e.type === 'dial.cancelled')).toMatchObject({
      random: '2',
      reason: 'dial-cls',
    });
    agent.end.send(packets.dialResponse(1n, 11n));
    await waitFor(() => dialReqs(agent).includes(3n), { description: 'the next waiting dial at the agent' });
    expect(dialReqs(agent)).toEqual([1n, 3n]);
  });

  it('a waiting dial whose frontend stream ends leaves the queue, counted as frontend_close', async () => {
    serverWith(1, 10);
    const agent = sut.addAgent();
    dialFrom(1n);
    await nth(agent, 'DIAL_REQ');
    const b = dialFrom(2n);
    await waitingCount(1);
    b.end.close();
    await waitingCount(0);
    await waitFor(() => b.finished(), { description: 'the session to finish' });
    expect(await sut.dialFailures('frontend_close')).toBe(1);
    expect(sut.recorded.events.find((e) => e.type === 'dial.cancelled')).toMatchObject({
      random: '2',
      reason: 'frontend-closed',
    });
    agent.end.send(packets.dialResponse(1n, 11n));
    dialFrom(3n); // a later dial gets the slot: the given-up one never does
    await waitFor(() => dialReqs(agent).includes(3n), { description: 'the later dial at the agent' });
    expect(dialReqs(agent)).toEqual([1n, 3n]);
  });

  it('a dial that waits until its dial timeout runs out fails with "dial timeout" and never reaches the agent', async () => {
    serverWith(1, 10, { backendDialTimeoutMs: 60_000 });
    const agent = sut.addAgent();
    dialFrom(1n);
    await nth(agent, 'DIAL_REQ');
    const b = dialFrom(2n);
    await waitingCount(1);
    manual.advance(60_000);
    expect(await nth(b, 'DIAL_RSP')).toEqual(packets.dialResponse(2n, 0n, 'dial timeout'));
    expect(await sut.dialFailures('backend_dial_timeout')).toBe(1);
    const timedOut = sut.recorded.events.find((e) => e.type === 'dial.timed-out');
    expect(timedOut).toMatchObject({ random: '2', timeoutMs: 60_000 });
    expect(timedOut).not.toHaveProperty('agentId');
    expect(dialReqs(agent)).toEqual([1n]);
  });

  it('an admitted dial keeps only what is left of its dial timeout after waiting', async () => {
    serverWith(1, 10, { backendDialTimeoutMs: 60_000 });
    const agent = sut.addAgent();
    dialFrom(1n);
    await nth(agent, 'DIAL_REQ');
    dialFrom(2n);
    await waitingCount(1);
    manual.advance(40_000);
    agent.end.send(packets.dialResponse(1n, 11n));
    await waitFor(() => dialReqs(agent).includes(2n), { description: 'the waiting dial at the agent' });
    // The first dial's connection is open; the one still dialing is the one that waited.
    const contexts = [...sut.server.actors.liveOfKind('connection')].map(
      (d) => d.actor.getSnapshot().context as { timeoutMs: number; outcome: string | null },
    );
    expect(contexts.filter((c) => c.outcome === null).map((c) => c.timeoutMs)).toEqual([20_000]);
  });

  it('answers a waiting dial when the server shuts down', async () => {
    serverWith(1, 10);
    const agent = sut.addAgent();
    dialFrom(1n);
    await nth(agent, 'DIAL_REQ');
    const b = dialFrom(2n);
    await waitingCount(1);
    sut.shutdown();
    expect((await nth(b, 'DIAL_RSP')).error).toBe('No agent available');
    expect(dialReqs(agent)).toEqual([1n]);
  });
});

describe('dial admission (HTTP CONNECT frontend)', () => {
  const connectClient = (address: string): Promise<ConnectClient> => clients.open(sut, address);

  it('refuses beyond the queue with 503, Retry-After and the bound; a waiting client that leaves (after pipelined bytes) never reaches the agent', async () => {
    serverWith(1, 1);
    const agent = sut.addAgent();
    await connectClient('10.0.0.1:10250');
    await nth(agent, 'DIAL_REQ');
    const waiting = await connectClient('10.0.0.2:10250');
    await waitingCount(1);
    const refused = await connectClient('10.0.0.3:10250');
    await waitFor(() => refused.closed(), { description: 'the refused client to be closed' });
    const reply = refused.received();
    expect(reply).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(reply).toContain('\r\nRetry-After: 1\r\n');
    expect(reply.endsWith('\r\n\r\ntoo many dials waiting (1): try again\n')).toBe(true);

    // It pipelined bytes before going away: its EOF behind them is noticed all the same.
    waiting.socket.end('bytes sent before the 200');
    await waitingCount(0);
    expect(sut.recorded.events.find((e) => e.type === 'dial.cancelled')).toMatchObject({
      destination: '10.0.0.2:10250',
      reason: 'frontend-closed',
    });
    agent.end.send(packets.dialResponse(agent.log.ofType('DIAL_REQ')[0]!.random, 11n));
    await connectClient('10.0.0.4:10250');
    await waitFor(() => agent.log.ofType('DIAL_REQ').length === 2, {
      description: 'the later dial at the agent',
    });
    expect(agent.log.ofType('DIAL_REQ').map((p) => p.address)).toEqual(['10.0.0.1:10250', '10.0.0.4:10250']);
  });
});
