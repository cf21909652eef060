// A pflag-compatible command-line parser driven by FlagSpec data. It accepts what the Go binaries
// accept (pflag's `--name=value` / `--name value` / bare bools, Go flag's single dash, klog's `-v 4`)
// and fails with pflag's one-line messages, so scripts that grep those keep working.

import { FlagError } from './flagError';
import { type FlagSpec, type FlagValue, flagDisplayName, normalizeFlagName } from './flagSpec';
import { GoDurationError, parseGoDuration } from './goDuration';
import {
  InvalidValue,
  PFLAG_INT,
  goQuote,
  parseGoBool,
  parseGoFloat32,
  parseGoInt,
  parseGoStringList,
  parsePort,
} from './flagValues';

export { FlagError, isFlagError, type FlagErrorReason } from './flagError';
export type { FlagSpec, FlagValue, FlagKind } from './flagSpec';
export { normalizeFlagName } from './flagSpec';

export interface HelpRequested {
  readonly help: true;
}

const HELP_NAMES = new Set(['help', 'h']);

/** Parses one raw value for a spec; throws InvalidValue / GoDurationError with the reason. */
function convert(spec: FlagSpec, raw: string): FlagValue {
  switch (spec.kind) {
    case 'string': {
      const why = spec.check?.(raw);
      if (why !== undefined) throw new InvalidValue(why);
      return raw;
    }
    case 'int': {
      const n = parseGoInt(raw, spec.syntax ?? PFLAG_INT);
      const why = spec.check?.(n);
      if (why !== undefined) throw new InvalidValue(why);
      return n;
    }
    case 'float':
      return parseGoFloat32(raw);
    case 'bool':
      return parseGoBool(raw);
    case 'duration':
      return parseGoDuration(raw);
    case 'port':
      return parsePort(raw);
    case 'stringList': {
      const items = parseGoStringList(raw);
      for (const item of items) {
        const why = spec.check?.(item);
        if (why !== undefined) throw new InvalidValue(why);
      }
      return items;
    }
    default: {
      const _exhaustive: never = spec;
      return _exhaustive;
    }
  }
}

function convertOrThrow(spec: FlagSpec, raw: string, source: string): FlagValue {
  try {
    return convert(spec, raw);
  } catch (e) {
    if (e instanceof InvalidValue || e instanceof GoDurationError) {
      throw new FlagError(
        'invalid-argument',
        `invalid argument ${goQuote(raw)} for ${source}: ${e.message}`,
        {
          cause: e,
        },
      );
    }
    throw e;
  }
}

const sameValue = (a: FlagValue | undefined, b: FlagValue): boolean =>
  Array.isArray(a) && Array.isArray(b) ? a.join('\u0000') === b.join('\u0000') : a === b;

/** The outcome of a parse: every flag's value (defaults included) and which ones were given. */
export class ParsedFlags {
  constructor(
    private readonly specs: ReadonlyMap<string, FlagSpec>,
    private readonly values: ReadonlyMap<string, FlagValue>,
    /** Names (canonical) given on the command line or through their environment variable. */
    readonly changed: ReadonlySet<string>,
    /** Deprecation notices and compatibility-only flags set to a non-default value. */
    readonly warnings: readonly string[],
  ) {}

  private get(name: string, kinds: readonly FlagSpec['kind'][]): FlagValue {
    const spec = this.specs.get(name);
    const value = this.values.get(name);
    if (spec === undefined || value === undefined || !kinds.includes(spec.kind)) {
      // A programming error in a flag set, not a user error.
      throw new Error(`flag --${name} is not defined as ${kinds.join('|')}`);
    }
    return value;
  }

  string(name: string): string {
    return this.get(name, ['string']) as string;
  }
  int(name: string): number {
    return this.get(name, ['int', 'port']) as number;
  }
  float(name: string): number {
    return this.get(name, ['float']) as number;
  }
  bool(name: string): boolean {
    return this.get(name, ['bool']) as boolean;
  }
  /** Milliseconds. */
  duration(name: string): number {
    return this.get(name, ['duration']) as number;
  }
  list(name: string): string[] {
    return [...(this.get(name, ['stringList']) as readonly string[])];
  }
}

