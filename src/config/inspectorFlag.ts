/** `--inspector`: ours, on both binaries. */
import type { FlagSpec } from './flagSpec';

export const inspectorFlagSpec: FlagSpec = {
  name: 'inspector',
  kind: 'bool',
  default: true,
  help:
    'Serve the live inspector (docs/inspector.md) at /inspector/ on the admin port: state charts, actors and ' +
    'lifecycle events of this process, read-only. Set false to serve nothing there.',
};
