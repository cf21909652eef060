// The one place where a command-line problem becomes process behaviour, mirroring pflag's
// ExitOnError: the reason on stderr and exit status 2; --help on stdout and exit status 0.

import { redactCredentials } from '../observability/redact';
import { asksForVersion, versionLine } from './version';
import { isFlagError } from './flagError';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly exit: (code: number) => never;
}

export const processIo: CliIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  exit: (code) => process.exit(code),
};

/** pflag's exit status for a bad command line (and for Go's flag.ExitOnError). */
export const EXIT_USAGE = 2;

const withNewline = (s: string): string => (s.endsWith('\n') ? s : `${s}\n`);

export type ParseFn<T> = (argv: readonly string[], env: NodeJS.ProcessEnv) => T | { help: string };

function isHelp<T>(r: T | { help: string }): r is { help: string } {
  return typeof r === 'object' && r !== null && typeof (r as { help?: unknown }).help === 'string';
}

/**
 * Runs a flag parser and returns its options; `--version` prints the version and exits 0. Start-up
 * warnings (`options.warnings`) are left to the caller, which logs them with its logger. Errors other than
 * FlagError are bugs and propagate.
 */
export function parseOrExit<T>(
  parse: ParseFn<T>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  binaryName: string,
  io: CliIo = processIo,
): T {
  if (asksForVersion(argv)) {
    io.stdout(`${versionLine(binaryName)}\n`);
    return io.exit(0);
  }
  let result: T | { help: string };
  try {
    result = parse(argv, env);
  } catch (e) {
    if (!isFlagError(e)) throw e;
    // pflag quotes the offending value, which may be --event-log with a NATS password in it.
    io.stderr(`${binaryName}: ${redactCredentials(e.message)}\n`);
    return io.exit(EXIT_USAGE);
  }
  if (isHelp(result)) {
    io.stdout(withNewline(result.help));
    return io.exit(0);
  }
  return result;
}
