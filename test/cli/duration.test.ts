import { formatDuration, parseSince } from '../../src/cli/duration';

describe('durations the CLI prints', () => {
  it('formats like Go', () => {
    expect([250, 1500, 61_000, 3_723_500].map(formatDuration)).toEqual(['250ms', '1.5s', '1m1s', '1h2m3.5s']);
  });
});

describe('--since', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');
  it('takes a duration back from now or an RFC 3339 time', () => {
    expect(parseSince('1h', now)?.toISOString()).toBe('2025-03-01T11:00:00.000Z');
    expect(parseSince('2025-03-01T10:00:00+02:00', now)?.toISOString()).toBe('2025-03-01T08:00:00.000Z');
    expect(parseSince('2025-03-01T10:00:00.5Z', now)?.toISOString()).toBe('2025-03-01T10:00:00.500Z');
  });
  it.each(['-1h', 'yesterday', '2025-03-01', '2025-13-01T00:00:00Z'])('rejects %j', (text) => {
    expect(parseSince(text, now)).toBeUndefined();
  });
});
