// The server's dial admission flags (ours, not the reference's): how many dials may be pending at agents
// at once, and how many may wait for that (src/actors/server/dialAdmission.ts, docs/bursts.md).

import type { FlagSpec } from './flagSpec';

/**
 * 4,096 dials pending at once: more than a burst of our benchmarks and tests keeps in flight (5,000
 * concurrent dials complete as before, the excess waiting milliseconds for a slot), and few enough that a
 * burst of tens of thousands does not open as many sockets on one agent at the same instant.
 */
export const DEFAULT_MAX_DIALS_IN_FLIGHT = 4096;

/**
 * 65,536 dials waiting: a waiting dial costs one small record (its frontend's socket or stream exists
 * anyway), so this bounds memory at a few MiB while absorbing tens of thousands of requests at once
 * (kube-apiserver after a restart, a fleet-wide `kubectl logs`) without refusing any.
 */
export const DEFAULT_MAX_DIALS_WAITING = 65_536;

const atLeast =
  (min: number) =>
  (value: number): string | undefined =>
    value < min ? `must be at least ${min}` : undefined;

export const admissionFlagSpecs: readonly FlagSpec[] = [
  {
    name: 'max-dials-in-flight',
    kind: 'int',
    default: DEFAULT_MAX_DIALS_IN_FLIGHT,
    help:
      'konnectivity-ts only: the most dials pending at agents at once, over the whole server (DIAL_REQ sent, ' +
      'DIAL_RSP not yet received). Further dials wait their turn, in arrival order (docs/bursts.md).',
    check: atLeast(1),
  },
  {
    name: 'max-dials-waiting',
    kind: 'int',
    default: DEFAULT_MAX_DIALS_WAITING,
    help:
      'konnectivity-ts only: the most dials waiting for one of --max-dials-in-flight. Beyond it a dial is ' +
      'refused at once (HTTP 503 with Retry-After, or a DIAL_RSP error "too many dials waiting"). The wait ' +
      'counts against --backend-dial-timeout.',
    check: atLeast(0),
  },
];
