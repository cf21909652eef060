/** `--flow-control`: ours, on both binaries. */
import type { FlagSpec } from './flagSpec';

export const flowControlFlagSpec: FlagSpec = {
  name: 'flow-control',
  kind: 'bool',
  default: true,
  help:
    'Offer the konnectivity-ts per-connection credit extension (docs/flow-control.md) to peers that offer it ' +
    'too. Reference peers never do and are unaffected; set false to behave exactly like the reference on the wire.',
};
