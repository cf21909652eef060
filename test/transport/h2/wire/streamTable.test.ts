/**
 * A connection's streams by id: one stream held without a Map, a Map from the second on, and the same
 * answers either way.
 */
import { StreamTable } from '../../../../src/transport/h2/wire/streamTable';

describe('StreamTable', () => {
  it('holds one stream, finds it by its id only, and forgets it', () => {
    const t = new StreamTable<string>();
    expect(t.size).toBe(0);
    t.set(1, 'one');
    expect(t.size).toBe(1);
    expect(t.get(1)).toBe('one');
    expect(t.get(3)).toBeUndefined();
    expect(t.delete(3)).toBe(false);
    expect(t.values()).toEqual(['one']);
    expect(t.delete(1)).toBe(true);
    expect(t.delete(1)).toBe(false);
    expect(t.size).toBe(0);
    expect(t.get(1)).toBeUndefined();
    expect(t.values()).toEqual([]);
  });

  it('given one stream, when a second opens, then both are found and leave independently', () => {
    const t = new StreamTable<string>();
    t.set(1, 'one');
    t.set(3, 'three');
    t.set(5, 'five');
    expect(t.size).toBe(3);
    expect(t.values()).toEqual(['one', 'three', 'five']);
    expect(t.delete(3)).toBe(true);
    expect(t.get(1)).toBe('one');
    expect(t.get(3)).toBeUndefined();
    expect(t.get(5)).toBe('five');
    expect(t.size).toBe(2);
  });

  it('replaces the stream under an id it already holds, and empties on clear', () => {
    const t = new StreamTable<string>();
    t.set(7, 'a');
    t.set(7, 'b');
    expect(t.size).toBe(1);
    expect(t.get(7)).toBe('b');
    t.set(9, 'c');
    const kept = t.values();
    t.clear();
    expect(t.size).toBe(0);
    expect(t.get(9)).toBeUndefined();
    expect(kept).toEqual(['b', 'c']);
  });
});
