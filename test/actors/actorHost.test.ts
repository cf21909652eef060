import type { InspectionEvent } from 'xstate';
import { ACTORS_PER_SYSTEM, ActorHost } from '../../src/actors/actorHost';
import * as machines from '../../src/actors/machines';
import { inertConnectionPort } from './inertPort';

const noop = (): void => {};
const port = inertConnectionPort();

function startConnection(host: ActorHost) {
  return host.start('connection', machines.connection.machine, {
    bind: (actor) => machines.connection.bind(actor, port),
    input: { timeoutMs: 0 },
  });
}

describe('ActorHost', () => {
  it('runs actors in shared systems, a bounded number to each', () => {
    const host = new ActorHost();
    const actors = Array.from({ length: ACTORS_PER_SYSTEM + 1 }, () => startConnection(host));
    expect(actors[1]!.system).toBe(actors[0]!.system);
    expect(actors[ACTORS_PER_SYSTEM - 1]!.system).toBe(actors[0]!.system);
    expect(actors[ACTORS_PER_SYSTEM]!.system).not.toBe(actors[0]!.system);
    expect(new Set(actors.map((a) => a.sessionId)).size).toBe(actors.length);
    host.stopAll();
  });

  it('stops every actor, shared system or not, and counts them down (stopAll)', () => {
    const host = new ActorHost();
    const ended: string[] = [];
    host.observeEnds((entry) => ended.push(entry.actor.sessionId));
    const plain = [startConnection(host), startConnection(host)];
    const stopObserving = host.observe(noop);
    const inspected = startConnection(host);
    stopObserving();
    const completed: string[] = [];
    for (const a of [...plain, inspected]) a.subscribe({ complete: () => completed.push(a.sessionId) });

    expect(() => host.stopAll()).not.toThrow();
    expect(host.counts().connection).toBe(0);
    expect(completed.sort()).toEqual([...plain, inspected].map((a) => a.sessionId).sort());
    expect(ended.sort()).toEqual(completed);
    host.stopAll();
  });

  it('lets the observer see only actors started while it observes, with their transitions', () => {
    const host = new ActorHost();
    const seen = new Set<string>();
    const before = startConnection(host);
    const stop = host.observe((event: InspectionEvent) => {
      if (event.type === '@xstate.snapshot') seen.add(event.actorRef.sessionId);
    });
    const during = startConnection(host);
    before.send({ type: 'DIAL_SUCCEEDED', connectID: '1' });
    during.send({ type: 'DIAL_SUCCEEDED', connectID: '2' });
    stop();

    expect(seen.has(during.sessionId)).toBe(true);
    expect(seen.has(before.sessionId)).toBe(false);
    host.stopAll();
  });

  it('forgets an actor that reaches its final state in a shared system', () => {
    const host = new ActorHost();
    const actor = startConnection(host);
    actor.send({ type: 'DIAL_SUCCEEDED', connectID: '1' });
    actor.send({ type: 'FAR_END_CLOSED', reason: 'test' });
    expect(actor.getSnapshot().status).toBe('done');
    expect(host.counts().connection).toBe(0);
  });
});
