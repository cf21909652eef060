import { randomInt64 } from '../../../src/actors/server/httpConnectSession';

describe('randomInt64 (dial ids of CONNECT tunnels)', () => {
  it('gives distinct positive int64s across several draws of its random pool', () => {
    const n = 5000; // several 1,024-id pools
    const seen = new Set<bigint>();
    let highBitsSeen = 0n;
    for (let i = 0; i < n; i++) {
      const v = randomInt64();
      expect(v >= 1n && v < 1n << 63n).toBe(true);
      seen.add(v);
      highBitsSeen |= v >> 56n;
    }
    expect(seen.size).toBe(n);
    // Uniform over 63 bits: the top byte's seven usable bits all show up in 5,000 draws.
    expect(highBitsSeen).toBe(0x7fn);
  });
});
