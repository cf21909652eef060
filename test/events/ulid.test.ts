import { monotonicUlid, ULID_PATTERN, ulidTime } from '../../src/events';

describe('monotonicUlid', () => {
  it('encodes the time in the first 10 characters and the randomness in the last 16', () => {
    const ids = monotonicUlid({ now: () => 1469918176385, random: (n) => new Uint8Array(n) });
    const id = ids();
    expect(id).toBe('01ARYZ6S41' + '0000000000000000');
    expect(ULID_PATTERN.test(id)).toBe(true);
    expect(ulidTime(id)).toBe(1469918176385);
  });

  it('counts up within one millisecond, so ids stay strictly increasing', () => {
    const ids = monotonicUlid({ now: () => 1000, random: (n) => new Uint8Array(n).fill(0xff) });
    const a = ids();
    const b = ids();
    expect(a.endsWith('ZZZZZZZZZZZZZZZZ')).toBe(true);
    // Overflowing 80 random bits borrows the next millisecond instead of repeating or wrapping.
    expect(b > a).toBe(true);
    expect(ulidTime(b)).toBe(1001);
  });

  it('keeps increasing when the clock steps backwards', () => {
    let now = 5000;
    const ids = monotonicUlid({ now: () => now, random: (n) => new Uint8Array(n).fill(7) });
    const a = ids();
    now = 4000;
    const b = ids();
    expect(b > a).toBe(true);
    expect(ulidTime(b)).toBe(5000);
  });

  it('sorts by creation time across milliseconds', () => {
    let now = 1;
    const ids = monotonicUlid({ now: () => now });
    const made: string[] = [];
    for (let i = 0; i < 1000; i++) {
      if (i % 7 === 0) now += 1;
      made.push(ids());
    }
    expect([...made].sort()).toEqual(made);
    expect(new Set(made).size).toBe(made.length);
  });
});
