/**
 * Turns an event factory into a recorder: every event it makes is also handed to `sink` (the event log).
 * Actors call `events.dialRequested({...})` once, at the moment the fact happens.
 */
import type { LifecycleEvent } from './lifecycleEvent';

export function recording<F extends object>(factory: F, sink: (event: LifecycleEvent) => void): F {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(factory)) {
    out[key] =
      typeof value === 'function'
        ? (input: unknown): LifecycleEvent => {
            const event = (value as (i: unknown) => LifecycleEvent)(input);
            sink(event);
            return event;
          }
        : value;
  }
  return out as F;
}

/**
 * A factory whose calls make nothing, for a process without an event log: building events (ids, times,
 * int64 strings) on every dial would be work for nobody. Callers ignore the return value.
 */
export function discarding<F extends object>(factory: F): F {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(factory))
    out[key] = typeof value === 'function' ? () => undefined : value;
  return out as F;
}
