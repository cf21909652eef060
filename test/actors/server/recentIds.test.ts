import { RecentIds } from '../../../src/actors/server/recentIds';

describe('RecentIds', () => {
  it('remembers up to its limit and forgets the oldest first', () => {
    const ids = new RecentIds(3);
    for (const id of [1n, 2n, 3n]) ids.add(id);
    expect([1n, 2n, 3n].map((id) => ids.has(id))).toEqual([true, true, true]);
    ids.add(4n);
    expect(ids.has(1n)).toBe(false);
    expect([2n, 3n, 4n].every((id) => ids.has(id))).toBe(true);
    ids.add(5n);
    ids.add(6n);
    expect([2n, 3n].some((id) => ids.has(id))).toBe(false);
    expect([4n, 5n, 6n].every((id) => ids.has(id))).toBe(true);
    expect(ids.size).toBe(3);
  });

  it('keeps the order of first arrival when an id is added again', () => {
    const ids = new RecentIds(2);
    ids.add(1n);
    ids.add(2n);
    ids.add(1n); // already known: neither a second slot nor a fresh position
    ids.add(3n);
    expect(ids.has(1n)).toBe(false);
    expect(ids.has(2n)).toBe(true);
    expect(ids.has(3n)).toBe(true);
    expect(ids.size).toBe(2);
  });

  it('stays at its limit over many rounds of the ring', () => {
    const ids = new RecentIds(100);
    for (let i = 1n; i <= 10_000n; i++) ids.add(i);
    expect(ids.size).toBe(100);
    expect(ids.has(9_900n)).toBe(false);
    expect(ids.has(9_901n)).toBe(true);
    expect(ids.has(10_000n)).toBe(true);
  });
});
