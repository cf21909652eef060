import { type CliIo, EXIT_USAGE, parseOrExit } from '../../src/config/cli';
import { FlagError } from '../../src/config/flagError';
import { parseAgentFlags } from '../../src/config/agentOptions';

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function fakeIo(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (t: string) => {
      io.out += t;
    },
    stderr: (t: string) => {
      io.err += t;
    },
    exit: (code: number): never => {
      throw new Exited(code);
    },
  };
  return io;
}

function exitCode(run: () => unknown): number {
  try {
    run();
  } catch (e) {
    if (e instanceof Exited) return e.code;
    throw e;
  }
  throw new Error('expected the process to exit');
}

describe('parseOrExit', () => {
  test('on a FlagError it prints "<binary>: <reason>" on stderr and exits with status 2', () => {
    const io = fakeIo();
    const code = exitCode(() => parseOrExit(parseAgentFlags, ['--bogus'], {}, 'konnectivity-agent', io));
    expect(code).toBe(EXIT_USAGE);
    expect(code).toBe(2);
    expect(io.err).toBe('konnectivity-agent: unknown flag: --bogus\n');
    expect(io.out).toBe('');
  });

  test('a validation failure is reported the same way', () => {
    const io = fakeIo();
    const code = exitCode(() =>
      parseOrExit(parseAgentFlags, ['--proxy-server-port=0'], {}, 'konnectivity-agent', io),
    );
    expect(code).toBe(2);
    expect(io.err).toBe('konnectivity-agent: proxy server port 0 must be greater than 0\n');
  });

  test('a rejected --event-log is quoted without its NATS password or token', () => {
    for (const bad of ['nats://konnectivity:hunter2@nats/x', 'nats://t0k3n@nats:4222/path']) {
      const io = fakeIo();
      const code = exitCode(() =>
        parseOrExit(parseAgentFlags, [`--event-log=${bad}`], {}, 'konnectivity-agent', io),
      );
      expect(code).toBe(2);
      expect(io.err).toContain('for "--event-log" flag');
      expect(io.err).not.toMatch(/hunter2|t0k3n/);
      expect(io.err).toMatch(/nats:\/\/(konnectivity:)?\*\*\*@nats/);
    }
  });

  test('--help shows no credentials even when --event-log carries them', () => {
    const io = fakeIo();
    const code = exitCode(() =>
      parseOrExit(
        parseAgentFlags,
        ['--event-log=nats://konnectivity:hunter2@nats:4222', '--help'],
        {},
        'konnectivity-agent',
        io,
      ),
    );
    expect(code).toBe(0);
    expect(io.out).toContain('--event-log-creds');
    expect(io.out).not.toContain('hunter2');
  });

  test('on --help it prints the help on stdout and exits with status 0', () => {
    const io = fakeIo();
    const code = exitCode(() => parseOrExit(parseAgentFlags, ['--help'], {}, 'konnectivity-agent', io));
    expect(code).toBe(0);
    expect(io.out).toContain('--proxy-server-host');
    expect(io.out.endsWith('\n')).toBe(true);
    expect(io.err).toBe('');
  });

  test('on success it returns the options and leaves their warnings to the caller (which logs them)', () => {
    const io = fakeIo();
    const o = parseOrExit(parseAgentFlags, ['--enable-profiling'], {}, 'konnectivity-agent', io);
    expect(o.enableProfiling).toBe(true);
    expect(o.warnings).toHaveLength(1);
    expect(io.out).toBe('');
    expect(io.err).toBe('');
  });

  test('errors that are not FlagErrors are bugs and propagate', () => {
    const io = fakeIo();
    const boom = (): never => {
      throw new TypeError('bug');
    };
    expect(() => parseOrExit(boom, [], {}, 'x', io)).toThrow(TypeError);
  });

  test('a FlagError thrown by any parser is handled', () => {
    const io = fakeIo();
    const parse = (): never => {
      throw new FlagError('invalid-options', 'nope');
    };
    expect(exitCode(() => parseOrExit(parse, [], {}, 'bin', io))).toBe(2);
    expect(io.err).toBe('bin: nope\n');
  });
});
