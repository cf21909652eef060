import { formatDuration, parseGoDuration, parseSince } from '../../src/cli/duration';

describe('Go durations', () => {
  it.each([
    ['0', 0],
    ['300ms', 300],
    ['1s', 1000],
    ['1h0m0s', 3_600_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['2m3.5s', 123_500],
    ['-1m', -60_000],
    ['1000us', 1],
    ['1500000ns', 1.5],
    ['.5s', 500],
  ])('parses %s', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 6);
  });

  it.each(['', '1', 'h', '1d', '1h 2m', '1hh', 'abc', '--1s'])('rejects %j', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });

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
