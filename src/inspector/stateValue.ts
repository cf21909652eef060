/**
 * XState state values (`'ready'`, `{ open: 'flowing' }`) as dotted paths, the form the inspector's charts,
 * table and transition rings share: `open.flowing` counts for `open` too, as the chart draws it inside.
 */
import type { StateValue } from 'xstate';

/** The leaf paths of a state value: `{ open: 'flowing' }` -> `['open.flowing']`. */
export function leafPaths(value: StateValue, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix + value];
  const out: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined) continue;
    out.push(...leafPaths(child, `${prefix}${key}.`));
  }
  // A compound state whose value is an empty object is itself the leaf.
  if (out.length === 0 && prefix !== '') out.push(prefix.slice(0, -1));
  return out;
}

/** Every state a value is in, ancestors included: `{ open: 'flowing' }` -> `['open', 'open.flowing']`. */
export function activePaths(value: StateValue): string[] {
  const out = new Set<string>();
  for (const leaf of leafPaths(value)) {
    const parts = leaf.split('.');
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('.'));
  }
  return [...out];
}

/** How the table shows a state: its leaf paths joined (one for all machines here, none parallel). */
export function stateText(value: StateValue): string {
  return leafPaths(value).join(', ');
}

/**
 * `stateText` without the intermediate arrays for the shape every machine here has (one active child per
 * level): the summary and the table read it for every actor they look at.
 */
export function stateKey(value: StateValue): string {
  if (typeof value === 'string') return value;
  let key = '';
  let node: StateValue | undefined = value;
  while (typeof node === 'object') {
    let only: string | undefined;
    for (const name in node) {
      if (only !== undefined) return stateText(value); // parallel regions: the general walk
      only = name;
    }
    if (only === undefined) return key === '' ? stateText(value) : key.slice(0, -1);
    key += `${only}.`;
    node = node[only];
  }
  return node === undefined ? stateText(value) : key + node;
}

/** Active paths per state key, computed once per state: there are a few dozen states in all. */
const ACTIVE_BY_KEY = new Map<string, readonly string[]>();
/** A bound on that cache, far above the states our machines have, in case a machine grows parallel regions. */
const ACTIVE_BY_KEY_MAX = 1024;

/** `activePaths` of the state a key names (`open.flowing` -> `open`, `open.flowing`), cached. */
export function activePathsOfKey(key: string): readonly string[] {
  let paths = ACTIVE_BY_KEY.get(key);
  if (paths === undefined) {
    const out = new Set<string>();
    for (const leaf of key.split(', ')) {
      const parts = leaf.split('.');
      for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('.'));
    }
    paths = [...out];
    if (ACTIVE_BY_KEY.size < ACTIVE_BY_KEY_MAX) ACTIVE_BY_KEY.set(key, paths);
  }
  return paths;
}
