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
