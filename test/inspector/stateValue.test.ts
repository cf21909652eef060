/** State keys: the fast walk the summary and the table use gives what the general one does, for every shape. */
import { activePathsOfKey, activePaths, stateKey, stateText } from '../../src/inspector/stateValue';

describe('stateKey', () => {
  it.each([
    ['an atomic state', 'ready'],
    ['one child', { open: 'flowing' }],
    ['nested children', { connected: { serving: 'idle' } }],
    ['parallel regions', { a: 'x', b: { c: 'y' } }],
    ['a compound state with no active child', { open: {} }],
  ])('equals stateText for %s', (_name, value) => {
    expect(stateKey(value as never)).toBe(stateText(value as never));
  });

  it('gives the active paths of the state it names, as activePaths does', () => {
    for (const value of ['ready', { open: 'flowing' }, { a: 'x', b: { c: 'y' } }]) {
      expect([...activePathsOfKey(stateKey(value as never))].sort()).toEqual(
        activePaths(value as never).sort(),
      );
    }
  });
});
