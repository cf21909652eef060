// Flags both binaries take with the same meaning: the reference's profiling pair (accepted, not served)
// and two extensions of ours.

import type { FlagSpec } from './flagSpec';
import type { ParsedFlags } from './flags';
import { invalidOptions } from './validation';

const NO_PPROF = 'pprof is specific to the Go runtime; use node --inspect or --cpu-prof instead';

/** `--enable-profiling`, `--enable-contention-profiling`: the reference's, accepted for compatibility. */
export const profilingFlagSpecs: readonly FlagSpec[] = [
  {
    name: 'enable-profiling',
    kind: 'bool',
    default: false,
    help: 'enable pprof at host:admin-port/debug/pprof',
    compatOnly: NO_PPROF,
  },
  {
    name: 'enable-contention-profiling',
    kind: 'bool',
    default: false,
    help: 'enable contention profiling at host:admin-port/debug/pprof/block. "--enable-profiling" must also be set.',
    compatOnly: NO_PPROF,
  },
];

/** The reference's check of the profiling pair, in both binaries' Validate(). */
export function requireProfilingForContention(f: ParsedFlags): void {
  if (f.bool('enable-contention-profiling') && !f.bool('enable-profiling')) {
    invalidOptions('if --enable-contention-profiling is set, --enable-profiling must also be set');
  }
}

/** `--flow-control` and `--inspector`: ours. */
export const extensionFlagSpecs: readonly FlagSpec[] = [
  {
    name: 'flow-control',
    kind: 'bool',
    default: true,
    help:
      'Offer the konnectivity-ts per-connection credit extension (docs/flow-control.md) to peers that offer it ' +
      'too. Reference peers never do and are unaffected; set false to behave exactly like the reference on the wire.',
  },
  {
    name: 'inspector',
    kind: 'bool',
    default: true,
    help:
      'Serve the live inspector (docs/inspector.md) at /inspector/ on the admin port: state charts, actors and ' +
      'lifecycle events of this process, read-only. Set false to serve nothing there.',
  },
];
