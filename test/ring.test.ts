import { Ring } from '../src/ring';

describe('Ring', () => {
  it('keeps the newest entries up to its capacity, oldest first, and hands back what it overwrites', () => {
    const ring = new Ring<number>(3);
    expect([1, 2, 3].map((n) => ring.push(n))).toEqual([undefined, undefined, undefined]);
    expect(ring.toArray()).toEqual([1, 2, 3]);
    expect(ring.push(4)).toBe(1);
    expect(ring.push(5)).toBe(2);
    expect(ring.toArray()).toEqual([3, 4, 5]);
    expect(ring.last()).toBe(5);
    expect(ring.length).toBe(3);
  });

  it('starts again empty after clear', () => {
    const ring = new Ring<string>(2);
    ring.push('a');
    ring.push('b');
    ring.push('c');
    ring.clear();
    expect(ring.length).toBe(0);
    expect(ring.last()).toBeUndefined();
    expect(ring.push('d')).toBeUndefined();
    expect(ring.toArray()).toEqual(['d']);
  });
});
