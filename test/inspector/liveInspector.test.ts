/**
 * The live inspector over a real ActorHost running the process's real (provided) machines: what it counts,
 * what it records and when, and that with no one looking it records nothing at all.
 */
import { ActorHost } from '../../src/actors/actorHost';
import * as machines from '../../src/actors/machines';
import { eventFactory } from '../../src/events';
import { parseActorQuery } from '../../src/inspector/actorQuery';
import { TRANSITIONS_PER_ACTOR } from '../../src/inspector/actorRecords';
import { EventFeed, feeding } from '../../src/inspector/eventFeed';
import { API_ACTIVITY_MS, LiveInspector } from '../../src/inspector/liveInspector';

/** Hosts a test started; every actor is stopped after the test (delayed transitions hold timers). */
const hosts: ActorHost[] = [];
afterEach(() => {
  for (const host of hosts.splice(0)) host.stopAll();
});

function setup(): { host: ActorHost; inspector: LiveInspector; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  const host = new ActorHost();
  hosts.push(host);
  const inspector = new LiveInspector(host, { kind: 'server', id: 'cp-1' }, new EventFeed(), () => clock.t);
  return { host, inspector, clock };
}

function startDial(host: ActorHost, destination = '10.0.0.5:10250', owner?: string) {
  return host.start('dial', machines.dial.machine, {
    input: { random: '1', address: destination, timeoutMs: 0 },
    describe: () => ({ agent: 'node-1', destination, ...(owner ? { owner } : {}) }),
  });
}

function startConnection(host: ActorHost, owner?: string) {
  return host.start('connection', machines.connection.machine, {
    input: { connectID: '1' },
    describe: () => ({
      agent: 'node-1',
      destination: 'd:1',
      bytesOut: 5,
      bytesIn: 7,
      ...(owner ? { owner } : {}),
    }),
  });
}

