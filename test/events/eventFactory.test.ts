import {
  EVENT_TYPES,
  eventAddress,
  eventFactory,
  ulidTime,
  InvalidEventFieldError,
  parseAgentIdentifiers,
  validateEvent,
} from '../../src/events';

import { agent, oneOfEach, server } from './allEvents';

describe('eventFactory', () => {
  it('has a function for every event type, each producing a valid event', () => {
    const events = oneOfEach();
    expect(events.map((e) => e.type).sort()).toEqual([...EVENT_TYPES].sort());
    for (const e of events)
      expect(validateEvent(JSON.parse(JSON.stringify(e)))).toEqual({ ok: true, event: e });
  });

  it('stamps version, id, time and origin', () => {
    const e = server.agentDraining({ agentId: 'a' });
    expect(e).toEqual({
      v: 2,
      id: expect.stringMatching(/^[0-9A-Z]{26}$/),
      type: 'agent.draining',
      time: '2025-03-01T12:00:00.000Z',
      serverId: 'srv-1',
      agentId: 'a',
    });
    expect(agent.agentStopped({ reason: 'x' }).agentId).toBe('node-1.example');
  });

  it('carries int64s as exact decimal strings from bigint, number or string', () => {
    const dial = { destination: 'd:1', mode: 'grpc', protocol: 'tcp' } as const;
    expect(server.dialRequested({ ...dial, random: 2n ** 63n - 1n }).random).toBe('9223372036854775807');
    expect(server.dialRequested({ ...dial, random: -5 }).random).toBe('-5');
    expect(server.dialRequested({ ...dial, random: '0042' }).random).toBe('42');
  });

  it('rejects what is not an int64 with a typed error', () => {
    const dial = { destination: 'd:1', mode: 'grpc', protocol: 'tcp' } as const;
    for (const random of [2n ** 63n, 1.5, 2 ** 60, 'abc']) {
      const attempt = (): unknown => server.dialRequested({ ...dial, random });
      expect(attempt).toThrow(InvalidEventFieldError);
      try {
        attempt();
      } catch (err) {
        expect(err).toMatchObject({ reason: 'not-int64', field: 'random' });
      }
    }
  });

  it('omits absent optional fields', () => {
    const e = server.dialFailed({
      random: 1n,
      destination: 'd:1',
      reason: 'no-agent',
      error: 'x',
      latencyMs: 0,
    });
    expect('agentId' in e).toBe(false);
  });

  it('parses agent identifiers the way the agent sends them', () => {
    expect(parseAgentIdentifiers('host=n1&host=n1.local&ipv4=10.0.0.5&default-route=true&zone=x')).toEqual({
      host: ['n1', 'n1.local'],
      ipv4: ['10.0.0.5'],
      defaultRoute: true,
    });
    expect(parseAgentIdentifiers('')).toEqual({});
  });

  it('addresses each event by entity, entity id and past-tense token', () => {
    const [started, , connected, , , requested, , , , timedOut, , closed] = oneOfEach();
    expect(eventAddress(started!)).toEqual({ entity: 'server', entityId: 'srv-1', token: 'started' });
    expect(eventAddress(connected!)).toEqual({ entity: 'agent', entityId: 'a', token: 'connected' });
    expect(eventAddress(requested!)).toMatchObject({ entity: 'dial', entityId: '9223372036854775807' });
    expect(eventAddress(timedOut!).token).toBe('timed-out');
    expect(eventAddress(closed!)).toMatchObject({ entity: 'conn', token: 'closed' });
  });

  it('stamps id and time from one clock reading, so they name the same millisecond', () => {
    let t = Date.parse('2025-03-01T12:00:00.000Z');
    const ticking = eventFactory({ serverId: 's', clock: { now: () => t++ } });
    for (let i = 0; i < 5; i++) {
      const e = ticking.agentDraining({ agentId: 'a' });
      expect(ulidTime(e.id)).toBe(Date.parse(e.time));
    }
  });
});
