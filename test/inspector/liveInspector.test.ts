/**
 * The live inspector over a real ActorHost running the process's real (provided) machines: what it counts,
 * what it records and when, that with no one looking it records nothing at all, and that with someone
 * looking it records transitions only for the actors they have open.
 */
import { ActorHost } from '../../src/actors/actorHost';
import * as machines from '../../src/actors/machines';
import { eventFactory } from '../../src/events';
import { parseActorQuery } from '../../src/inspector/actorQuery';
import { MAX_WATCHED, TRANSITIONS_PER_ACTOR, WATCH_IDLE_MS } from '../../src/inspector/actorWatch';
import { RECENTLY_ENDED_SAMPLE } from '../../src/inspector/endedActors';
import { EventFeed, feeding, UNLOGGED_EVENTS_PER_SECOND } from '../../src/inspector/eventFeed';
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

/** A connection actor still dialing (an agent's endpoint connection when `kind` says so). */
function startDial(
  host: ActorHost,
  destination = '10.0.0.5:10250',
  owner?: string,
  kind: 'connection' | 'endpointConnection' = 'connection',
) {
  return host.start(kind, machines.connection.machine, {
    input: { timeoutMs: 0 },
    describer: { actorFacts: () => ({ agent: 'node-1', destination, ...(owner ? { owner } : {}) }) },
  });
}

/** A connection actor whose dial is established. */
function startConnection(host: ActorHost, owner?: string) {
  const actor = host.start('connection', machines.connection.machine, {
    input: { timeoutMs: 0 },
    describer: {
      actorFacts: () => ({
        agent: 'node-1',
        destination: 'd:1',
        bytesOut: 5,
        bytesIn: 7,
        ...(owner ? { owner } : {}),
      }),
    },
  });
  actor.send({ type: 'DIAL_SUCCEEDED', connectID: '1' });
  return actor;
}