/** Splits `-name=value` / `--name=value` into its parts; undefined value when there is no `=`. */
function splitArg(arg: string): { dashes: 1 | 2; name: string; value: string | undefined } {
  const dashes = arg.startsWith('--') ? 2 : 1;
  const body = arg.slice(dashes);
  if (body === '' || body.startsWith('-') || body.startsWith('=')) {
    throw new FlagError('bad-flag-syntax', `bad flag syntax: ${arg}`);
  }
  const eq = body.indexOf('=');
  return eq === -1
    ? { dashes, name: body, value: undefined }
    : { dashes, name: body.slice(0, eq), value: body.slice(eq + 1) };
}

export function parseFlags(
  specList: readonly FlagSpec[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): ParsedFlags | HelpRequested {
  const specs = new Map(specList.map((s) => [s.name, s] as const));
  const values = new Map<string, FlagValue>(specList.map((s) => [s.name, s.default] as const));
  const changed = new Set<string>();

  const assign = (spec: FlagSpec, raw: string, source: string): void => {
    const value = convertOrThrow(spec, raw, source);
    const previous = values.get(spec.name);
    // pflag's StringSlice replaces its default on first use and appends on repeats.
    const merged =
      spec.kind === 'stringList' && changed.has(spec.name) && Array.isArray(previous) && Array.isArray(value)
        ? [...(previous as readonly string[]), ...(value as readonly string[])]
        : value;
    values.set(spec.name, merged);
    changed.add(spec.name);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      const rest = argv[i + 1];
      if (rest !== undefined) {
        throw new FlagError('unexpected-argument', `unexpected positional argument ${goQuote(rest)}`);
      }
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      throw new FlagError('unexpected-argument', `unexpected positional argument ${goQuote(arg)}`);
    }
    const { dashes, name: given, value: inline } = splitArg(arg);
    const name = normalizeFlagName(given);
    let spec = specs.get(name);
    let value = inline;
    // klog's -v4: a one-letter Go flag with its value glued on.
    const glued = specs.get(name.charAt(0));
    if (spec === undefined && dashes === 1 && inline === undefined && glued?.name.length === 1) {
      spec = glued;
      value = name.slice(1);
    }
    if (spec === undefined) {
      if (HELP_NAMES.has(name)) return { help: true };
      if (dashes === 1 && given.length === 1) {
        throw new FlagError('unknown-flag', `unknown shorthand flag: '${given}' in ${arg}`);
      }
      throw new FlagError('unknown-flag', `unknown flag: ${'-'.repeat(dashes)}${given}`);
    }
    if (value === undefined) {
      if (spec.kind === 'bool') {
        value = 'true'; // like pflag, a bare bool never consumes the next argument
      } else if (i + 1 < argv.length) {
        value = argv[++i] ?? '';
      } else {
        const which = dashes === 1 && given.length === 1 ? `'${given}' in ${arg}` : `--${given}`;
        throw new FlagError('missing-argument', `flag needs an argument: ${which}`);
      }
    }
    assign(spec, value, `"${flagDisplayName(spec.name)}" flag`);
  }

  for (const spec of specList) {
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    if (!changed.has(spec.name) && fromEnv !== undefined && fromEnv !== '') {
      assign(spec, fromEnv, `environment variable ${spec.env ?? ''} (flag --${spec.name})`);
    }
  }

  const warnings: string[] = [];
  for (const spec of specList) {
    if (!changed.has(spec.name)) continue;
    if (spec.deprecated !== undefined) {
      warnings.push(`Flag --${spec.name} has been deprecated, ${spec.deprecated}`);
    } else if (spec.compatOnly !== undefined && !sameValue(values.get(spec.name), spec.default)) {
      warnings.push(
        `Flag --${spec.name} is accepted for compatibility only and has no effect: ${spec.compatOnly}`,
      );
    }
  }
  return new ParsedFlags(specs, values, changed, warnings);
}

export const isHelpRequested = (r: unknown): r is HelpRequested =>
  typeof r === 'object' && r !== null && (r as { help?: unknown }).help === true;
