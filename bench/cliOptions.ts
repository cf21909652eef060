/**
 * Command-line options of the measurement tools run through npm (`npm run bench:dial-cost -- --dials=100`):
 * `--name=value` and `--flag`, declared once with their kind and default, so that a typo or a bad number is
 * an error that names the option instead of a run that quietly measures something else.
 */
import * as path from 'path';

export type OptionSpec =
  | { kind: 'number'; default: number; /** A count: a whole number >= min. */ min?: number }
  | { kind: 'string'; default: string; /** The accepted values, when there are few. */ oneOf?: string[] }
  | { kind: 'flag' };

type ValueOf<S extends OptionSpec> = S extends { kind: 'number' }
  ? number
  : S extends { kind: 'string' }
    ? string
    : boolean;

export type Options<T extends Record<string, OptionSpec>> = { [K in keyof T]: ValueOf<T[K]> };

/** A command line the tool cannot run with. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly reason = 'usage';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

function parseValue(name: string, spec: OptionSpec, text: string | undefined): number | string | boolean {
  switch (spec.kind) {
    case 'flag':
      if (text !== undefined) throw new UsageError(`--${name} takes no value`);
      return true;
    case 'number': {
      const n = Number(text);
      if (text === undefined || text.trim() === '' || !Number.isFinite(n)) {
        throw new UsageError(`--${name} needs a number, got ${JSON.stringify(text ?? '')}`);
      }
      if (spec.min !== undefined && (!Number.isInteger(n) || n < spec.min)) {
        throw new UsageError(`--${name} needs a whole number >= ${spec.min}, got ${text}`);
      }
      return n;
    }
    case 'string':
      if (text === undefined || text === '') throw new UsageError(`--${name} needs a value`);
      if (spec.oneOf && !spec.oneOf.includes(text)) {
        throw new UsageError(`--${name} is one of ${spec.oneOf.join(', ')}, got ${JSON.stringify(text)}`);
      }
      return text;
    default: {
      const _exhaustive: never = spec;
      return _exhaustive;
    }
  }
}

/**
 * Parses `argv` against `spec`; at most `positional` arguments that do not start with `--` are allowed.
 * Throws a UsageError for an unknown option, a missing or malformed value, or a stray argument.
 */
export function parseOptions<T extends Record<string, OptionSpec>>(
  argv: readonly string[],
  spec: T,
  { positional = 0 }: { positional?: number } = {},
): { options: Options<T>; positional: string[] } {
  const values: Record<string, number | string | boolean> = {};
  for (const [name, s] of Object.entries(spec)) values[name] = s.kind === 'flag' ? false : s.default;
  const rest: string[] = [];
  for (const arg of argv) {
    if (!arg.startsWith('--')) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const s = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!s) throw new UsageError(`unknown option ${arg}; known: ${Object.keys(spec).join(', ')}`);
    values[name] = parseValue(name, s, eq < 0 ? undefined : arg.slice(eq + 1));
  }
  if (rest.length > positional)
    throw new UsageError(`unexpected argument ${JSON.stringify(rest[positional])}`);
  return { options: values as Options<T>, positional: rest };
}

/**
 * A path given on the command line, resolved against the directory the user ran npm in (INIT_CWD):
 * `npm run` itself runs the script from the package root.
 */
export const cliPath = (p: string): string => path.resolve(process.env['INIT_CWD'] ?? process.cwd(), p);
