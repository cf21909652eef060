/** The fleet fold, given/when/then: events from several processes in, the fleet out. */
import { eventFactory, type LifecycleEvent } from '../../src/events';
import { CLOSED_CONNECTIONS_KEPT, foldFleet } from '../../src/inspector/fleet/fleetProjection';
import { FleetStore } from '../../src/inspector/fleet/fleetStore';

const clock = { now: () => Date.parse('2026-01-01T00:00:00.000Z') };
const cp1 = eventFactory({ serverId: 'cp-1', clock });
const cp2 = eventFactory({ serverId: 'cp-2', clock });
const node = eventFactory({ agentId: 'node-1', clock });

function connected(): LifecycleEvent[] {
  return [
    cp1.serverStarted({ mode: 'grpc', serverCount: 2 }),
    cp2.serverStarted({ mode: 'grpc', serverCount: 2 }),
    node.agentStarted({ identifiers: '' }),
    cp1.agentConnected({ agentId: 'node-1', streamId: 'node-1#1', identifiers: '', remoteAddress: 'x' }),
    cp2.agentConnected({ agentId: 'node-1', streamId: 'node-1#1', identifiers: '', remoteAddress: 'x' }),
    node.serverConnected({ serverId: 'cp-1', serverCount: 2, address: 'lb:8132' }),
    node.serverConnected({ serverId: 'cp-2', serverCount: 2, address: 'lb:8132' }),
  ];
}

function connection(random: bigint, server = cp1): LifecycleEvent[] {
  const key = { random, destination: '10.0.0.5:10250' };
  return [
    server.dialRequested({ ...key, mode: 'grpc', protocol: 'tcp' }),
    server.dialEstablished({ ...key, agentId: 'node-1', connectID: 1n, latencyMs: 3 }),
    server.connOpened({ ...key, agentId: 'node-1', connectID: 1n, mode: 'grpc' }),
  ];
}

function closed(random: bigint, server = cp1): LifecycleEvent {
  return server.connClosed({
    random,
    destination: '10.0.0.5:10250',
    agentId: 'node-1',
    connectID: 1n,
    bytesToAgent: 10,
    bytesFromAgent: 20,
    durationMs: 5,
    closedBy: 'frontend',
    reason: 'CLOSE_REQ',
  });
}

describe('fleet projection', () => {
  it('shows which agents each server holds, and which servers each agent holds (HA)', () => {
    const fleet = foldFleet(connected());
    expect([...fleet.servers.keys()]).toEqual(['cp-1', 'cp-2']);
    expect([...fleet.servers.get('cp-1')!.agents.keys()]).toEqual(['node-1']);
    expect([...fleet.agents.get('node-1')!.servers].sort()).toEqual(['cp-1', 'cp-2']);
    expect(fleet.agents.get('node-1')!.status).toBe('up');
  });

  it('counts open connections per server and agent, and keeps a closed one with its bytes and reason', () => {
    const open = foldFleet([...connected(), ...connection(7n)]);
    expect(open.servers.get('cp-1')!.openConnections).toBe(1);
    expect(open.agents.get('node-1')!.openConnections).toBe(1);
    expect(open.connections.get('cp-1/7')!.state).toBe('open');

    const after = foldFleet([...connected(), ...connection(7n), closed(7n)]);
    expect(after.servers.get('cp-1')!.openConnections).toBe(0);
    expect(after.agents.get('node-1')).toMatchObject({ openConnections: 0, closedConnections: 1 });
    expect(after.connections.get('cp-1/7')).toMatchObject({
      state: 'closed',
      bytesToAgent: 10,
      bytesFromAgent: 20,
      reason: 'frontend: close-req',
    });
  });

  it('lists failed dials as failures, with the error text as it came', () => {
    const key = { random: 9n, destination: 'h:1' };
    const fleet = foldFleet([
      ...connected(),
      cp1.dialRequested({ ...key, mode: 'grpc', protocol: 'tcp' }),
      cp1.dialFailed({
        ...key,
        agentId: 'node-1',
        reason: 'error_response',
        error: '<b>refused</b>',
        latencyMs: 1,
      }),
    ]);
    expect(fleet.failures).toEqual([
      expect.objectContaining({ type: 'dial.failed', agentId: 'node-1', error: '<b>refused</b>' }),
    ]);
    expect(fleet.connections.get('cp-1/9')!.state).toBe('failed');
    expect(fleet.servers.get('cp-1')!.failedDials).toBe(1);
    expect(fleet.agents.get('node-1')!.failedDials).toBe(1);
  });

  it('forgets the agents of a server that stopped or restarted', () => {
    const stopped = foldFleet([...connected(), cp1.serverStopped({ reason: 'shutdown' })]);
    expect(stopped.servers.get('cp-1')!.status).toBe('stopped');
    expect([...stopped.agents.get('node-1')!.servers]).toEqual(['cp-2']);
    const restarted = foldFleet([...connected(), cp2.serverStarted({ mode: 'grpc', serverCount: 2 })]);
    expect(restarted.servers.get('cp-2')!.agents.size).toBe(0);
  });

  it('keeps every open connection but only the newest closed ones', () => {
    const events = [...connected()];
    const n = CLOSED_CONNECTIONS_KEPT + 10;
    for (let i = 1; i <= n; i++) events.push(...connection(BigInt(i)), closed(BigInt(i)));
    events.push(...connection(100_000n));
    const fleet = foldFleet(events);
    expect(fleet.connections.size).toBe(CLOSED_CONNECTIONS_KEPT + 1);
    expect(fleet.connections.has('cp-1/1')).toBe(false);
    expect(fleet.connections.get(`cp-1/${n}`)!.state).toBe('closed');
    expect(fleet.connections.get('cp-1/100000')!.state).toBe('open');
  });

  it('replays: the state after N events equals folding the first N, and the live state folds them all', () => {
    const events = [...connected(), ...connection(7n), closed(7n)];
    const store = new FleetStore();
    for (const e of events) store.add(e);
    const beforeClose = store.stateAfter(events.length - 1);
    expect(beforeClose.connections.get('cp-1/7')!.state).toBe('open');
    expect(store.stateAfter(events.length).connections.get('cp-1/7')!.state).toBe('closed');
    expect(store.stateAfter(0).servers.size).toBe(0);
  });
});
