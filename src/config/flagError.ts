// One error type for everything that can be wrong with a command line, so that the entry point can
// turn it into pflag's behaviour (one line on stderr, exit status 2) in a single place.

import { ReasonedError } from '../errors';

export const FLAG_ERROR_REASONS = [
  'unknown-flag', // pflag: "unknown flag: --foo"
  'missing-argument', // pflag: "flag needs an argument: --foo"
  'invalid-argument', // pflag: `invalid argument "x" for "--foo" flag: ...`
  'bad-flag-syntax', // pflag: "bad flag syntax: ---foo"
  'unexpected-argument', // a positional argument; neither binary takes any
  'invalid-options', // the reference's Validate() rejected the combination of values
] as const;

export type FlagErrorReason = (typeof FLAG_ERROR_REASONS)[number];

export class FlagError extends ReasonedError<FlagErrorReason> {
  override readonly name = 'FlagError';
}

export const isFlagError = (e: unknown): e is FlagError => e instanceof FlagError;
