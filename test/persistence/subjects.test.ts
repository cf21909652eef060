import { randomBytes } from 'node:crypto';
import { oneOfEach } from '../events/allEvents';
import {
  decodeToken,
  encodeToken,
  parseSubject,
  processSubjects,
  processToken,
  subjectFor,
} from '../../src/persistence/subjects';

describe('subject layout', () => {
  it('puts process, entity, id and past-tense type in that order', () => {
    const subjects = oneOfEach().map((e) => subjectFor({ kind: 'server', serverId: 'srv-1' }, e));
    expect(subjects).toContain('konnectivity.events.srv-1.agent.a.connected');
    expect(subjects).toContain('konnectivity.events.srv-1.dial.9223372036854775807.timed-out');
    expect(subjects).toContain('konnectivity.events.srv-1.conn.9223372036854775807.closed');
    expect(subjects).toContain('konnectivity.events.srv-1.server.srv-1.started');
  });

  it('prefixes an agent process with agent- and encodes its id', () => {
    const e = oneOfEach().find((x) => x.type === 'server.connected')!;
    expect(subjectFor({ kind: 'agent', agentId: 'node-1.example' }, e)).toBe(
      'konnectivity.events.agent-node-1%2Eexample.server.srv-1.connected',
    );
    expect(processSubjects({ kind: 'agent', agentId: 'n 1' })).toBe('konnectivity.events.agent-n%201.>');
  });

  it('never lets a server id collide with an agent process', () => {
    expect(processToken({ kind: 'server', serverId: 'agent-x' })).toBe('%61gent-x');
    expect(processToken({ kind: 'agent', agentId: 'x' })).toBe('agent-x');
    expect(parseSubject('konnectivity.events.%61gent-x.server.s.started')?.process).toEqual({
      kind: 'server',
      serverId: 'agent-x',
    });
  });

  it('encodes ids so no character can split or wildcard a token', () => {
    expect(encodeToken('a.b *>%c')).toBe('a%2Eb%20%2A%3E%25c');
    expect(encodeToken('')).toBe('%');
    expect(encodeToken('nöde')).toBe('n%C3%B6de');
    for (let i = 0; i < 500; i++) {
      const id = randomBytes(i % 20).toString('latin1') + String.fromCodePoint(0x1f600 + (i % 50));
      const token = encodeToken(id);
      expect(token).toMatch(/^[A-Za-z0-9_%-]+$/);
      expect(decodeToken(token)).toBe(id);
    }
  });

  it('parses what it builds', () => {
    const e = oneOfEach().find((x) => x.type === 'agent.connected')!;
    const subject = subjectFor({ kind: 'agent', agentId: 'a.b' }, e);
    expect(parseSubject(subject)).toEqual({
      process: { kind: 'agent', agentId: 'a.b' },
      entity: 'agent',
      entityId: 'a',
      token: 'connected',
    });
    expect(parseSubject('other.subject')).toBeUndefined();
  });
});