describe('LiveInspector', () => {
  it('records nothing while no one looks, and records transitions once a viewer is there', () => {
    const { host, inspector } = setup();
    const before = startConnection(host);
    before.send({ type: 'OVERFLOWED' });
    expect(inspector.recording).toBe(false);

    const leave = inspector.addViewer();
    expect(inspector.actor(before.sessionId)!.transitions).toEqual([]); // nothing from before the viewer
    before.send({ type: 'DRAINED' });
    expect(inspector.actor(before.sessionId)!.transitions).toEqual([
      expect.objectContaining({ from: null, to: 'open.flowing', event: 'DRAINED' }),
    ]);
    const after = startDial(host);
    after.send({ type: 'DIAL_FAILED', error: '<b>no</b>' });
    const ended = inspector.actor(after.sessionId)!;
    expect(ended.actor).toMatchObject({ state: 'failed', endedAt: expect.any(Number) });
    expect(ended.transitions.map((t) => [t.to, t.event, t.detail])).toEqual([
      ['pending.untimed', 'xstate.init', undefined],
      ['failed', 'DIAL_FAILED', '<b>no</b>'],
    ]);
    leave();
  });

  it('stops recording at the first inspection event after the last viewer left and the API went quiet', () => {
    const { host, inspector, clock } = setup();
    const conn = startConnection(host);
    const leave = inspector.addViewer();
    leave();
    inspector.touch();
    conn.send({ type: 'OVERFLOWED' });
    expect(inspector.recording).toBe(true);
    clock.t += API_ACTIVITY_MS;
    conn.send({ type: 'DRAINED' });
    expect(inspector.recording).toBe(false);
  });

  it('bounds each actor’s transition ring', () => {
    const { host, inspector } = setup();
    inspector.addViewer();
    const conn = startConnection(host);
    for (let i = 0; i < 100; i++) conn.send({ type: i % 2 === 0 ? 'OVERFLOWED' : 'DRAINED' });
    const transitions = inspector.actor(conn.sessionId)!.transitions;
    expect(transitions).toHaveLength(TRANSITIONS_PER_ACTOR);
    expect(transitions.at(-1)).toMatchObject({ to: 'open.flowing', event: 'DRAINED' });
  });

  it('counts live actors per state, a compound state counting its children', () => {
    const { host, inspector } = setup();
    startConnection(host);
    startConnection(host).send({ type: 'OVERFLOWED' });
    startConnection(host).send({ type: 'CLOSE_REQUESTED', reason: 'x' });
    startDial(host);
    const summary = inspector.summary();
    expect(summary.machines.find((m) => m.machine === 'connection')).toEqual({
      machine: 'connection',
      live: 3,
      states: { open: 2, 'open.flowing': 1, 'open.overflowing': 1, closing: 1 },
    });
    expect(summary.machines.find((m) => m.machine === 'dial')!.states).toEqual({
      pending: 1,
      'pending.untimed': 1,
    });
    expect(summary.kinds.connection).toBe(3);
  });

  it('filters, sorts and pages the actor table, and lists an actor’s owner and what it owns', () => {
    const { host, inspector } = setup();
    const tunnel = host.start('agentTunnel', machines.agentTunnel.machine, {
      input: { agentId: 'node-1', streamId: 'node-1#1' },
      describe: () => ({ agent: 'node-1' }),
    });
    for (let i = 0; i < 250; i++) startDial(host, `10.0.${i}.1:10250`, tunnel.sessionId);
    const page = inspector.actors(
      parseActorQuery(new URLSearchParams('kind=dial&destination=10.0.1&sort=destination&offset=5&limit=3')),
    );
    // 10.0.1.1, 10.0.10.1 ... 10.0.19.1, 10.0.100.1 ... 10.0.199.1: 111 of them.
    expect(page.total).toBe(111);
    expect(page.rows.map((r) => r.destination)).toEqual([
      '10.0.103.1:10250',
      '10.0.104.1:10250',
      '10.0.105.1:10250',
    ]);
    const detail = inspector.actor(tunnel.sessionId)!;
    expect(detail.ownsTotal).toBe(250);
    expect(detail.owns.length).toBeLessThanOrEqual(200);
    const child = inspector.actor(page.rows[0]!.id)!;
    expect(child.owner?.id).toBe(tunnel.sessionId);
  });

  it('answers one page of 100 rows, and exact counts, with 10,000 live connections', () => {
    const { host, inspector } = setup();
    for (let i = 0; i < 10_000; i++) startConnection(host);
    const page = inspector.actors(parseActorQuery(new URLSearchParams('sort=age&dir=desc')));
    expect(page.total).toBe(10_000);
    expect(page.rows).toHaveLength(100);
    const connection = inspector.summary().machines.find((m) => m.machine === 'connection')!;
    expect(connection.live).toBe(10_000);
    expect(connection.states['open.flowing']).toBe(10_000);
  }, 120_000); // creating 10,000 actors takes seconds on a loaded machine
});

describe('EventFeed', () => {
  const clock = { now: () => 0 };
  const server = eventFactory({ serverId: 'cp-1', clock });

  it('hands each viewer what came after its last frame, and says how many it missed', () => {
    const feed = new EventFeed(10);
    for (let i = 0; i < 25; i++) server.agentDraining({ agentId: `a${i}` });
    for (let i = 0; i < 25; i++) feed.push(server.agentDraining({ agentId: `a${i}` }));
    const slice = feed.since(5, {}, 4);
    // Events 6..15 were overwritten (10), and of the 10 held only the newest 4 fit.
    expect(slice.dropped).toBe(10 + 6);
    expect(slice.events.map((e) => (e as { agentId: string }).agentId)).toEqual(['a21', 'a22', 'a23', 'a24']);
    expect(feed.since(slice.lastSeq, {}, 4).events).toEqual([]);
    expect(feed.since(20, { agent: 'a22' }, 10).events).toHaveLength(1);
    expect(feed.since(20, { type: 'agent.' }, 10).events).toHaveLength(5);
    expect(feed.since(20, { type: 'dial.' }, 10).events).toHaveLength(0);
  });

  it('without an event log, makes events only while someone looks', () => {
    const feed = new EventFeed();
    let looking = false;
    const events = feeding(feed, () => looking, null, server);
    expect(events.agentDraining({ agentId: 'a' })).toBeUndefined();
    looking = true;
    expect(events.agentDraining({ agentId: 'b' })).toMatchObject({ type: 'agent.draining', agentId: 'b' });
    expect(feed.lastSeq).toBe(1);
  });
});
