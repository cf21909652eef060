import { eventFactory, validateEvent } from '../../src/events';

const f = eventFactory({ serverId: 's' });
const good = (): Record<string, unknown> =>
  JSON.parse(
    JSON.stringify(
      f.connClosed({
        random: 1n,
        destination: 'd:1',
        agentId: 'a',
        connectID: 2n,
        bytesToAgent: 1,
        bytesFromAgent: 2,
        durationMs: 3,
        closedBy: 'agent',
        reason: 'agent-closed',
      }),
    ),
  ) as Record<string, unknown>;

describe('validateEvent', () => {
  it.each([
    ['not an object', 'nope', 'not an object'],
    ['another version', { ...good(), v: 3 }, 'unsupported version 3'],
    [
      'a reason outside its documented set',
      { ...good(), reason: 'agent closed' },
      'conn.closed: reason "agent closed" is not in its documented set',
    ],
    [
      "another event type's reason",
      { ...good(), reason: 'dial-cls' },
      'conn.closed: reason "dial-cls" is not in its documented set',
    ],
    ['an id that is not a ULID', { ...good(), id: 'abc' }, 'id is not a ULID'],
    ['an unknown type', { ...good(), type: 'conn.exploded' }, 'unknown type conn.exploded'],
    ['a bad time', { ...good(), time: 'yesterday' }, 'bad time'],
    ['a missing field', { ...good(), bytesToAgent: undefined }, 'conn.closed: missing bytesToAgent'],
    ['an int64 as a number', { ...good(), random: 1 }, 'conn.closed: random is not a valid int64'],
    ['an unknown closer', { ...good(), closedBy: 'god' }, 'conn.closed: closedBy is not a valid closedBy'],
    ['a wrong optional', { ...good(), error: 5 }, 'conn.closed: error is not a valid string'],
  ])('rejects %s', (_what, value, problem) => {
    expect(validateEvent(value)).toEqual({ ok: false, problem });
  });

  it('accepts a valid event and unknown extra fields (forward compatible readers)', () => {
    expect(validateEvent({ ...good(), future: true }).ok).toBe(true);
  });

  it('checks agent identifiers', () => {
    const e = JSON.parse(
      JSON.stringify(f.agentConnected({ agentId: 'a', identifiers: {}, remoteAddress: 'x' })),
    ) as Record<string, unknown>;
    expect(validateEvent({ ...e, identifiers: { host: ['a'], defaultRoute: true } }).ok).toBe(true);
    expect(validateEvent({ ...e, identifiers: { host: 'a' } }).ok).toBe(false);
  });
});
