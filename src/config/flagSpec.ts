// Flags as data: each binary's flag set is a list of these, and the parser, the help text and the
// tests are all driven from the same list, so a flag cannot be parsed without being documented.

import type { IntSyntax } from './flagValues';

interface SpecBase {
  /** Canonical name, dashes only (underscores on the command line are normalized to dashes). */
  readonly name: string;
  readonly help: string;
  /** Accepted so existing manifests keep working, but not acted on; the text says why. */
  readonly compatOnly?: string;
  /** Environment variable consulted when the flag is not on the command line. */
  readonly env?: string;
  /** pflag's MarkDeprecated: still accepted, prints "Flag --x has been deprecated, <text>". */
  readonly deprecated?: string;
  /** Type name shown in --help when it differs from the kind's (klog's "Level", "severity"). */
  readonly typeName?: string;
}

/** Extra syntax check; returns the reason shown after `invalid argument "x" for "--f" flag: `. */
export type Check<T> = (value: T) => string | undefined;

export type FlagSpec =
  | (SpecBase & { readonly kind: 'string'; readonly default: string; readonly check?: Check<string> })
  | (SpecBase & {
      readonly kind: 'int';
      readonly default: number;
      readonly syntax?: IntSyntax;
      readonly check?: Check<number>;
    })
  | (SpecBase & { readonly kind: 'float'; readonly default: number })
  | (SpecBase & { readonly kind: 'bool'; readonly default: boolean })
  | (SpecBase & { readonly kind: 'duration'; /** milliseconds */ readonly default: number })
  | (SpecBase & {
      readonly kind: 'stringList';
      readonly default: readonly string[];
      /** Applied to each element. */
      readonly check?: Check<string>;
    })
  | (SpecBase & { readonly kind: 'port'; readonly default: number });

export type FlagKind = FlagSpec['kind'];
export type FlagValue = string | number | boolean | readonly string[];

/** k8s components normalize `log_file` to `log-file`; both spellings name the same flag. */
export const normalizeFlagName = (name: string): string => name.replace(/_/g, '-');

/** How pflag names a flag in messages: `--name`, or `-v, --v` for one-letter Go flags. */
export const flagDisplayName = (name: string): string =>
  name.length === 1 ? `-${name}, --${name}` : `--${name}`;
