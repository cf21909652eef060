/** Recovery as given (events so far) / when (one more event) / then (state), plus closing events. */
import { eventFactory, type LifecycleEvent } from '../../src/events';
import {
  closingEvents,
  evolve,
  fold,
  initialState,
  type RecoveryState,
} from '../../src/persistence/recovery';
import { connectionLifecycle, ManualClock, serverFactory } from './fixtures';

const given = (events: LifecycleEvent[]): RecoveryState => events.reduce(evolve, initialState());

describe('recovery fold', () => {
  const clock = new ManualClock();
  const f = serverFactory('srv', clock);
  const dial = { random: 7n, destination: '10.0.0.5:22' };
  const requested = f.dialRequested({ ...dial, mode: 'grpc', protocol: 'tcp' });

  it('given a requested dial, when it is established and opened, then it is an open connection', () => {
    const state = given([
      requested,
      f.dialEstablished({ ...dial, agentId: 'a', connectID: 3n, latencyMs: 1 }),
    ]);
    const then = evolve(state, f.connOpened({ ...dial, agentId: 'a', connectID: 3n, mode: 'grpc' }));
    expect([...then.dials.keys()]).toEqual([]);
    expect(then.conns.get('7')).toMatchObject({
      side: 'server',
      agentId: 'a',
      connectID: '3',
      destination: dial.destination,
    });
    expect(then.counters).toMatchObject({ dialsRequested: 1, dialsEstablished: 1, connectionsOpened: 1 });
  });

  it('given open connections, when they close, then bytes add up per agent each way', () => {
    const then = given([
      ...connectionLifecycle(f, 1n, 'a'),
      ...connectionLifecycle(f, 2n, 'a'),
      ...connectionLifecycle(f, 3n, 'b'),
    ]);
    expect(then.conns.size).toBe(0);
    expect(then.counters.bytesByAgent.get('a')).toEqual({ toEndpoint: 200, fromEndpoint: 4000 });
    expect(then.counters.bytesByAgent.get('b')).toEqual({ toEndpoint: 100, fromEndpoint: 2000 });
    expect(then.counters.connectionsClosed).toBe(3);
  });

  it('given dials, when they fail, time out or are cancelled, then failures count per reason', () => {
    const then = given([
      requested,
      f.dialFailed({ ...dial, reason: 'no-agent', error: 'No agent available', latencyMs: 0 }),
      f.dialFailed({ ...dial, reason: 'no-agent', error: 'No agent available', latencyMs: 0 }),
      f.dialFailed({ ...dial, reason: 'agent-error', error: 'refused', latencyMs: 0 }),
      f.dialTimedOut({ ...dial, timeoutMs: 5000 }),
      f.dialCancelled({ ...dial, reason: 'dial-cls', latencyMs: 2 }),
    ]);
    expect(Object.fromEntries(then.counters.dialFailures)).toEqual({
      'no-agent': 2,
      'agent-error': 1,
      'timed-out': 1,
    });
    expect(then.counters.dialsCancelled).toBe(1);
    expect(then.dials.size).toBe(0);
  });

  it('given agent streams, when one disconnects without a stream id, then all of its streams are gone', () => {
    const then = given([
      f.agentConnected({ agentId: 'a', streamId: '1', identifiers: {}, remoteAddress: 'x' }),
      f.agentConnected({ agentId: 'a', streamId: '2', identifiers: {}, remoteAddress: 'y' }),
      f.agentConnected({ agentId: 'b', identifiers: {}, remoteAddress: 'z' }),
      f.agentDraining({ agentId: 'b' }),
      f.agentDisconnected({ agentId: 'a', reason: 'stream-ended' }),
    ]);
    expect([...then.agents.values()].map((a) => [a.agentId, a.draining])).toEqual([['b', true]]);
  });

  it('evolve is pure, and fold equals reducing with evolve', async () => {
    const events = [requested, ...connectionLifecycle(f, 9n)];
    const before = given([requested]);
    const snapshot = JSON.stringify([...before.dials]);
    evolve(before, events[1]!);
    expect(JSON.stringify([...before.dials])).toBe(snapshot);
    expect(await fold(events)).toEqual(given(events));
    expect((await fold(events)).lastEventId).toBe(events[events.length - 1]!.id);
  });
});

describe('closing events after a restart', () => {
  it('closes what a crashed server left open, with reason server-restart', () => {
    const clock = new ManualClock();
    const f = serverFactory('srv', clock);
    const state = given([
      f.serverStarted({ mode: 'grpc', serverCount: 1 }),
      f.agentConnected({ agentId: 'a', streamId: '1', identifiers: {}, remoteAddress: 'x' }),
      ...connectionLifecycle(f, 1n, 'a').slice(0, 3),
      f.dialRequested({ random: 2n, destination: 'd:2', mode: 'http-connect', protocol: 'tcp' }),
    ]);
    clock.advance(30_000);
    const closing = closingEvents(state, f, clock.now());
    expect(closing).toEqual([
      expect.objectContaining({
        type: 'conn.closed',
        random: '1',
        closedBy: 'server',
        reason: 'server-restart',
        durationMs: 30_000,
      }),
      expect.objectContaining({
        type: 'dial.failed',
        random: '2',
        reason: 'server-restart',
        latencyMs: 30_000,
      }),
      expect.objectContaining({
        type: 'agent.disconnected',
        agentId: 'a',
        streamId: '1',
        reason: 'server-restart',
      }),
      expect.objectContaining({ type: 'server.stopped', reason: 'server-restart' }),
    ]);
    const after = closing.reduce(evolve, state);
    expect([after.conns.size, after.dials.size, after.agents.size, after.running]).toEqual([
      0,
      0,
      0,
      undefined,
    ]);
  });

  it('closes what a crashed agent left open, with reason agent-restart', () => {
    const clock = new ManualClock();
    const a = eventFactory({ agentId: 'node-1', clock });
    const dial = { random: 5n, destination: '127.0.0.1:8080', serverId: 'srv' };
    const state = given([
      a.agentStarted({ identifiers: { host: ['node-1'] } }),
      a.serverConnected({ serverId: 'srv', serverCount: 1, address: 'lb:8091' }),
      a.endpointDialConnected({ ...dial, connectID: 1n, latencyMs: 1 }),
      a.endpointDialFailed({
        ...dial,
        random: 6n,
        reason: 'error',
        error: 'connection refused',
        latencyMs: 1,
      }),
    ]);
    const closing = closingEvents(state, a, clock.now() + 1000);
    expect(closing.map((e) => [e.type, (e as { reason?: string }).reason])).toEqual([
      ['conn.endpoint-closed', 'agent-restart'],
      ['server.disconnected', 'agent-restart'],
      ['agent.stopped', 'agent-restart'],
    ]);
    const after = closing.reduce(evolve, state);
    expect(after.counters.bytesByServer.get('srv')).toEqual({ toEndpoint: 0, fromEndpoint: 0 });
    expect(Object.fromEntries(after.counters.endpointDialFailures)).toEqual({ error: 1 });
    expect([after.conns.size, after.servers.size, after.running]).toEqual([0, 0, undefined]);
  });

  it('produces nothing for a log that ended cleanly', () => {
    const f = serverFactory('srv');
    const state = given([
      f.serverStarted({ mode: 'grpc', serverCount: 1 }),
      ...connectionLifecycle(f, 1n),
      f.serverStopped({ reason: 'shutdown' }),
    ]);
    expect(closingEvents(state, f)).toEqual([]);
  });
});