describe('LiveInspector', () => {
  it('records nothing while no one looks, and with a viewer the transitions of the actors it opened', () => {
    const { host, inspector } = setup();
    const before = startConnection(host);
    before.send({ type: 'OVERFLOWED' });
    expect(inspector.recording).toBe(false);

    const leave = inspector.addViewer();
    // Opening it starts its record, from the state it is in.
    expect(inspector.actor(before.sessionId)!.transitions).toEqual([]);
    before.send({ type: 'DRAINED' });
    expect(inspector.actor(before.sessionId)!.transitions).toEqual([
      expect.objectContaining({ from: 'open.overflowing', to: 'open.flowing', event: 'DRAINED' }),
    ]);
    const opened = startDial(host);
    expect(inspector.actor(opened.sessionId)!.actor.state).toBe('dialing.untimed');
    opened.send({ type: 'DIAL_FAILED', error: '<b>no</b>' });
    const ended = inspector.actor(opened.sessionId)!;
    expect(ended.actor).toMatchObject({ state: 'failed', endedAt: expect.any(Number) });
    expect(ended.transitions.map((t) => [t.from, t.to, t.event, t.detail])).toEqual([
      ['dialing.untimed', 'failed', 'DIAL_FAILED', '<b>no</b>'],
    ]);
    // One no one opened: its end is counted and sampled, its transitions were not recorded.
    const unopened = startDial(host);
    unopened.send({ type: 'DIAL_SUCCEEDED', connectID: '9' });
    unopened.send({ type: 'FAR_END_CLOSED', reason: 'EOF' });
    expect(inspector.actor(unopened.sessionId)).toMatchObject({
      actor: { state: 'closed', endedAt: expect.any(Number) },
      transitions: [],
    });
    expect(inspector.summary().machines.find((m) => m.machine === 'connection')!.ended).toEqual({
      failed: 1,
      closed: 1,
    });
    leave();
  });

  it('puts no inspection hook on an actor no one opened, with or without a viewer', () => {
    const { host, inspector } = setup();
    const idle = startConnection(host);
    inspector.addViewer();
    const viewed = startConnection(host);
    const opened = startConnection(host);
    inspector.actor(opened.sessionId);
    // XState builds an inspection event per event, microstep, action and snapshot of an actor with a hook.
    expect(idle.options.inspect).toBeUndefined();
    expect(viewed.options.inspect).toBeUndefined();
    expect(inspector.actor(viewed.sessionId)!.transitions).toEqual([]);
  });

  it('stops recording at the next frame or ended actor after the last viewer left and the API went quiet', () => {
    const { host, inspector, clock } = setup();
    const leave = inspector.addViewer();
    leave();
    inspector.touch();
    startDial(host).send({ type: 'CANCEL' });
    expect(inspector.recording).toBe(true);
    clock.t += API_ACTIVITY_MS;
    startDial(host).send({ type: 'CANCEL' });
    expect(inspector.recording).toBe(false);
    inspector.touch();
    expect(inspector.recording).toBe(true);
    clock.t += API_ACTIVITY_MS;
    expect(inspector.summary().recording).toBe(false);
  });

  it('bounds each actor’s transition ring, the actors watched and how long a watch lasts unasked', () => {
    const { host, inspector, clock } = setup();
    inspector.addViewer();
    const conn = startConnection(host);
    inspector.actor(conn.sessionId);
    for (let i = 0; i < 100; i++) conn.send({ type: i % 2 === 0 ? 'OVERFLOWED' : 'DRAINED' });
    const transitions = inspector.actor(conn.sessionId)!.transitions;
    expect(transitions).toHaveLength(TRANSITIONS_PER_ACTOR);
    expect(transitions.at(-1)).toMatchObject({ to: 'open.flowing', event: 'DRAINED' });

    const many = Array.from({ length: MAX_WATCHED + 5 }, () => startConnection(host));
    for (const c of many) inspector.actor(c.sessionId);
    for (const c of many) c.send({ type: 'OVERFLOWED' });
    const recorded = many.filter((c) => inspector.actor(c.sessionId)!.transitions.length > 0);
    expect(recorded).toHaveLength(MAX_WATCHED - 1); // `conn` holds one watch

    clock.t += WATCH_IDLE_MS;
    inspector.summary(); // a frame: unasked watches end
    conn.send({ type: 'OVERFLOWED' });
    expect(inspector.actor(conn.sessionId)!.transitions).toEqual([]);
  });

  it('keeps a bounded sample of the actors that ended and counts all of them', () => {
    const { host, inspector } = setup();
    inspector.addViewer();
    const n = RECENTLY_ENDED_SAMPLE + 50;
    for (let i = 0; i < n; i++) startDial(host).send({ type: 'DIAL_FAILED', error: 'refused' });
    const page = inspector.actors(parseActorQuery(new URLSearchParams('kind=connection&limit=500')));
    expect(page.total).toBe(RECENTLY_ENDED_SAMPLE);
    expect(page.rows.every((r) => r.state === 'failed' && r.endedAt !== null)).toBe(true);
    expect(inspector.summary().machines.find((m) => m.machine === 'connection')!.ended).toEqual({
      failed: n,
    });
  });

  it('asks actors to describe themselves only for the page it returns when the query needs no more', () => {
    const { host, inspector } = setup();
    let described = 0;
    for (let i = 0; i < 1000; i++) {
      host.start('connection', machines.connection.machine, {
        input: { timeoutMs: 0 },
        describer: {
          actorFacts: () => {
            described++;
            return { agent: 'node-1', destination: `d:${i}` };
          },
        },
      });
    }
    const page = inspector.actors(parseActorQuery(new URLSearchParams('kind=connection&sort=age&dir=desc')));
    expect(page.total).toBe(1000);
    expect(page.rows).toHaveLength(100);
    expect(described).toBe(100);
    // Filtering on what they describe asks each of them.
    described = 0;
    expect(inspector.actors(parseActorQuery(new URLSearchParams('destination=d:99'))).total).toBe(11);
    expect(described).toBe(1000); // once each: the page's rows reuse what they said
  });

  it('pages the default table (oldest first) from the host’s start order, touching a page per kind, not every actor', () => {
    const { host, inspector } = setup();
    inspector.addViewer();
    for (let i = 0; i < 600; i++) startConnection(host);
    // A second kind, as the agent's endpoint connections would be.
    for (let i = 0; i < 300; i++) startDial(host, undefined, undefined, 'endpointConnection');
    for (let i = 0; i < 30; i++) {
      startDial(host, undefined, undefined, 'endpointConnection').send({
        type: 'DIAL_FAILED',
        error: 'refused',
      });
    }
    const liveOfKind = host.liveOfKind.bind(host);
    let touched = 0;
    host.liveOfKind = function* (kind) {
      for (const entry of liveOfKind(kind)) {
        touched++;
        yield entry;
      }
    };
    const page = (q: string) => inspector.actors(parseActorQuery(new URLSearchParams(q)));
    for (const [q, kinds] of [
      ['sort=age&dir=desc&offset=250', 900],
      ['sort=id&kind=endpointConnection', 300],
      ['sort=age&dir=desc&ended=false', 900],
    ] as const) {
      touched = 0;
      const fast = page(q);
      expect(touched).toBeLessThanOrEqual(2 * 351); // at most offset + limit of each of the two kinds
      // The same page as the full pass (a text filter forces one; every id contains `x:`).
      touched = 0;
      expect(fast).toEqual(page(`${q}&q=x:`));
      expect(touched).toBe(kinds);
    }
    expect(page('sort=age&dir=desc').total).toBe(600 + 300 + 30);
    touched = 0;
    expect(page('sort=age&dir=desc&state=open').total).toBe(600);
    expect(touched).toBe(900);
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
      live: 4,
      states: {
        dialing: 1,
        'dialing.untimed': 1,
        open: 2,
        'open.flowing': 1,
        'open.overflowing': 1,
        closing: 1,
      },
      ended: {},
    });
    expect(summary.kinds.connection).toBe(4);
  });

  it('filters, sorts and pages the actor table, and lists an actor’s owner and what it owns', () => {
    const { host, inspector } = setup();
    const tunnel = host.start('agentTunnel', machines.agentTunnel.machine, {
      input: { agentId: 'node-1', streamId: 'node-1#1' },
      describer: { actorFacts: () => ({ agent: 'node-1' }) },
    });
    for (let i = 0; i < 250; i++) startDial(host, `10.0.${i}.1:10250`, tunnel.sessionId);
    const page = inspector.actors(
      parseActorQuery(
        new URLSearchParams('kind=connection&destination=10.0.1&sort=destination&offset=5&limit=3'),
      ),
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

  it('without an event log, makes at most UNLOGGED_EVENTS_PER_SECOND for a viewer and counts the rest as dropped', () => {
    const t = { now: 0 };
    const feed = new EventFeed(10_000, () => t.now);
    const events = feeding(feed, () => true, null, server);
    const made = (n: number): number => {
      let count = 0;
      for (let i = 0; i < n; i++) if (events.agentDraining({ agentId: `a${i}` }) !== undefined) count++;
      return count;
    };
    expect(made(3 * UNLOGGED_EVENTS_PER_SECOND)).toBe(UNLOGGED_EVENTS_PER_SECOND);
    const slice = feed.since(0, {}, 10_000);
    expect(slice.events).toHaveLength(UNLOGGED_EVENTS_PER_SECOND);
    expect(slice.dropped).toBe(2 * UNLOGGED_EVENTS_PER_SECOND);
    t.now += 1000; // the next second
    expect(made(10)).toBe(10);
    expect(feed.since(slice.lastSeq, {}, 10_000)).toMatchObject({ dropped: 0, events: { length: 10 } });
  });
});
