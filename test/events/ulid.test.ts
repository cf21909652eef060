import { randomBytes } from 'node:crypto';
import { monotonicUlid, pooledRandom, ULID_PATTERN, ulidTime } from '../../src/events';

/** The spec's encoding done the obvious way (80 bits as one bigint), to check the fast one against. */
function referenceRandomPart(bytes: Uint8Array): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 16; i++) {
    out = alphabet[Number(n & 31n)]! + out;
    n >>= 5n;
  }
  return out;
}

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

  it('encodes the 80 random bits exactly as a big-endian base32 number', () => {
    const samples = [new Uint8Array(10), new Uint8Array(10).fill(0xff), new Uint8Array(10).fill(0x80)];
    for (let i = 0; i < 2000; i++) samples.push(randomBytes(10));
    for (const bytes of samples) {
      const ids = monotonicUlid({ now: () => 1, random: () => bytes });
      expect(ids().slice(10)).toBe(referenceRandomPart(bytes));
    }
  });

  it('uses the clock reading it is given instead of reading the clock again', () => {
    const ids = monotonicUlid({ now: () => 1, random: (n) => new Uint8Array(n) });
    expect(ulidTime(ids(1469918176385))).toBe(1469918176385);
  });

  it('hands out fresh random bytes from its pool across refills', () => {
    const random = pooledRandom(64);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const bytes = random(10);
      expect(bytes.length).toBe(10);
      seen.add(Buffer.from(bytes).toString('hex'));
    }
    expect(seen.size).toBe(100);
    expect(random(100).length).toBe(100);
  });
});
